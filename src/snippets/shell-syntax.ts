/**
 * Just enough of the shell grammar to answer two questions about a command's text:
 * - is it finished, or is the shell still waiting for more lines (open heredoc, open quote,
 *   trailing backslash)? `parse.ts` uses this to attach unprompted lines to the right command.
 * - which quoting context is each character in? `placeholders.ts` uses this to quote a
 *   variable's value so that the shell reads back exactly what the reader typed.
 *
 * This is a scanner, not a parser: it tracks quotes, `$(…)`, backticks, comments and heredocs,
 * which is what decides where a line ends for bash. Anything subtler (aliases, `case` patterns)
 * does not change where a command ends, so it is ignored.
 */

/** Where a character sits, as far as quoting goes. */
export type QuoteContext =
  | 'unquoted'
  | 'single' // '…'
  | 'ansi' // $'…'
  | 'double' // "…"
  | 'heredoc' // body of <<EOF: $, ` and \ are still special
  | 'heredoc-literal' // body of <<'EOF': nothing is special
  | 'comment';

/** Why the shell would wait for another line after this text. */
export type Unfinished =
  | { kind: 'heredoc'; word: string }
  | { kind: 'quote'; quote: string }
  | { kind: 'backslash' };

export interface ShellScan {
  /** The quoting context of each character of the text, by index. */
  contexts: QuoteContext[];
  unfinished: Unfinished | null;
}

interface Heredoc {
  word: string;
  stripTabs: boolean;
  literal: boolean;
}

/** `<<EOF`, `<< EOF`, `<<-EOF`, `<<'EOF'`, `<<"EOF"`, `<<\EOF` (here-strings `<<<` are excluded by the caller). */
const HEREDOC_OPERATOR = /^<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|\\?([A-Za-z0-9_.:+@%-]+))/;

/** A `#` starts a comment only at the start of a word. */
const WORD_BREAK = /[\s;&|()<>]/;

type Frame =
  | { kind: 'single' | 'ansi' | 'double' | 'backtick' }
  | { kind: 'subshell'; depth: number };

export function scanShell(text: string): ShellScan {
  const contexts: QuoteContext[] = new Array(text.length);
  const stack: Frame[] = [];
  const pendingHeredocs: Heredoc[] = [];
  let i = 0;

  const inCode = (): boolean => {
    const top = stack.at(-1);
    return top === undefined || top.kind === 'subshell' || top.kind === 'backtick';
  };
  const contextHere = (): QuoteContext => {
    // The innermost quote decides; a `$(…)` inside double quotes is code again.
    const top = stack.at(-1);
    if (top === undefined || top.kind === 'subshell' || top.kind === 'backtick') return 'unquoted';
    return top.kind;
  };
  const mark = (from: number, to: number, context: QuoteContext): void => {
    for (let k = from; k < to && k < text.length; k++) contexts[k] = context;
  };

  while (i < text.length) {
    const char = text[i]!;
    const top = stack.at(-1);

    if (char === '\n' && pendingHeredocs.length > 0) {
      contexts[i] = contextHere();
      i = readHeredocBodies(text, i + 1, pendingHeredocs, mark);
      if (pendingHeredocs.length > 0) {
        const word = pendingHeredocs[0]!.word;
        return { contexts, unfinished: { kind: 'heredoc', word } };
      }
      continue;
    }

    if (top?.kind === 'single') {
      contexts[i] = 'single';
      if (char === "'") stack.pop();
      i++;
      continue;
    }
    if (top?.kind === 'ansi') {
      contexts[i] = 'ansi';
      if (char === '\\') {
        mark(i, i + 2, 'ansi');
        i += 2;
        continue;
      }
      if (char === "'") stack.pop();
      i++;
      continue;
    }
    if (top?.kind === 'double') {
      contexts[i] = 'double';
      if (char === '\\') {
        mark(i, i + 2, 'double');
        i += 2;
        continue;
      }
      if (char === '"') stack.pop();
      else if (char === '$' && text[i + 1] === '(') {
        mark(i, i + 2, 'double');
        stack.push({ kind: 'subshell', depth: 0 });
        i += 2;
        continue;
      } else if (char === '`') stack.push({ kind: 'backtick' });
      i++;
      continue;
    }

    // Code: top level, inside $(…) or inside backticks.
    contexts[i] = 'unquoted';
    if (char === '\\') {
      if (i === text.length - 1) return { contexts, unfinished: { kind: 'backslash' } };
      mark(i, i + 2, 'unquoted');
      i += 2;
      continue;
    }
    if (char === '#' && (i === 0 || WORD_BREAK.test(text[i - 1]!))) {
      const end = lineEnd(text, i);
      mark(i, end, 'comment');
      i = end;
      continue;
    }
    if (char === "'") stack.push({ kind: 'single' });
    else if (char === '$' && text[i + 1] === "'") {
      contexts[i + 1] = 'unquoted';
      stack.push({ kind: 'ansi' });
      i += 2;
      continue;
    } else if (char === '"') stack.push({ kind: 'double' });
    else if (char === '`') {
      if (top?.kind === 'backtick') stack.pop();
      else stack.push({ kind: 'backtick' });
    } else if (char === '$' && text[i + 1] === '(') {
      contexts[i + 1] = 'unquoted';
      stack.push({ kind: 'subshell', depth: 0 });
      i += 2;
      continue;
    } else if (char === '(' && top?.kind === 'subshell') top.depth++;
    else if (char === ')' && top?.kind === 'subshell') {
      if (top.depth === 0) stack.pop();
      else top.depth--;
    } else if (
      char === '<' &&
      text.startsWith('<<', i) &&
      text[i + 2] !== '<' &&
      text[i - 1] !== '<'
    ) {
      const match = HEREDOC_OPERATOR.exec(text.slice(i));
      if (match) {
        const [operator, dash, single, double, bare] = match;
        pendingHeredocs.push({
          word: single ?? double ?? bare ?? '',
          stripTabs: dash === '-',
          literal: single !== undefined || double !== undefined || operator.includes('\\'),
        });
        mark(i, i + operator.length, 'unquoted');
        i += operator.length;
        continue;
      }
    }
    i++;
  }

  const top = stack.at(-1);
  if (top !== undefined && !inCode()) {
    const quote = top.kind === 'double' ? '"' : top.kind === 'ansi' ? "$'" : "'";
    return { contexts, unfinished: { kind: 'quote', quote } };
  }
  if (top?.kind === 'backtick') return { contexts, unfinished: { kind: 'quote', quote: '`' } };
  if (top?.kind === 'subshell') return { contexts, unfinished: { kind: 'quote', quote: '$(' } };
  if (pendingHeredocs.length > 0) {
    // `cat <<EOF` as the last line: the body has not started yet.
    return { contexts, unfinished: { kind: 'heredoc', word: pendingHeredocs[0]!.word } };
  }
  return { contexts, unfinished: null };
}

/** Reads heredoc bodies from `start`, closing pending heredocs in order; returns where code resumes. */
function readHeredocBodies(
  text: string,
  start: number,
  pending: Heredoc[],
  mark: (from: number, to: number, context: QuoteContext) => void,
): number {
  let i = start;
  while (pending.length > 0 && i <= text.length) {
    const heredoc = pending[0]!;
    const end = lineEnd(text, i);
    const line = text.slice(i, end);
    const candidate = heredoc.stripTabs ? line.replace(/^\t+/, '') : line;
    mark(i, end + 1, heredoc.literal ? 'heredoc-literal' : 'heredoc');
    if (candidate === heredoc.word) pending.shift();
    if (end >= text.length) {
      // The text ran out: if the terminator was the last line, the command is complete.
      return text.length;
    }
    i = end + 1;
  }
  return i;
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end === -1 ? text.length : end;
}
