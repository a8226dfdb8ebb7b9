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
  | { kind: 'command-end'; exitCode: number | undefined }
  /** `ESC ] 633 ; E ; <line>`: the command line that just ended (the server's rcfile) */
  | { kind: 'command-line'; text: string };

const ESC = '\x1b';
const BEL = '\x07';
const OPEN = `${ESC}]`;
/** The marks read: FinalTerm's 133 and, for the command line, VS Code's 633. */
const KINDS = ['133;', '633;'];
/** An unterminated sequence longer than this is not a mark; drop it rather than buffer forever. */
const MAX_PENDING = 1200;

export class ShellMarkReader {
  #pending = '';

  /** Whether the last chunk ended inside what may be a mark (so the next one must be read). */
  get holding(): boolean {
    return this.#pending !== '';
  }

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
      const head = text.slice(bodyStart, bodyStart + 4);
      if (!KINDS.some((kind) => kind.startsWith(head))) {
        // Another OSC (a title, a link): not ours, and not worth holding.
        from = bodyStart;
        continue;
      }
      const end = findTerminator(text, bodyStart);
      if (!end) {
        const rest = text.slice(start);
        if (rest.length <= MAX_PENDING) this.#pending = rest;
        return marks;
      }
      if (end.length === 0) {
        // Cut short by another escape sequence: no mark, read on from there.
        from = end.index;
        continue;
      }
      const body = text.slice(bodyStart, end.index);
      const mark = body.startsWith('633;')
        ? parseCommandLine(body.slice(4))
        : parseMark(body.slice(4));
      if (mark) marks.push(mark);
      from = end.index + end.length;
    }
  }

  /** Keeps a trailing fragment that could be the start of `ESC ]`. */
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
      // Any other escape ends the string unterminated (ECMA-48).
      return { index: i, length: 0 };
    }
  }
  return null;
}

/**
 * `E;<line>`: the line with `\\` for a backslash and `\xHH` for any byte (VS Code's escaping),
 * decoded as UTF-8. Other 633 marks are not read.
 */
function parseCommandLine(body: string): ShellMark | null {
  if (!body.startsWith('E;')) return null;
  const escaped = body.slice(2);
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped.charCodeAt(i);
    if (escaped[i] === '\\' && escaped[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else if (escaped[i] === '\\' && /^x[0-9a-fA-F]{2}$/.test(escaped.slice(i + 1, i + 4))) {
      bytes.push(Number.parseInt(escaped.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c < 0x80) bytes.push(c);
    // anything else was never written by the rcfile (it escapes every byte past 0x7e): dropped
  }
  return { kind: 'command-line', text: utf8(bytes) };
}

/** Bytes as UTF-8 text, with only the language's own functions (shared code has no TextDecoder). */
function utf8(bytes: readonly number[]): string {
  const percent = bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  try {
    return decodeURIComponent(percent);
  } catch {
    // not UTF-8 (a Latin-1 terminal): one character per byte rather than nothing
    return String.fromCharCode(...bytes);
  }
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
