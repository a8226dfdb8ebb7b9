/**
 * Label selectors as the API server reads them (`kubectl get pods -l 'app=web,track!=canary'`):
 * the same lexer, grammar, validation and matching as k8s.io/apimachinery/pkg/labels, so the
 * page highlights exactly the Pods the API server would list. Requirements are ANDed;
 * `!=` and `notin` also match objects without the key; `in ()` is the set {""}, as there.
 *
 * Shared by the page (the cluster view's selector box) and the server (turning a Deployment's
 * matchLabels/matchExpressions into one string). Shared code: no DOM, no Node.
 */

export type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

export interface Requirement {
  key: string;
  operator: Operator;
  /** sorted, without duplicates; empty for `exists` and `!` */
  values: string[];
}

export type LabelSelector = readonly Requirement[];

export type Parsed = { ok: true; selector: LabelSelector } | { ok: false; error: string };

type Token =
  | { kind: 'id'; text: string }
  | { kind: 'end'; text: '' }
  | {
      kind: '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin';
      text: string;
    };

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const KEYWORDS: Record<string, Token['kind']> = { in: 'in', notin: 'notin' };
const TWO_CHAR = new Set(['==', '!=']);

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] ?? '';
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    if (SYMBOLS.has(ch)) {
      const two = input.slice(i, i + 2);
      const text = TWO_CHAR.has(two) ? two : ch;
      tokens.push({ kind: text as '=', text });
      i += text.length;
      continue;
    }
    let end = i;
    while (end < input.length && !/[\s=!(),><]/.test(input[end] ?? '')) end++;
    const text = input.slice(i, end);
    const keyword = KEYWORDS[text];
    tokens.push(keyword ? ({ kind: keyword, text } as Token) : { kind: 'id', text });
    i = end;
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

class Parser {
  readonly #tokens: Token[];
  #at = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  /** Where a value may stand, the keywords `in` and `notin` are plain identifiers. */
  peek(asValue = true): Token {
    const token = this.#tokens[this.#at] ?? { kind: 'end', text: '' };
    return asValue && (token.kind === 'in' || token.kind === 'notin')
      ? { kind: 'id', text: token.text }
      : token;
  }

  next(asValue = true): Token {
    const token = this.peek(asValue);
    this.#at = Math.min(this.#at + 1, this.#tokens.length - 1);
    return token;
  }
}

class SelectorError extends Error {}

function shown(token: Token): string {
  return token.kind === 'end' ? 'end of string' : token.text;
}

export function parseSelector(input: string): Parsed {
  try {
    return { ok: true, selector: parse(new Parser(lex(input))) };
  } catch (error) {
    if (error instanceof SelectorError) return { ok: false, error: error.message };
    throw error;
  }
}

function parse(p: Parser): Requirement[] {
  const requirements: Requirement[] = [];
  for (;;) {
    const token = p.peek();
    if (token.kind === 'end') return requirements;
    if (token.kind !== 'id' && token.kind !== '!') {
      throw new SelectorError(`found '${shown(token)}', expected: !, identifier, or end of string`);
    }
    requirements.push(requirement(p));
    const after = p.next();
    if (after.kind === 'end') return requirements;
    if (after.kind !== ',') {
      throw new SelectorError(`found '${shown(after)}', expected: ',' or end of string`);
    }
    const following = p.peek();
    if (following.kind !== 'id' && following.kind !== '!') {
      throw new SelectorError(`found '${shown(following)}', expected: identifier after ','`);
    }
  }
}

function requirement(p: Parser): Requirement {
  let negated = false;
  let token = p.next();
  if (token.kind === '!') {
    negated = true;
    token = p.next();
  }
  if (token.kind !== 'id') throw new SelectorError(`found '${shown(token)}', expected: identifier`);
  const key = token.text;
  checkKey(key);
  const ahead = p.peek().kind;
  if (negated || ahead === 'end' || ahead === ',') {
    return { key, operator: negated ? '!' : 'exists', values: [] };
  }
  const op = p.next(false);
  switch (op.kind) {
    case 'in':
    case 'notin':
      return made(key, op.kind, valueSet(p));
    case '=':
    case '==':
    case '!=':
    case '>':
    case '<':
      return made(key, op.kind, exactValue(p));
    default:
      throw new SelectorError(
        `found '${shown(op)}', expected: in, notin, =, ==, !=, gt, lt (after the key ${key})`,
      );
  }
}

function exactValue(p: Parser): string[] {
  const ahead = p.peek();
  if (ahead.kind === 'end' || ahead.kind === ',') return [''];
  const token = p.next();
  if (token.kind !== 'id') throw new SelectorError(`found '${shown(token)}', expected: identifier`);
  return [token.text];
}

/** `(a,b)`; the API server reads `()`, `(,` and `,)` as containing the empty value. */
function valueSet(p: Parser): string[] {
  const open = p.next();
  if (open.kind !== '(') throw new SelectorError(`found '${shown(open)}' expected: '('`);
  const first = p.peek();
  if (first.kind === ')') {
    p.next();
    return [''];
  }
  if (first.kind !== 'id' && first.kind !== ',') {
    throw new SelectorError(`found '${shown(first)}', expected: ',', ')' or identifier`);
  }
  const values = new Set<string>();
  for (;;) {
    const token = p.next();
    if (token.kind === 'id') {
      values.add(token.text);
      const ahead = p.peek();
      if (ahead.kind === ',') continue;
      if (ahead.kind === ')') break;
      throw new SelectorError(`found '${shown(ahead)}', expected: ',' or ')'`);
    }
    if (token.kind === ',') {
      if (values.size === 0) values.add('');
      const ahead = p.peek();
      if (ahead.kind === ')') {
        values.add('');
        break;
      }
      if (ahead.kind === ',') {
        p.next();
        values.add('');
      }
      continue;
    }
    throw new SelectorError(`found '${shown(token)}', expected: ',', or identifier`);
  }
  const close = p.next();
  if (close.kind !== ')') throw new SelectorError(`found '${shown(close)}', expected: ')'`);
  return [...values];
}

function made(key: string, operator: Operator, values: string[]): Requirement {
  if ((operator === '>' || operator === '<') && !isInt64(values[0] ?? '')) {
    throw new SelectorError(`for 'Gt', 'Lt' operators, the value must be an integer`);
  }
  for (const value of values) checkValue(key, value);
  return { key, operator, values: [...new Set(values)].sort() };
}

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function isInt64(text: string): boolean {
  if (!/^[+-]?\d+$/.test(text)) return false;
  const n = BigInt(text);
  return n >= INT64.min && n <= INT64.max;
}

// ---- names (k8s.io/apimachinery/pkg/util/validation) ------------------------------------

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key (`[prefix/]name`), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `label key "${key}" may contain at most one '/'`;
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') return `label key "${key}": the prefix before '/' must not be empty`;
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key "${key}": the prefix must be a lowercase DNS subdomain`;
    }
  }
  if (name === '') return `label key "${key}": the name must not be empty`;
  if (name.length > 63) return `label key "${key}": the name must be at most 63 characters`;
  if (!NAME.test(name)) {
    return `label key "${key}": the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `label value "${value}" must be at most 63 characters`;
  if (!NAME.test(value)) {
    return `label value "${value}" must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

function checkKey(key: string): void {
  const problem = labelKeyProblem(key);
  if (problem) throw new SelectorError(problem);
}

function checkValue(_key: string, value: string): void {
  const problem = labelValueProblem(value);
  if (problem) throw new SelectorError(problem);
}

// ---- matching ----------------------------------------------------------------------------

export function matches(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector.every((r) => requirementMatches(r, labels));
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(value ?? '');
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'exists':
      return has;
    case '!':
      return !has;
    case '>':
    case '<': {
      if (!has || !isInt64(value ?? '')) return false;
      const left = BigInt(value ?? '0');
      const right = BigInt(r.values[0] ?? '0');
      return r.operator === '>' ? left > right : left < right;
    }
  }
}

// ---- from an object's spec ---------------------------------------------------------------

export interface SpecSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: { key: string; operator: string; values?: string[] | undefined }[] | undefined;
}

/**
 * A Deployment's or ReplicaSet's `spec.selector` (or a Service's `spec.selector` map) as
 * selector text. Undefined when it selects nothing (a Service without a selector).
 */
export function selectorText(
  spec: SpecSelector | Record<string, string> | undefined,
): string | undefined {
  if (!spec) return undefined;
  const isSpec = 'matchLabels' in spec || 'matchExpressions' in spec;
  const labels = (isSpec ? (spec as SpecSelector).matchLabels : spec) as
    | Record<string, string>
    | undefined;
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of isSpec ? ((spec as SpecSelector).matchExpressions ?? []) : []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  if (!isSpec && parts.length === 0) return undefined;
  return parts.join(',');
}
