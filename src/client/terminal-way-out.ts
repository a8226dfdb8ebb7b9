/**
 * The keyboard's way out of the terminal: Escape, then Tab (Shift+Tab goes the other way).
 * Tab alone stays the shell's (completion). The Escape is held back until the next key: if
 * that is Tab, the reader is leaving and the shell never sees the Escape (a lone Escape would
 * turn the next key typed into a Meta key for readline); any other key gets the Escape first,
 * as typed. A held Escape is sent after a moment anyway, for programs that wait for it alone.
 * The dock shows the way out (TerminalDock.astro) and the terminal's input is described by it.
 */
const ESCAPE_HOLD_MS = 1000;

export interface WayOutKey {
  /** xterm's custom key handler: false means xterm leaves the event alone */
  handle(event: KeyboardEvent): boolean;
  dispose(): void;
}

export function wayOutKey(
  send: (text: string) => void,
  /** moves focus out; false: it did not, and the browser's own Tab moves it */
  leave: (backward: boolean) => boolean,
): WayOutKey {
  let held: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (held === undefined) return;
    clearTimeout(held);
    held = undefined;
    send('\x1b');
  };
  const plain = (event: KeyboardEvent) => !event.ctrlKey && !event.altKey && !event.metaKey;
  return {
    handle(event) {
      if (event.key === 'Escape' && plain(event) && !event.shiftKey) {
        if (event.type !== 'keydown') return false;
        flush(); // Escape twice: the first one goes
        held = setTimeout(flush, ESCAPE_HOLD_MS);
        return false;
      }
      if (event.type !== 'keydown' || held === undefined) return true;
      if (event.key === 'Tab' && plain(event)) {
        clearTimeout(held);
        held = undefined;
        if (leave(event.shiftKey)) event.preventDefault();
        return false;
      }
      // Modifier keys alone (Shift before Tab) neither send nor cancel the Escape.
      if (['Shift', 'Control', 'Alt', 'Meta'].includes(event.key)) return true;
      flush();
      return true;
    },
    dispose() {
      clearTimeout(held);
      held = undefined;
    },
  };
}
