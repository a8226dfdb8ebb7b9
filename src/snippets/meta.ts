/**
 * The options an author writes after a shell fence's language, e.g.
 *
 *     ```console exit=1 timeout=30s needs=docker reason="builds an image"
 *
 * One syntax for the site and the doc-tests: space-separated words and key=value pairs; a
 * value may be double- (or single-) quoted to hold spaces, with `\"` for a quote inside.
 */

import { parseAppTarget } from '../../sandbox-server/src/shared/app-target.ts';
import { TERMINALS } from '../../sandbox-server/src/shared/protocol.ts';

export type Requirement = 'docker' | 'kind';

export interface SnippetMeta {
  /** Display only: never run, not even by the doc-tests. */
  norun: boolean;
  /** The exit code the snippet is expected to end with (default 0). */
  exit: number;
  /** What the sandbox must provide for the snippet to work. */
  needs: Requirement[];
  /** Why it needs them, shown to readers whose sandbox lacks them. */
  reason?: string;
  timeoutMs?: number;
  /** For commands that never end: wait for this text, send Ctrl-C, count it as success. */
  until?: string;
  /** Text the block's output must show; the doc-tests check it (the page ignores it). */
  expect?: string;
  id?: string;
  title?: string;
  /** Inside a `<Task>`: the block that checks it, or its solution (tasks.ts). */
  role?: TaskBlockRole;
  /** Part of the chapter's clean-up: "Start this chapter clean" runs these blocks. */
  cleanup?: boolean;
  /** What the block deploys, to open in the browser: `svc/<name>:80`, `pod/<pod_name>:80`. */
  open?: string;
  /** Which of the dock's terminals runs it (1 to TERMINALS; default 1), each a session. */
  term: number;
  /**
   * With `until=`: once the text appears the block has succeeded and its command keeps
   * running (a port-forward, a watch); the next Run in that terminal stops it with Ctrl-C.
   */
  keep?: boolean;
}

export type TaskBlockRole = 'check' | 'solution';
const ROLES: readonly TaskBlockRole[] = ['check', 'solution'];

export type FenceMetaResult = { ok: true; meta: SnippetMeta } | { ok: false; error: string };

export interface MetaToken {
  key: string;
  /** undefined for a bare word such as `norun`. */
  value: string | undefined;
  /** Where the token sits in the meta string, to cut it out without touching the rest. */
  start: number;
  end: number;
}

const REQUIREMENTS: readonly Requirement[] = ['docker', 'kind'];

/** Each option as the author would write it, for messages. */
const USAGE: Record<string, string> = {
  norun: 'norun',
  exit: 'exit=N',
  needs: 'needs=docker',
  reason: 'reason="…"',
  timeout: 'timeout=30s',
  until: 'until="…"',
  expect: 'expect="…"',
  id: 'id=some-id',
  title: 'title="…"',
  check: 'check',
  solution: 'solution',
  cleanup: 'cleanup',
  open: 'open="svc/<name>:80"',
  term: 'term=2',
  keep: 'keep',
};

/** Options Expressive Code understands; on a runnable snippet they would silently do nothing. */
const EXPRESSIVE_CODE_OPTIONS = new Set([
  'frame',
  'ins',
  'del',
  'mark',
  'collapse',
  'wrap',
  'showLineNumbers',
  'startLineNumber',
  'preserveIndent',
  'hangingIndent',
]);

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Splits fence meta into tokens; fails only on an unclosed quote. */
export function tokenizeMeta(
  meta: string,
): { ok: true; tokens: MetaToken[] } | { ok: false; error: string } {
  const tokens: MetaToken[] = [];
  let i = 0;
  while (i < meta.length) {
    if (/\s/.test(meta[i]!)) {
      i++;
      continue;
    }
    const start = i;
    while (i < meta.length && !/[\s=]/.test(meta[i]!)) i++;
    const key = meta.slice(start, i);
    if (meta[i] !== '=') {
      tokens.push({ key, value: undefined, start, end: i });
      continue;
    }
    i++;
    const quote = meta[i];
    if (quote === '"' || quote === "'") {
      let value = '';
      i++;
      while (i < meta.length && meta[i] !== quote) {
        if (meta[i] === '\\' && (meta[i + 1] === quote || meta[i + 1] === '\\')) i++;
        value += meta[i];
        i++;
      }
      if (i >= meta.length) {
        return {
          ok: false,
          error: `the value of ${key}= opens a ${quote} quote that is never closed`,
        };
      }
      i++;
      tokens.push({ key, value, start, end: i });
    } else {
      const valueStart = i;
      while (i < meta.length && !/\s/.test(meta[i]!)) i++;
      tokens.push({ key, value: meta.slice(valueStart, i), start, end: i });
    }
  }
  return { ok: true, tokens };
}

export function parseFenceMeta(meta: string | null | undefined): FenceMetaResult {
  const tokenized = tokenizeMeta(meta ?? '');
  if (!tokenized.ok) return tokenized;
  const result: SnippetMeta = { norun: false, exit: 0, needs: [], term: 1 };
  const seen = new Set<string>();

  for (const { key, value } of tokenized.tokens) {
    if (key === '') return fail(`"=${value ?? ''}" has no option name before the =`);
    if (seen.has(key)) return fail(`${key} is given twice: keep one`);
    seen.add(key);
    const error = applyOption(result, key, value);
    if (error !== null) return fail(error);
  }

  if (result.needs.length > 0 && result.reason === undefined) {
    return fail(`needs=${result.needs.join(',')} needs a reason="…" saying why`);
  }
  if (result.keep && result.until === undefined) {
    return fail(
      'keep leaves a command running once its until="…" text appears: add until="…", or remove keep',
    );
  }
  if (result.reason !== undefined && result.needs.length === 0) {
    return fail('reason="…" explains a needs=…: add needs=docker or needs=kind, or remove reason');
  }
  return { ok: true, meta: result };
}

/** The meta string without the `norun` word, for handing a display-only block to Expressive Code. */
export function withoutNorun(meta: string | null | undefined): {
  norun: boolean;
  rest: string | null;
} {
  const tokenized = tokenizeMeta(meta ?? '');
  const token = tokenized.ok
    ? tokenized.tokens.find((t) => t.key === 'norun' && t.value === undefined)
    : undefined;
  if (token === undefined) return { norun: false, rest: meta ?? null };
  const rest =
    `${meta!.slice(0, token.start).trimEnd()} ${meta!.slice(token.end).trimStart()}`.trim();
  return { norun: true, rest: rest === '' ? null : rest };
}

/** Sets one option on `meta`; returns what is wrong with it, or null. */
function applyOption(meta: SnippetMeta, key: string, value: string | undefined): string | null {
  if (key === 'norun') {
    if (value !== undefined) return `norun takes no value: write just norun`;
    meta.norun = true;
    return null;
  }
  const role = ROLES.find((r) => r === key);
  if (role !== undefined) {
    if (value !== undefined) return `${key} takes no value: write just ${key}`;
    if (meta.role !== undefined) return `a block is either check or solution, not both`;
    meta.role = role;
    return null;
  }
  if (key === 'cleanup' || key === 'keep') {
    if (value !== undefined) return `${key} takes no value: write just ${key}`;
    meta[key] = true;
    return null;
  }
  if (!(key in USAGE)) return unknownOption(key);
  if (value === undefined) return `${key} needs a value, as in ${USAGE[key]}`;

  switch (key) {
    case 'exit': {
      const code = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
      if (!(code >= 0 && code <= 255)) {
        return `exit=${value} is not an exit code: use a whole number from 0 to 255, as in exit=1`;
      }
      meta.exit = code;
      return null;
    }
    case 'needs': {
      const needs: Requirement[] = [];
      for (const name of value.split(',')) {
        const requirement = REQUIREMENTS.find((r) => r === name.trim());
        if (requirement === undefined) {
          return `needs=${value}: "${name}" is not something a sandbox provides; use ${REQUIREMENTS.join(' or ')}, as in needs=docker,kind`;
        }
        if (!needs.includes(requirement)) needs.push(requirement);
      }
      meta.needs = needs;
      return null;
    }
    case 'timeout': {
      const match = DURATION.exec(value);
      const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? 's']! : 0;
      if (!(ms >= 1)) {
        return `timeout=${value} is not a duration: write a number with ms, s or m, as in timeout=30s or timeout=2m`;
      }
      meta.timeoutMs = Math.round(ms);
      return null;
    }
    case 'term': {
      const term = /^\d$/.test(value) ? Number(value) : Number.NaN;
      if (!(term >= 1 && term <= TERMINALS)) {
        return `term=${value} names no terminal: the dock has ${TERMINALS}, so use term=1 (the default) or term=2`;
      }
      meta.term = term;
      return null;
    }
    case 'id':
      if (!ID.test(value)) {
        return `id=${value} is not a usable id: use lowercase letters, digits and single dashes, as in id=${slugify(value) || 'create-pod'}`;
      }
      meta.id = value;
      return null;
    case 'open': {
      const problem = openProblem(value);
      if (problem !== null) return problem;
      meta.open = value;
      return null;
    }
    case 'reason':
    case 'until':
    case 'expect':
    case 'title':
      if (value.trim() === '') return `${key}="" is empty: write the text, as in ${USAGE[key]}`;
      meta[key] = value;
      return null;
    default:
      return unknownOption(key);
  }
}

/**
 * `open=` names a Service or Pod and a port, each maybe a placeholder (checked against the
 * chapter's variables with the commands'); the filled value is checked again in the browser.
 */
function openProblem(value: string): string | null {
  const PLACEHOLDER = /^<[A-Za-z_][A-Za-z0-9_]*>$/;
  const match = /^([^/]*)\/([^:]*):(.*)$/.exec(value);
  const sample = match
    ? `${match[1]}/${PLACEHOLDER.test(match[2] ?? '') ? 'x' : match[2]}:${PLACEHOLDER.test(match[3] ?? '') ? '80' : match[3]}`
    : value;
  const parsed = parseAppTarget(sample);
  return parsed.ok ? null : `open=${value}: ${parsed.error}`;
}

function unknownOption(key: string): string {
  if (EXPRESSIVE_CODE_OPTIONS.has(key) || /^[{/"]/.test(key)) {
    return `fence option "${key}" belongs to Expressive Code and has no effect on a runnable snippet: remove it, or add norun to show the block as plain code`;
  }
  const suggestion = closestOption(key);
  const hint = suggestion
    ? `did you mean "${USAGE[suggestion]}"?`
    : `known options: ${Object.values(USAGE).join(' ')}`;
  return `unknown fence option "${key}" — ${hint}`;
}

function closestOption(key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of Object.keys(USAGE)) {
    if (lower.startsWith(name) || name.startsWith(lower)) return name;
    const distance = editDistance(lower, name);
    if (distance <= 2 && (best === undefined || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = row;
  }
  return previous[b.length]!;
}

function slugify(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function fail(error: string): FenceMetaResult {
  return { ok: false, error };
}
