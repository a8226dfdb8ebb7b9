import { scanShell, type Unfinished } from './shell-syntax.ts';

/**
 * Splits a shell block, written the way people paste terminal sessions, into the commands to
 * run and the lines to show.
 *
 * - A line starting with a prompt (`$ `, `:~$ `, `~$ `, `user@host:~$ `, `user@host:~/dir$ `)
 *   starts a command. A bare prompt is an empty line.
 * - A continuation prompt (`> `, `heredoc> `, `quote> `, `dquote> `, `pipe> `, `cmdand> `, …,
 *   possibly indented) continues the command above it on a new line.
 * - While the command is unfinished for the shell (trailing `\`, open heredoc, open quote or
 *   `$(`), the next line belongs to it even without a continuation prompt.
 * - Every other line is output: shown, never run.
 * - A block without any prompt is a script: every line is a command (same continuation rules),
 *   except blank lines and `#` comment lines, which are only shown.
 */

export type DisplayLineKind = 'command' | 'continuation' | 'output' | 'comment' | 'blank';

export interface DisplayLine {
  /**
   * `comment` is a line that is only a shell comment where a command could start; it is shown
   * highlighted but never sent. `blank` may carry a prompt (a bare `$`).
   */
  kind: DisplayLineKind;
  /** As shown: `$ ` for every command, continuation prompts as written, '' otherwise. */
  prompt: string;
  text: string;
  /** Index into `commands` for command and continuation lines. */
  command?: number;
  /** 1-based line within the block as written, for error messages. */
  line: number;
}

export interface SnippetProblem {
  /** 1-based line within the block. */
  line: number;
  message: string;
}

export interface ParsedSnippet {
  /** Each the exact text to type; multi-line for heredocs and continuations; no trailing newline. */
  commands: string[];
  lines: DisplayLine[];
  /** False for a script block (no prompt anywhere): commands were taken from every line. */
  hasPrompts: boolean;
  /** Things that would leave the reader's shell waiting (unclosed heredoc, quote, `\`). */
  problems: SnippetProblem[];
}

export const COMMAND_PROMPT = '$ ';

/** `$`, `~$`, `:~$`, `user@host:~$`, `user@host:~/dir$`, then a space or the end of the line. */
const PROMPT = /^(?:\$|(?:[^\s$]*:)?~(?:\/[^\s$]*)?\$)(?: |$)/;
/** zsh names its continuation prompts after what it waits for; bash just shows `> `. */
const NAMED_CONTINUATION =
  /^[ \t]*((?:heredoc|quote|dquote|bquote|pipe|cmdand|cmdor|cmdsubst|subsh|cursh)> ?)/;
const BARE_CONTINUATION = /^[ \t]*(> ?)/;
const COMMENT = /^#/;

export function parseSnippet(code: string): ParsedSnippet {
  const all = code.replace(/\r\n?/g, '\n').split('\n').map(trimEnd);
  const first = Math.max(
    0,
    all.findIndex((row) => row !== ''),
  );
  const rows = dedent(trimBlankEdges(all));
  const hasPrompts = rows.some((row) => PROMPT.test(row));
  const commands: string[][] = [];
  const lines: DisplayLine[] = [];
  const problems: SnippetProblem[] = [];
  /** Index of the command the next line may continue, or undefined when none is open. */
  let current: number | undefined;
  let unfinished: Unfinished | null = null;
  let currentStartLine = 0;

  let line = 0;
  const startCommand = (text: string): void => {
    commands.push([text]);
    current = commands.length - 1;
    currentStartLine = line;
    lines.push({ kind: 'command', prompt: COMMAND_PROMPT, text, command: current, line });
    unfinished = scanShell(text).unfinished;
  };
  const continueCommand = (prompt: string, text: string): void => {
    const index = current!;
    commands[index]!.push(text);
    lines.push({ kind: 'continuation', prompt, text, command: index, line });
    unfinished = scanShell(commands[index]!.join('\n')).unfinished;
  };
  const closeCommand = (): void => {
    if (current !== undefined && unfinished !== null) {
      problems.push({ line: currentStartLine, message: describeUnfinished(unfinished) });
    }
    current = undefined;
    unfinished = null;
  };

  rows.forEach((row, index) => {
    line = first + index + 1;
    const continuation = continuationPrompt(row, hasPrompts);

    if (current !== undefined && (unfinished !== null || continuation !== null)) {
      // The shell is still reading this command: the line is part of it, minus its prompt.
      if (continuation === null) continueCommand('', row);
      else {
        const text = row.slice(row.indexOf(continuation) + continuation.length);
        continueCommand(`${continuation.trimEnd()} `, text);
      }
      return;
    }
    closeCommand();

    if (hasPrompts) {
      const prompt = PROMPT.exec(row);
      if (prompt === null) {
        lines.push(row === '' ? blank('', line) : { kind: 'output', prompt: '', text: row, line });
        return;
      }
      const text = row.slice(prompt[0].length).trimStart();
      if (text === '') lines.push(blank(COMMAND_PROMPT, line));
      else if (COMMENT.test(text))
        lines.push({ kind: 'comment', prompt: COMMAND_PROMPT, text, line });
      else startCommand(text);
      return;
    }

    if (row === '') lines.push(blank('', line));
    else if (COMMENT.test(row.trimStart()))
      lines.push({ kind: 'comment', prompt: '', text: row, line });
    else startCommand(row.trimStart());
  });
  closeCommand();

  return { commands: commands.map((parts) => parts.join('\n')), lines, hasPrompts, problems };
}

/** The continuation prompt a line starts with, as shown (without its indentation), or null. */
function continuationPrompt(row: string, hasPrompts: boolean): string | null {
  const named = NAMED_CONTINUATION.exec(row);
  if (named) return named[1]!;
  // In a script block, `> ` at the start of a line is more likely a heredoc body line (Markdown,
  // a quote) than a pasted prompt, so only sessions with prompts treat it as one.
  if (!hasPrompts) return null;
  const bare = BARE_CONTINUATION.exec(row);
  return bare ? bare[1]! : null;
}

function describeUnfinished(unfinished: Unfinished): string {
  switch (unfinished.kind) {
    case 'heredoc':
      return `the heredoc is never closed: add a line \`${unfinished.word}\` after its last line, or the reader's shell will wait for it forever`;
    case 'quote':
      return `\`${unfinished.quote}\` is opened but never closed, so the reader's shell would wait for more input: close it, or add norun if the block is meant to show a broken command`;
    case 'backslash':
      return 'the command ends with `\\` but no line follows: remove the trailing backslash or add the next line';
  }
}

function blank(prompt: string, line: number): DisplayLine {
  return { kind: 'blank', prompt, text: '', line };
}

function trimEnd(line: string): string {
  return line.trimEnd();
}

function trimBlankEdges(rows: string[]): string[] {
  let start = 0;
  let end = rows.length;
  while (start < end && rows[start] === '') start++;
  while (end > start && rows[end - 1] === '') end--;
  return rows.slice(start, end);
}

/** Removes the leading whitespace all non-blank lines share (blocks pasted from indented notes). */
function dedent(rows: string[]): string[] {
  let common: string | undefined;
  for (const row of rows) {
    if (row === '') continue;
    const indent = /^[ \t]*/.exec(row)![0];
    if (common === undefined || !indent.startsWith(common)) {
      common = commonPrefix(common ?? indent, indent);
    }
    if (common === '') return rows;
  }
  const width = common?.length ?? 0;
  return rows.map((row) => row.slice(width));
}

function commonPrefix(a: string, b: string): string {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return a.slice(0, n);
}
