/**
 * Reads the OSC 133 shell-integration marks (docs/protocol.md, "Shell integration") out of a
 * terminal's output stream: `ESC ] 133 ; A` prompt, `C` command started, `D ; <code>` command
 * ended. Terminated by BEL or ST (`ESC \`). Output arrives in arbitrary chunks, so a mark may
 * be split across two; the reader keeps the unfinished tail.
 *
 * Read by the browser's snippet runner and by Node clients (tests, doc-tests, benchmarks)
 * alike. Shared code: no DOM, no Node.
 */

export type ShellMark =
  | { kind: 'prompt' }
  | { kind: 'command-start' }
  | { kind: 'command-end'; exitCode: number | undefined };

const ESC = '\x1b';
const BEL = '\x07';
const OPEN = `${ESC}]133;`;
/** An unterminated sequence longer than this is not a mark; drop it rather than buffer forever. */
const MAX_PENDING = 256;

export class ShellMarkReader {
  #pending = '';

  /** Feeds a chunk of output; returns the marks completed in it, in order. */
  read(chunk: string): ShellMark[] {
    const text = this.#pending + chunk;
    this.#pending = '';
    const marks: ShellMark[] = [];
    let from = 0;
    for (;;) {
      const start = text.indexOf(OPEN, from);
      if (start < 0) {
        this.#keepPossiblePrefix(text, from);
        return marks;
      }
      const bodyStart = start + OPEN.length;
      const end = findTerminator(text, bodyStart);
      if (!end) {
        const rest = text.slice(start);
        if (rest.length <= MAX_PENDING) this.#pending = rest;
        return marks;
      }
      const mark = parseMark(text.slice(bodyStart, end.index));
      if (mark) marks.push(mark);
      from = end.index + end.length;
    }
  }

  /** Keeps a trailing fragment that could be the start of `ESC ] 133 ;`. */
  #keepPossiblePrefix(text: string, from: number): void {
    const escAt = text.lastIndexOf(ESC);
    if (escAt >= from && OPEN.startsWith(text.slice(escAt))) this.#pending = text.slice(escAt);
  }
}

function findTerminator(text: string, from: number): { index: number; length: number } | null {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === BEL) return { index: i, length: 1 };
    if (c === ESC) {
      if (i + 1 >= text.length) return null;
      if (text[i + 1] === '\\') return { index: i, length: 2 };
    }
  }
  return null;
}

/** `A`, `C`, `D`, `D;0`, possibly with extra `;key=value` parameters that we ignore. */
export function parseMark(body: string): ShellMark | null {
  const [kind, ...params] = body.split(';');
  switch (kind) {
    case 'A':
      return { kind: 'prompt' };
    case 'C':
      return { kind: 'command-start' };
    case 'D': {
      const first = params[0];
      const code = first !== undefined && /^-?\d+$/.test(first) ? Number(first) : undefined;
      return { kind: 'command-end', exitCode: code };
    }
    default:
      return null;
  }
}
