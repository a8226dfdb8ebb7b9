/**
 * Protocol fuzzers (fast-check, a fixed number of cases, seeded; the seed is printed so a run
 * can be replayed). Each case's expected answer comes from an oracle written from docs/protocol.md
 * (not from the server's own decoder): the close code and reason before attach, the `error`
 * message code after it, silence for valid messages. Throughout, the server must stay up
 * (health 200) and a control session in the same server must keep echoing.
 *
 * The WebSocket fuzzer attaches to a session whose shell runs `cat >/dev/null` in raw mode,
 * so random binary input is swallowed rather than run as commands.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { isSessionId } from '../../../sandbox-server/src/shared/protocol.ts';
import { type Context, errorText, sleep } from '../lib/context.ts';
import { EchoSession } from '../lib/echo.ts';
import { httpRequest, RawSocket, rawHttp } from '../lib/raw.ts';
import { count } from '../lib/report.ts';
import { type ServerProcess, spawnServer } from '../lib/server-process.ts';
import { createSession, openTerminal } from '../lib/terminal.ts';

// ---- the oracle: what docs/protocol.md says a client message is ------------------------------

const CLIENT_TYPES = ['attach', 'resize', 'ack', 'progress'];

type Verdict =
  | { kind: 'malformed' }
  | { kind: 'unknown' }
  | { kind: 'invalid' }
  | { kind: 'valid'; type: string; token?: string }
  /** valid or invalid depending on limits docs/protocol.md leaves open (string lengths) */
  | { kind: 'either'; type: string; token?: string };

const isInt = (x: unknown, lo: number, hi: number) =>
  typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi && !Object.is(x, -0);

export function classify(text: string): Verdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed' };
  }
  const m = value as Record<string, unknown>;
  if (typeof m.type !== 'string' || !CLIENT_TYPES.includes(m.type)) return { kind: 'unknown' };
  let ok = true;
  let loose = false;
  const str = (x: unknown, max: number, min = 0) => {
    if (typeof x !== 'string') return false;
    if (x.length > max || x.length < min) loose = true;
    return true;
  };
  switch (m.type) {
    case 'attach':
      ok =
        str(m.token, 512, 1) &&
        isInt(m.cols, 1, 1000) &&
        isInt(m.rows, 1, 500) &&
        (m.readOnly === undefined || typeof m.readOnly === 'boolean');
      break;
    case 'resize':
      ok = isInt(m.cols, 1, 1000) && isInt(m.rows, 1, 500);
      break;
    case 'ack':
      ok = isInt(m.bytes, 0, Number.MAX_SAFE_INTEGER);
      break;
    case 'progress':
      ok =
        str(m.page, 512) &&
        str(m.snippet, 256) &&
        ['running', 'succeeded', 'failed'].includes(m.state as string) &&
        (m.code === undefined || (typeof m.code === 'number' && Number.isInteger(m.code)));
      // docs/protocol.md names no range for the code; beyond safe integers is up to the server.
      if (typeof m.code === 'number' && Number.isInteger(m.code) && !Number.isSafeInteger(m.code)) {
        loose = true;
      }
      break;
  }
  if (!ok) return { kind: 'invalid' };
  const token = typeof m.token === 'string' ? m.token : undefined;
  return loose
    ? { kind: 'either', type: m.type, ...(token === undefined ? {} : { token }) }
    : { kind: 'valid', type: m.type, ...(token === undefined ? {} : { token }) };
}

// ---- frames -----------------------------------------------------------------------------

type Frame =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'bad-utf8'; bytes: Uint8Array }
  | { kind: 'big-text'; size: number }
  | { kind: 'big-binary'; size: number }
  | { kind: 'nothing' };

const TOKEN = '\u0000RIGHT-TOKEN\u0000';

const anyValue = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -3, max: 1100 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 500, 501, 1000, 1001, 2 ** 53, -1, 1.5, 1e3) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, '80') },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
/** Mostly in range, so valid messages (and their answers) are common too. */
const sizeValue = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 500 }) },
  { weight: 4, arbitrary: anyValue },
);
const tokenValue = fc.oneof(
  { weight: 4, arbitrary: fc.constant(TOKEN) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(600)) },
  { weight: 1, arbitrary: anyValue },
);
const shortText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant('p'.repeat(600)) },
  { weight: 1, arbitrary: anyValue },
);
const messages = fc.oneof(
  fc.record(
    {
      type: fc.constant('attach'),
      token: tokenValue,
      cols: sizeValue,
      rows: sizeValue,
      readOnly: fc.oneof(fc.constant(undefined), fc.boolean(), anyValue),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('resize'), cols: sizeValue, rows: sizeValue },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('ack'), bytes: fc.oneof(anyValue, fc.integer({ min: 0, max: 2 ** 40 })) },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('progress'),
      page: shortText,
      snippet: shortText,
      state: fc.oneof(
        fc.constantFrom('running', 'succeeded', 'failed'),
        fc.string({ maxLength: 8 }),
      ),
      code: anyValue,
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({
    type: fc.oneof(fc.string({ maxLength: 10 }), anyValue),
    data: fc.jsonValue({ maxDepth: 2 }),
  }),
);

const frames: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 8,
    arbitrary: messages.map((m) => ({ kind: 'text' as const, text: JSON.stringify(m) })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(messages, fc.nat()).map(([m, cut]) => {
      const text = JSON.stringify(m);
      return { kind: 'text' as const, text: text.slice(0, cut % Math.max(1, text.length)) };
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .jsonValue({ maxDepth: 3 })
      .map((v) => ({ kind: 'text' as const, text: JSON.stringify(v) ?? 'null' })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ maxLength: 64, unit: 'binary' })
      .map((text) => ({ kind: 'text' as const, text })),
  },
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ maxLength: 128 })
      .map((bytes) => ({ kind: 'binary' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: messages.map((m) => ({
      kind: 'binary' as const,
      bytes: Buffer.from(JSON.stringify(m)),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        Uint8Array.from([0xff, 0xfe, 0x7b]),
        Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        Uint8Array.from([0xed, 0xa0, 0x80]),
      )
      .map((bytes) => ({ kind: 'bad-utf8' as const, bytes })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: -2, max: 2000 })
      .map((extra) => ({ kind: 'big-text' as const, size: 64 * 1024 + extra })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: -2, max: 2000 })
      .map((extra) => ({ kind: 'big-binary' as const, size: 1024 * 1024 + extra })),
  },
);

const cases = fc.record({
  phase: fc.constantFrom<'before' | 'after'>('before', 'after'),
  frames: fc.array(frames, { minLength: 1, maxLength: 4 }),
  silentFirst: fc.integer({ min: 0, max: 39 }),
});

/** A text frame of exactly `size` bytes: a progress message padded in its page. */
function bigText(size: number): string {
  const shell = JSON.stringify({ type: 'progress', page: '', snippet: 's', state: 'running' });
  return shell.replace('"page":""', `"page":"${'x'.repeat(Math.max(0, size - shell.length))}"`);
}

// ---- what the server should answer ------------------------------------------------------

type Expect =
  | { close: number; reasons?: string[] }
  | { error: string }
  | { silent: true }
  | { ready: true }
  | { oneOf: Expect[] };

function expectFor(frame: Frame, attached: boolean, readOnly: boolean, token: string): Expect {
  // Input from a read-only attachment is refused with an error message (docs/protocol.md).
  const input: Expect = readOnly ? { error: 'read_only' } : { silent: true };
  switch (frame.kind) {
    case 'nothing':
      return { close: 4400, reasons: ['attach_timeout'] };
    case 'big-text':
      return frame.size > 64 * 1024
        ? { close: 1009, reasons: ['too_large'] }
        : expectText(bigText(frame.size), attached, token);
    case 'big-binary':
      if (frame.size > 1024 * 1024) return { close: 1009 };
      return attached ? input : { close: 4400, reasons: ['malformed_message'] };
    case 'bad-utf8':
      // RFC 6455: a text frame that is not UTF-8 fails the connection with 1007.
      return { close: 1007 };
    case 'binary':
      return attached ? input : { close: 4400, reasons: ['malformed_message'] };
    case 'text':
      return expectText(frame.text.replaceAll(TOKEN, token), attached, token);
  }
}

function expectText(text: string, attached: boolean, token: string): Expect {
  const verdict = classify(text);
  const codes = {
    malformed: 'malformed_message',
    unknown: 'unknown_type',
    invalid: 'invalid_message',
  };
  if (verdict.kind === 'malformed' || verdict.kind === 'unknown' || verdict.kind === 'invalid') {
    const code = codes[verdict.kind];
    return attached ? { error: code } : { close: 4400, reasons: [code] };
  }
  const valid = (): Expect => {
    if (attached)
      return verdict.type === 'attach' ? { error: 'invalid_message' } : { silent: true };
    if (verdict.type !== 'attach') return { close: 4400, reasons: ['invalid_message'] };
    return verdict.token === token
      ? { ready: true }
      : { close: 4001, reasons: ['bad_token', 'rate_limited'] };
  };
  if (verdict.kind === 'valid') return valid();
  const invalid: Expect = attached
    ? { error: 'invalid_message' }
    : { close: 4400, reasons: ['invalid_message'] };
  return { oneOf: [valid(), invalid] };
}

function describeFrame(frame: Frame): string {
  switch (frame.kind) {
    case 'text':
      return `text ${JSON.stringify(frame.text.slice(0, 120))}`;
    case 'binary':
    case 'bad-utf8':
      return `${frame.kind} ${Buffer.from(frame.bytes).toString('hex').slice(0, 80)}`;
    case 'big-text':
    case 'big-binary':
      return `${frame.kind} of ${frame.size} bytes`;
    case 'nothing':
      return 'nothing (wait for the attach timeout)';
  }
}

// ---- the WebSocket fuzzer ---------------------------------------------------------------

interface Target {
  server: ServerProcess;
  id: string;
  token: string;
}

let sentinel = 0;

/** Sends one frame and checks the answer; returns what was wrong, or undefined. */
async function sendAndCheck(
  sock: RawSocket,
  frame: Frame,
  state: { attached: boolean; readOnly: boolean },
  target: Target,
  tally: Map<string, number>,
): Promise<{ problem?: string; attached: boolean; readOnly: boolean }> {
  const { attached } = state;
  const expect = expectFor(frame, attached, state.readOnly, target.token);
  const from = sock.received.length;
  switch (frame.kind) {
    case 'text':
      sock.send(frame.text.replaceAll(TOKEN, target.token), false);
      break;
    case 'binary':
      sock.send(Buffer.from(frame.bytes), true);
      break;
    case 'bad-utf8':
      sock.send(Buffer.from(frame.bytes), false);
      break;
    case 'big-text':
      sock.send(bigText(frame.size), false);
      break;
    case 'big-binary':
      sock.send(Buffer.alloc(frame.size, 0x61), true);
      break;
    case 'nothing':
      break;
  }
  // After attach a sentinel (an unknown type naming itself) marks the end of the answer.
  let mark: string | undefined;
  if (attached && frame.kind !== 'nothing') {
    mark = `kn-sentinel-${++sentinel}`;
    sock.send(JSON.stringify({ type: mark }), false);
  }
  const isMark = (t: unknown) =>
    typeof t === 'object' &&
    t !== null &&
    String((t as { message?: unknown }).message).includes(`"${mark}"`);
  const settled = await sock.until(
    () =>
      sock.closed !== undefined ||
      (mark !== undefined && sock.texts(from).some(isMark)) ||
      (!attached && sock.texts(from).some((t) => (t as { type?: string }).type === 'ready')),
    frame.kind === 'nothing' ? 8000 : 5000,
  );
  // The session's progress record follows every attach on its own (docs/tasks.md): no answer.
  const unsolicited = (t: unknown) => (t as { type?: string }).type === 'record';
  const answers = sock.texts(from).filter((t) => !isMark(t) && !unsolicited(t));
  const seen = sock.closed
    ? `close ${sock.closed.code} ${sock.closed.reason}`
    : answers.length > 0
      ? answers.map((a) => JSON.stringify(a)).join(' ')
      : settled
        ? 'silence'
        : 'no answer';
  const matches = (e: Expect): boolean => {
    if ('oneOf' in e) return e.oneOf.some(matches);
    if ('close' in e) {
      return (
        sock.closed?.code === e.close && (!e.reasons || e.reasons.includes(sock.closed.reason))
      );
    }
    if (sock.closed) return false;
    if ('error' in e) {
      const errors = answers as { type?: string; code?: string; message?: string }[];
      return (
        errors.length === 1 &&
        errors[0]?.type === 'error' &&
        errors[0].code === e.error &&
        String(errors[0].message).length > 10
      );
    }
    if ('ready' in e) return answers.some((a) => (a as { type?: string }).type === 'ready');
    return settled && answers.length === 0;
  };
  const key = sock.closed
    ? `close ${sock.closed.code} ${sock.closed.reason || '(no reason)'}`
    : answers.length
      ? `error ${(answers[0] as { code?: string }).code ?? (answers[0] as { type?: string }).type}`
      : 'silence';
  tally.set(key, (tally.get(key) ?? 0) + 1);
  if (!matches(expect)) {
    return {
      problem: `${attached ? 'after' : 'before'} attach, ${describeFrame(frame)}: expected ${JSON.stringify(expect)}, got ${seen}`,
      ...state,
    };
  }
  const nowReady = !attached && answers.some((a) => (a as { type?: string }).type === 'ready');
  if (!nowReady) return state;
  const sent = frame.kind === 'text' ? JSON.parse(frame.text) : {};
  return { attached: true, readOnly: sent.readOnly === true };
}

async function healthOk(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/health`)).status === 200;
  } catch {
    return false;
  }
}

export async function fuzzWs(ctx: Context): Promise<void> {
  const server = await spawnServer([
    '--cluster',
    'none',
    '--attach-timeout',
    '1s',
    '--sessions-per-minute',
    '1000',
  ]);
  ctx.defer(() => server.stop());
  const control = await EchoSession.open(server.url, 'control');
  const session = await createSession(server.url);
  const target: Target = { server, id: session.id, token: session.token };
  // The target's shell swallows whatever is typed into it.
  const term = await openTerminal(server.url, session);
  term.type(
    "stty raw -echo -isig -iexten; printf '%s%s\\n' KN-SWALLOW- BEGIN; exec cat >/dev/null\r",
  );
  await term.waitForText('KN-SWALLOW-BEGIN', 10_000);
  term.close();

  const tally = new Map<string, number>();
  const problems: string[] = [];
  let ran = 0;
  let framesSent = 0;
  const property = fc.asyncProperty(cases, async (c) => {
    ran++;
    const sock = await RawSocket.open(server.url, target.id);
    try {
      let state = { attached: false, readOnly: false };
      if (c.phase === 'after') {
        sock.send(
          JSON.stringify({ type: 'attach', token: target.token, cols: 80, rows: 24 }),
          false,
        );
        if (
          !(await sock.until(
            () => sock.texts().some((t) => (t as { type?: string }).type === 'ready'),
            5000,
          ))
        ) {
          throw new Error(
            `attach with the right token got no ready: ${JSON.stringify(sock.closed)}`,
          );
        }
        state = { attached: true, readOnly: false };
      }
      // Now and then, nothing at all before the attach timeout.
      const list: Frame[] =
        !state.attached && c.silentFirst === 0 ? [{ kind: 'nothing' }] : c.frames;
      for (const frame of list) {
        if (sock.closed) break;
        framesSent++;
        const { problem, ...next } = await sendAndCheck(sock, frame, state, target, tally);
        if (problem) throw new Error(problem);
        state = next;
      }
    } finally {
      sock.terminate();
    }
    if (!server.alive()) throw new Error('the server died');
    if (ran % 20 === 0) {
      if (!(await healthOk(server.url))) throw new Error('health did not answer 200');
      control.send(Buffer.from(`control ${ran}\n`));
      await control.drained(10_000);
    }
  });
  const details = await fc.check(property, {
    numRuns: ctx.sizes.fuzz.wsRuns,
    seed: ctx.seed,
    endOnFailure: true,
  });
  if (details.failed) {
    problems.push(
      `seed ${details.seed}, case ${details.numRuns}: ${errorText(details.errorInstance)}`,
    );
  }
  control.send(Buffer.from('control end\n'));
  await control
    .drained(10_000)
    .catch((error: unknown) => problems.push(`control: ${errorText(error)}`));
  problems.push(...control.errors.map((e) => `control: ${e}`));
  if (!(await healthOk(server.url))) problems.push('health is not 200 at the end');
  const shells = server.events('shell_started').filter((e) => e.session === target.id).length;
  if (shells !== 1) problems.push(`the target session's shell was restarted (${shells} starts)`);
  const faults = server
    .logs()
    .split('\n')
    .filter((l) => /"level":"error"|socket_fault/.test(l));
  problems.push(...faults.slice(0, 3));
  const answers = [...tally.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`);
  ctx.rec.check(
    `${count(ctx.sizes.fuzz.wsRuns)} random cases (seed ${ctx.seed}), before and after attach: random, truncated, wrongly typed, oversized, non-UTF-8 text and binary frames; each answer checked against docs/protocol.md`,
    `${count(ran)} cases, ${count(framesSent)} frames; answers: ${answers.join(', ')}; server up, control session echoed ${count(control.verifiedBytes)} bytes intact, target shell never restarted`,
    problems,
  );
  control.close();
}

// ---- the HTTP fuzzer --------------------------------------------------------------------

interface HttpCase {
  method: string;
  target: string;
  contentType: string | undefined;
  auth: 'none' | 'right' | 'wrong' | 'admin' | 'basic' | 'junk';
  origin: string | undefined;
  body:
    | { kind: 'empty' }
    | { kind: 'json'; value: unknown }
    | { kind: 'bytes'; bytes: Uint8Array }
    | { kind: 'big'; size: number }
    | { kind: 'truncated'; text: string };
  upgrade: boolean;
  extraHeader: [string, string] | undefined;
}

const segment = fc.stringMatching(/^[A-Za-z0-9_.~%-]{0,12}$/);
const pathArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '/api/health',
      '/api/sessions',
      '/api/sessions/VICTIM',
      '/api/sessions/VICTIM/terminal',
      '/api/sessions/GONE',
      '/api/sessions/',
      '/api/admin/sessions',
      '/api/admin/events',
      '/api/admin/broadcast',
      '/api/admin/sessions/VICTIM/extend',
      '/api/admin/sessions/VICTIM',
      '/metrics',
      '/',
      '/api',
      '/api/',
      '/api/../api/health',
      '/api/%2e%2e/api/health',
      '/api/health?x=1#frag',
      '/api\\health',
      '/api/sessions/VICTIM%00',
      '/api/sessions/%zz',
      '*',
      'http://[',
      'http://evil.example/api/health',
      '//evil.example/api/health',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(segment, { minLength: 1, maxLength: 5 })
      .map((parts) => `/${parts.join('/')}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(segment, { minLength: 1, maxLength: 3 })
      .map((parts) => `/api/${parts.join('/')}`),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 9000 }).map((n) => `/api/sessions/${'a'.repeat(n)}`),
  },
);
const httpCases: fc.Arbitrary<HttpCase> = fc.record({
  method: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'HEAD') },
    { weight: 2, arbitrary: fc.constantFrom('PUT', 'PATCH', 'TRACE', 'PROPFIND', 'CONNECT') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,8}$/) },
  ),
  target: pathArb,
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'APPLICATION/JSON',
    'multipart/form-data',
  ),
  auth: fc.constantFrom('none', 'right', 'right', 'wrong', 'admin', 'admin', 'basic', 'junk'),
  origin: fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'http://localhost:4321',
        'https://evil.example',
        'null',
        'http://127.0.0.1.evil.example',
        'garbage',
      ),
    },
  ),
  body: fc.oneof(
    { weight: 3, arbitrary: fc.constant({ kind: 'empty' as const }) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.record(
            {
              joinCode: fc.oneof(
                fc.string({ maxLength: 10 }),
                fc.integer(),
                fc.constant('j'.repeat(300)),
              ),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
          fc.record({ minutes: anyValue, message: shortText }, { requiredKeys: [] }),
        )
        .map((value) => ({ kind: 'json' as const, value })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) => ({ kind: 'bytes' as const, bytes })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 16 * 1024 - 2, max: 40 * 1024 })
        .map((size) => ({ kind: 'big' as const, size })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ maxLength: 12 })
        .map((s) => ({ kind: 'truncated' as const, text: `{"joinCode":"${s}` })),
    },
  ),
  upgrade: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  extraHeader: fc.option(
    fc.tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
      fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
    ),
    { nil: undefined },
  ),
});

const STATUS_CODES: Record<number, string[]> = {
  400: ['bad_request'],
  401: ['bad_token', 'wrong_join_code'],
  403: ['origin_not_allowed', 'join_code_full'],
  404: ['not_found', 'no_session'],
  405: ['method_not_allowed'],
  413: ['too_large'],
  429: ['rate_limited'],
  503: ['server_full', 'out_of_files', 'cluster_unavailable', 'sandbox_unavailable'],
};

interface HttpState {
  url: string;
  victim: { id: string; token: string };
  admin: string;
}

/** The answers docs/protocol.md allows for a request (statuses; a set when limits may apply). */
function allowedStatuses(c: HttpCase, state: HttpState, target: string, body: Buffer): number[] {
  // A method the HTTP parser does not know never reaches the server; one it knows (WebDAV's,
  // say) is routed like any other.
  if (!KNOWN_METHODS.includes(c.method)) return [0, 400, ...routeStatuses(c, state, target, body)];
  if (c.method === 'CONNECT') return [0, 400, 404];
  return routeStatuses(c, state, target, body);
}

function routeStatuses(c: HttpCase, state: HttpState, target: string, body: Buffer): number[] {
  if (target === '*') return [0, 400, 404];
  let path: string;
  try {
    path = new URL(target, 'http://localhost').pathname;
  } catch {
    return [400, 0];
  }
  const host = new URL(state.url).host;
  const originOk =
    c.origin === undefined ||
    (() => {
      try {
        const u = new URL(c.origin);
        return u.host === host || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
      } catch {
        return false;
      }
    })();
  const method = c.method;
  // Any segment is a session path; what is no session id (docs/protocol.md) is a 404.
  const session = /^\/api\/sessions\/([^/]+)$/.exec(path)?.[1];
  const terminal = /^\/api\/sessions\/([^/]+)\/terminal$/.exec(path)?.[1];
  if (c.upgrade) {
    if (!terminal) return [404];
    if (!originOk) return [403];
    if (terminal !== state.victim.id) return [404];
    // the ws library's own handshake checks (GET only, valid key) answer 400 or 405
    return [101, 400, 405];
  }
  if (path.startsWith('/api/')) {
    if (!originOk) return [403];
    if (method === 'OPTIONS') return [204];
    if (path.startsWith('/api/admin/')) {
      if (c.auth !== 'admin') return [401, 429];
      if (path === '/api/admin/sessions' && method === 'GET') return [200];
      if (path === '/api/admin/events' && method === 'GET') return [200];
      if (path === '/api/admin/broadcast' && method === 'POST') return [202, 400, 413];
      const admin = /^\/api\/admin\/sessions\/([a-z0-9]{1,64})(\/extend)?$/.exec(path);
      if (admin) {
        if (admin[1] !== state.victim.id) return [404];
        if (admin[2] && method === 'POST') return [200, 400, 413];
        if (!admin[2] && method === 'DELETE') return [204];
      }
      return [404];
    }
    if (path === '/api/health') return ['GET', 'HEAD'].includes(method) ? [200] : [405];
    if (path === '/api/sessions') {
      if (method !== 'POST') return [405];
      if (body.length > 16 * 1024) return [413];
      const text = body.toString('utf8');
      if (text.trim() === '') return [201, 429, 503];
      if (!/^application\/json\b/i.test(c.contentType ?? '')) return [400];
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return [400];
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [400];
      const joinCode = (value as { joinCode?: unknown }).joinCode;
      if (joinCode !== undefined && typeof joinCode !== 'string') return [400];
      if (typeof joinCode === 'string' && joinCode.length > 256) return [400];
      return [201, 429, 503];
    }
    if (session !== undefined) {
      if (!isSessionId(session)) return [404];
      if (!['GET', 'DELETE'].includes(method)) return [405];
      if (session !== state.victim.id) return [404];
      return c.auth === 'right' ? [method === 'GET' ? 200 : 204] : [401, 429];
    }
    return [404];
  }
  if (path === '/metrics') return c.auth === 'admin' ? [200] : [401, 429];
  return [404];
}

const KNOWN_METHODS = [
  'GET',
  'POST',
  'DELETE',
  'OPTIONS',
  'HEAD',
  'PUT',
  'PATCH',
  'TRACE',
  'PROPFIND',
  'CONNECT',
];

export async function fuzzHttp(ctx: Context): Promise<void> {
  const admin = randomBytes(24).toString('base64url');
  const server = await spawnServer([
    '--cluster',
    'none',
    '--max-sessions',
    '6',
    '--admin-token',
    admin,
  ]);
  ctx.defer(() => server.stop());
  const control = await EchoSession.open(server.url, 'control');
  const victim = await createSession(server.url);
  const state: HttpState = { url: server.url, victim, admin };
  const tally = new Map<number | string, number>();
  const problems: string[] = [];
  let ran = 0;

  const property = fc.asyncProperty(httpCases, async (c) => {
    ran++;
    // Never end the victim itself (its id must stay known).
    const method =
      c.method === 'DELETE' && (c.auth === 'right' || c.auth === 'admin') ? 'GET' : c.method;
    const kase = { ...c, method };
    const target = c.target.replaceAll('VICTIM', victim.id).replaceAll('GONE', 'nosuchsession00');
    const headers: Record<string, string> = {};
    if (c.contentType) headers['Content-Type'] = c.contentType;
    if (c.origin) headers.Origin = c.origin;
    const auth = {
      none: undefined,
      right: `Bearer ${victim.token}`,
      wrong: `Bearer ${randomBytes(32).toString('base64url')}`,
      admin: `Bearer ${admin}`,
      basic: `Basic ${victim.token}`,
      junk: 'Bearer',
    }[c.auth];
    if (auth) headers.Authorization = auth;
    if (
      c.extraHeader &&
      !/^(host|content-length|connection|transfer-encoding|upgrade|origin|authorization|content-type|expect)$/i.test(
        c.extraHeader[0],
      )
    ) {
      headers[c.extraHeader[0]] = c.extraHeader[1];
    }
    if (c.upgrade) {
      headers.Upgrade = 'websocket';
      headers.Connection = 'Upgrade';
      headers['Sec-WebSocket-Version'] = '13';
      headers['Sec-WebSocket-Key'] = randomBytes(16).toString('base64');
    }
    let body: Buffer;
    switch (c.body.kind) {
      case 'empty':
        body = Buffer.alloc(0);
        break;
      case 'json':
        body = Buffer.from(JSON.stringify(c.body.value) ?? '');
        break;
      case 'bytes':
        body = Buffer.from(c.body.bytes);
        break;
      case 'big':
        body = Buffer.from(JSON.stringify({ joinCode: 'x'.repeat(c.body.size) }));
        break;
      case 'truncated':
        body = Buffer.from(c.body.text);
        break;
    }
    const request = httpRequest(server.url, method, target, headers, body);
    const statuses = allowedStatuses(kase, state, target, body);
    // A streamed answer (the admin event stream, an accepted upgrade) never ends by itself.
    const streaming =
      statuses.includes(101) || (c.auth === 'admin' && /\/api\/admin\/events/.test(target));
    const res = await rawHttp(server.url, request, streaming ? 1000 : 10_000);
    const status = res.status ?? 0;
    tally.set(status, (tally.get(status) ?? 0) + 1);
    const wrong = (why: string) => {
      throw new Error(
        `${method} ${target.slice(0, 100)} (auth ${c.auth}, origin ${c.origin}, content-type ${c.contentType}, body ${body.length} B${c.upgrade ? ', upgrade' : ''}): ${why}; answer: ${res.raw.slice(0, 300)}`,
      );
    };
    if (!statuses.includes(status))
      wrong(`status ${status || 'none (closed)'}, expected ${statuses.join(' or ')}`);
    // The ws library answers a malformed handshake itself (400/405, not JSON).
    const handshake = c.upgrade && [400, 405].includes(status);
    if (status >= 400 && method !== 'HEAD' && !handshake) {
      let parsed: { error?: { code?: string; message?: string } } | undefined;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        wrong('the error body is not JSON');
      }
      const code = parsed?.error?.code ?? '';
      if (!STATUS_CODES[status]?.includes(code))
        wrong(`error code ${code} does not go with ${status}`);
      if ((parsed?.error?.message ?? '').length < 10) wrong('the error message says nothing');
      if ([429, 503].includes(status) && !res.headers['retry-after']) wrong('no Retry-After');
      if (status === 405 && !res.headers.allow) wrong('no Allow header');
    }
    if (status === 201) {
      const made = JSON.parse(res.body);
      await fetch(`${server.url}/api/sessions/${made.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${made.token}` },
      });
    }
    if (!server.alive()) throw new Error('the server died');
    if (ran % 25 === 0) {
      if (!(await healthOk(server.url))) throw new Error('health did not answer 200');
      control.send(Buffer.from(`control ${ran}\n`));
      await control.drained(10_000);
    }
  });
  // Garbage first: not HTTP at all.
  for (const garbage of [
    randomBytes(64),
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
    Buffer.from('GET /\0 HTTP/1.1\r\n\r\n'),
    Buffer.from(`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`),
    Buffer.from(
      'POST /api/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n',
    ),
    // A request target that is no URL, as a plain request and as an upgrade (once fatal).
    Buffer.from('GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from(
      'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    ),
  ]) {
    const res = await rawHttp(server.url, garbage, 5000);
    if (
      res.status !== undefined &&
      res.status !== 400 &&
      res.status !== 431 &&
      res.status !== 414
    ) {
      problems.push(`garbage got ${res.status}: ${res.raw.slice(0, 120)}`);
    }
    if (!(await healthOk(server.url))) {
      problems.push(
        `the server stopped answering after ${JSON.stringify(garbage.subarray(0, 60).toString('latin1'))}`,
      );
      break;
    }
  }
  const details = await fc.check(property, {
    numRuns: ctx.sizes.fuzz.httpRuns,
    seed: ctx.seed,
    endOnFailure: true,
  });
  if (details.failed) {
    problems.push(
      `seed ${details.seed}, case ${details.numRuns}: ${errorText(details.errorInstance)}`,
    );
  }
  await sleep(200);
  control.send(Buffer.from('control end\n'));
  await control
    .drained(10_000)
    .catch((error: unknown) => problems.push(`control: ${errorText(error)}`));
  problems.push(...control.errors.map((e) => `control: ${e}`));
  if (!(await healthOk(server.url))) problems.push('health is not 200 at the end');
  const faults = server
    .logs()
    .split('\n')
    .filter((l) => /"level":"error"/.test(l));
  problems.push(...faults.slice(0, 3));
  const statuses = [...tally.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k || 'closed'} ×${v}`);
  ctx.rec.check(
    `${count(ctx.sizes.fuzz.httpRuns)} random requests (seed ${ctx.seed}): methods, paths (encoded, traversing, absolute, 9 KB), headers, origins, tokens, bodies (JSON, bytes, truncated, oversized), upgrades; plus 8 non-HTTP or non-URL inputs`,
    `${count(ran)} requests; statuses: ${statuses.join(', ')}; every error a JSON {error:{code,message}} whose code matches its status; server up, control session intact`,
    problems,
  );
  control.close();
}
