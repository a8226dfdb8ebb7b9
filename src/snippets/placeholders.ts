import { quoteFor } from './shell-quote.ts';
import { scanShell } from './shell-syntax.ts';
import { validateVariable } from './validate-variable.ts';
import type { VariableSpec } from './variables.ts';

/**
 * Placeholders are `<name>` in a command, where `name` is a variable the chapter declares in its
 * frontmatter. The reader fills them in the Variables panel; the command is sent with the values.
 */

/** `<name>`, not preceded by `<` so that heredocs (`<<EOF>`) are never read as one. */
const PLACEHOLDER = /(?<!<)<([A-Za-z][A-Za-z0-9_]*)>/g;
/**
 * What an author probably meant as a placeholder: also with dashes (`<pod-name>`). Not preceded
 * by a word character either, so generics in heredoc bodies (`List<String>`) pass.
 * Redirections (`< file`, `> out`, `<(cmd)`) never match: they have no `>` right after a name.
 */
const PLACEHOLDER_LIKE = /(?<![<\w])<([A-Za-z][\w-]*)>/g;

export interface PlaceholderMatch {
  name: string;
  /** Offset of the `<`. */
  start: number;
  /** Offset just past the `>`. */
  end: number;
}

/** Every declared placeholder in `text`, in order (a name may repeat). */
export function placeholderMatches(
  text: string,
  declared: ReadonlySet<string>,
): PlaceholderMatch[] {
  const matches: PlaceholderMatch[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (declared.has(name)) {
      matches.push({ name, start: match.index, end: match.index + match[0].length });
    }
  }
  return matches;
}

/** The declared variables `text` uses, each once, in order of first use. */
export function findPlaceholders(text: string, declared: ReadonlySet<string>): string[] {
  return [...new Set(placeholderMatches(text, declared).map((m) => m.name))];
}

/** Tokens such as `<pod-name>` or `<podname>` that look like placeholders but are not declared. */
export function undeclaredPlaceholderLike(text: string, declared: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER_LIKE)) {
    if (!declared.has(match[1]!)) found.add(match[0]);
  }
  return [...found];
}

export interface VariableError {
  name: string;
  message: string;
}

export type FillResult = { ok: true; text: string } | { ok: false; errors: VariableError[] };

/**
 * `command` with each placeholder replaced by the reader's value, quoted for where it sits (see
 * `quoteFor`). A value missing from `values` falls back to the variable's default. Every value
 * used is validated first, so one bad value reports all the problems at once.
 */
export function fillPlaceholders(
  command: string,
  values: Readonly<Record<string, string>>,
  specs: Readonly<Record<string, VariableSpec>>,
): FillResult {
  const matches = placeholderMatches(command, new Set(Object.keys(specs)));
  const errors: VariableError[] = [];
  for (const name of new Set(matches.map((m) => m.name))) {
    const spec = specs[name]!;
    const message = validateVariable(name, values[name] ?? spec.default, spec);
    if (message !== null) errors.push({ name, message });
  }
  if (errors.length > 0) return { ok: false, errors };

  const { contexts } = scanShell(command);
  let text = '';
  let from = 0;
  for (const { name, start, end } of matches) {
    const value = values[name] ?? specs[name]!.default;
    text += command.slice(from, start) + quoteFor(contexts[start] ?? 'unquoted', value);
    from = end;
  }
  return { ok: true, text: text + command.slice(from) };
}
