/**
 * The dock's less used buttons (text size, screen reader, new session, reset) behind "More"
 * on a phone, where eight buttons wrapped the bar onto two rows and took the terminal's room.
 * A disclosure, not an ARIA menu: the buttons stay plain buttons in the tab order once shown.
 * On a wide window the toggle is not displayed and the buttons sit in the bar (CSS), so
 * nothing here applies. The buttons' actions are the dock's (terminal-dock.ts); this element
 * only shows and hides them. Tested in tests/e2e/dock-more.spec.ts.
 */

/** Actions pressed several times in a row (A−, A+): the panel stays open for the next press. */
const REPEATED = new Set(['font-up', 'font-down']);

export class DockMoreElement extends HTMLElement {
  connectedCallback(): void {
    if (this.dataset.ready) return;
    this.dataset.ready = 'true';
    this.#toggle()?.addEventListener('click', () => this.#setOpen(!this.hasAttribute('data-open')));
    this.addEventListener('click', (event) => {
      const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
        '.kn-dock-more-panel button[data-action]',
      );
      if (button && !REPEATED.has(button.dataset.action ?? '')) this.#closeToToggle();
    });
    this.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || !this.hasAttribute('data-open')) return;
      event.preventDefault();
      event.stopPropagation();
      this.#closeToToggle();
    });
    // Focus leaving the toggle and its buttons (Tab past the last, a click elsewhere) closes it.
    this.addEventListener('focusout', (event) => {
      const next = event.relatedTarget;
      if (!(next instanceof Node) || !this.contains(next)) this.#setOpen(false);
    });
  }

  #toggle(): HTMLButtonElement | null {
    return this.querySelector<HTMLButtonElement>('.kn-dock-more-toggle');
  }

  /** Whether the buttons are behind the toggle at this width (CSS decides). */
  #collapsed(): boolean {
    const toggle = this.#toggle();
    return toggle !== null && getComputedStyle(toggle).display !== 'none';
  }

  #setOpen(open: boolean): void {
    this.toggleAttribute('data-open', open);
    this.#toggle()?.setAttribute('aria-expanded', String(open));
  }

  #closeToToggle(): void {
    if (!this.hasAttribute('data-open')) return;
    this.#setOpen(false);
    // The button pressed is no longer shown; focus goes where the reader opened it from.
    if (this.#collapsed()) this.#toggle()?.focus();
  }
}
