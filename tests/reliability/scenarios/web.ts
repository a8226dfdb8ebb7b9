/**
 * The web side: cross-site WebSocket hijacking (a foreign Origin) refused before the upgrade;
 * token guessing slowed down; tokens kept out of logs and URLs; the static file server never
 * leaving its folder; security headers on the site.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerminalClient } from '../../support/terminal-client.ts';
import { startTestServer } from '../../support/test-server.ts';
import { type Context, errorText } from '../lib/context.ts';
import { httpRequest, RawSocket, rawHttp } from '../lib/raw.ts';
import { count } from '../lib/report.ts';
import { ROOT, spawnServer } from '../lib/server-process.ts';
import { createSession, openTerminal } from '../lib/terminal.ts';

async function upgradeStatus(url: string, sessionId: string, origin: string): Promise<string> {
  try {
    const sock = await RawSocket.open(url, sessionId, { origin });
    sock.terminate();
    return 'open';
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string };
    let code = '';
    try {
      code = JSON.parse(body ?? '').error.code;
    } catch {
      // not JSON
    }
    return `${status} ${code}`.trim();
  }
}

export async function originChecks(ctx: Context): Promise<void> {
  const open = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => open.stop());
  const pinned = await spawnServer([
    '--cluster',
    'none',
    '--allowed-origin',
    'https://kubenotes.example',
  ]);
  ctx.defer(() => pinned.stop());
  const port = new URL(open.url).port;
  const cases: { server: typeof open; label: string; origin: string; allowed: boolean }[] = [
    ...[
      'https://evil.example',
      'null',
      'http://localhost.evil.example',
      `http://127.0.0.1.evil.example:${port}`,
      `http://evil.example:${port}`,
      `https://evil.example/127.0.0.1:${port}`,
      'file://',
      'chrome-extension://abcdefghijklmnop',
      'garbage',
    ].map((origin) => ({ server: open, label: 'default', origin, allowed: false })),
    { server: open, label: 'default', origin: open.url, allowed: true },
    { server: open, label: 'default', origin: 'http://localhost:4321', allowed: true },
    ...[
      'http://localhost:4321',
      'https://kubenotes.example.evil.com',
      'http://kubenotes.example',
      'https://evil.example',
      'https://kubenotes.example:8443',
    ].map((origin) => ({ server: pinned, label: 'pinned', origin, allowed: false })),
    { server: pinned, label: 'pinned', origin: 'https://kubenotes.example', allowed: true },
  ];
  const failures: string[] = [];
  let refused = 0;
  let allowed = 0;
  const sessions = new Map<string, { id: string; token: string }>();
  for (const server of [open, pinned]) sessions.set(server.url, await createSession(server.url));
  for (const c of cases) {
    const session = sessions.get(c.server.url)!;
    const ws = await upgradeStatus(c.server.url, session.id, c.origin);
    const health = await fetch(`${c.server.url}/api/health`, { headers: { origin: c.origin } });
    const before = (await fetch(`${c.server.url}/api/health`).then((r) => r.json())).sessions
      .active;
    const create = await fetch(`${c.server.url}/api/sessions`, {
      method: 'POST',
      headers: { origin: c.origin },
    });
    const after = (await fetch(`${c.server.url}/api/health`).then((r) => r.json())).sessions.active;
    const acao = health.headers.get('access-control-allow-origin');
    if (c.allowed) {
      allowed++;
      if (ws !== 'open') failures.push(`${c.label} ${c.origin}: upgrade ${ws}, should open`);
      if (health.status !== 200 || acao !== c.origin)
        failures.push(`${c.label} ${c.origin}: health ${health.status}, CORS ${acao}`);
      if (create.status === 201) {
        const made = await create.json();
        await fetch(`${c.server.url}/api/sessions/${made.id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${made.token}` },
        });
      } else failures.push(`${c.label} ${c.origin}: create ${create.status}`);
    } else {
      refused++;
      if (ws !== '403 origin_not_allowed')
        failures.push(`${c.label} ${c.origin}: upgrade ${ws}, not 403`);
      if (health.status !== 403)
        failures.push(`${c.label} ${c.origin}: health ${health.status}, not 403`);
      if (acao) failures.push(`${c.label} ${c.origin}: a refusal still carries CORS ${acao}`);
      if (create.status !== 403 || after !== before) {
        failures.push(
          `${c.label} ${c.origin}: create ${create.status}, sessions ${before} → ${after}`,
        );
      }
    }
  }
  ctx.rec.check(
    `cross-site WebSocket hijacking and cross-origin API use: ${cases.length} Origins (look-alike hosts, null, file:, other schemes and ports) against the default and a --allowed-origin server, each on the terminal upgrade, GET and POST`,
    `${refused} foreign Origins: upgrade refused 403 origin_not_allowed before any token is read, API 403 without CORS headers, no session made; ${allowed} allowed ones work`,
    failures,
  );
}

export async function tokenGuessing(ctx: Context): Promise<void> {
  const guesses = ctx.sizes.tokenGuesses;
  const server = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => server.stop());
  const session = await createSession(server.url);

  // HTTP: wrong bearer tokens on GET /api/sessions/:id.
  const started = performance.now();
  const statuses: number[] = [];
  let retryAfter = '';
  for (let i = 0; i < guesses; i++) {
    const res = await fetch(`${server.url}/api/sessions/${session.id}`, {
      headers: { authorization: `Bearer ${randomBytes(32).toString('base64url')}` },
    });
    statuses.push(res.status);
    if (res.status === 429) retryAfter ||= res.headers.get('retry-after') ?? '';
  }
  const refills = Math.ceil((performance.now() - started) / 6000);
  const right = await fetch(`${server.url}/api/sessions/${session.id}`, {
    headers: { authorization: `Bearer ${session.token}` },
  });
  const http401 = statuses.filter((s) => s === 401).length;
  const http429 = statuses.filter((s) => s === 429).length;
  const failures: string[] = [];
  if (http401 < 10 || http401 > 10 + refills)
    failures.push(`${http401} answered 401 (budget 10 a minute)`);
  if (http401 + http429 !== guesses)
    failures.push(`other statuses: ${[...new Set(statuses)].join(',')}`);
  if (statuses.slice(http401).some((s) => s !== 429) && refills <= 1)
    failures.push('a 401 after the first 429');
  if (http429 > 0 && !(Number(retryAfter) > 0)) failures.push('429 without Retry-After');
  if (right.status !== 200)
    failures.push(`the right token got ${right.status} (a guesser locked its owner out)`);
  ctx.rec.check(
    `${guesses} wrong session tokens on GET /api/sessions/:id from one client, then the right one`,
    `${http401} × 401 bad_token, then ${http429} × 429 rate_limited (Retry-After ${retryAfter} s); the right token still 200`,
    failures,
  );

  // The terminal socket: wrong tokens in the attach message, on a fresh server.
  const second = await spawnServer(['--cluster', 'none']);
  ctx.defer(() => second.stop());
  const target = await createSession(second.url);
  const reasons: string[] = [];
  const wsStarted = performance.now();
  for (let i = 0; i < guesses; i++) {
    const sock = await RawSocket.open(second.url, target.id);
    sock.send(
      JSON.stringify({
        type: 'attach',
        token: randomBytes(32).toString('base64url'),
        cols: 80,
        rows: 24,
      }),
      false,
    );
    await sock.until(() => sock.closed !== undefined, 5000);
    reasons.push(sock.closed ? `${sock.closed.code} ${sock.closed.reason}` : 'open');
    sock.terminate();
  }
  const wsRefills = Math.ceil((performance.now() - wsStarted) / 6000);
  const owner = await openTerminal(second.url, target).then(
    (t) => {
      t.close();
      return 'attached';
    },
    (error: unknown) => `failed: ${errorText(error)}`,
  );
  const badToken = reasons.filter((r) => r === '4001 bad_token').length;
  const limited = reasons.filter((r) => r === '4001 rate_limited').length;
  const wsFailures: string[] = [];
  if (badToken < 10 || badToken > 10 + wsRefills)
    wsFailures.push(`${badToken} closed bad_token (budget 10 a minute)`);
  if (badToken + limited !== guesses)
    wsFailures.push(`other closes: ${[...new Set(reasons)].join(', ')}`);
  if (owner !== 'attached') wsFailures.push(`the owner ${owner}`);
  ctx.rec.check(
    `${guesses} terminal attaches with wrong tokens from one client, then the owner's`,
    `${badToken} × 4001 bad_token, then ${limited} × 4001 rate_limited; the owner still attaches`,
    wsFailures,
  );

  // Join codes and the admin token were limited already; checked here with figures.
  const admin = randomBytes(24).toString('base64url');
  const workshopish = await spawnServer([
    '--cluster',
    'none',
    '--join-code',
    'right-code',
    '--admin-token',
    admin,
  ]);
  ctx.defer(() => workshopish.stop());
  const join: number[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${workshopish.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinCode: `guess-${i}` }),
    });
    join.push(res.status);
  }
  const adminStatuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${workshopish.url}/api/admin/sessions`, {
      headers: { authorization: `Bearer guess-${i}-${randomBytes(8).toString('hex')}` },
    });
    adminStatuses.push(res.status);
  }
  const adminOk = await fetch(`${workshopish.url}/api/admin/sessions`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  const tally = (list: number[]) =>
    [...new Set(list)].map((s) => `${list.filter((x) => x === s).length} × ${s}`).join(', ');
  const other: string[] = [];
  if (join.filter((s) => s === 401).length > 31 || !join.includes(429))
    other.push(`join codes: ${tally(join)}`);
  if (adminStatuses.filter((s) => s === 401).length > 11 || !adminStatuses.includes(429))
    other.push(`admin: ${tally(adminStatuses)}`);
  if (adminOk.status !== 200) other.push(`the right admin token got ${adminOk.status}`);
  ctx.rec.check(
    '40 wrong join codes, 20 wrong admin tokens from one client',
    `join codes: ${tally(join)} (30 tries a minute); admin: ${tally(adminStatuses)}; the right admin token still 200`,
    other,
  );
}

export async function tokenHygiene(ctx: Context): Promise<void> {
  const admin = `admin-${randomBytes(24).toString('base64url')}`;
  const joinCode = `join-${randomBytes(12).toString('base64url')}`;
  // In this process, logging at debug level: every line the server writes is scanned.
  const server = await startTestServer([
    '--admin-token',
    admin,
    '--join-code',
    joinCode,
    '--attach-timeout',
    '1s',
  ]);
  ctx.defer(() => server.stop());
  const secrets = [admin, joinCode];
  const failures: string[] = [];
  for (let i = 0; i < 3; i++) {
    const session = await createSession(server.url, { joinCode });
    secrets.push(session.token);
    const term = await TerminalClient.open(server.url, session);
    await term.run('echo hello; ls ~');
    // A token in the URL is not a credential: the query string is ignored.
    const query = await fetch(`${server.url}/api/sessions/${session.id}?token=${session.token}`);
    if (query.status !== 401) failures.push(`GET with ?token= answered ${query.status}, not 401`);
    const sock = await RawSocket.open(server.url, `${session.id}`, {});
    sock.terminate();
    await fetch(`${server.url}/api/sessions/${session.id}`, {
      headers: { authorization: `Bearer ${session.token}x` },
    });
    const watcher = await TerminalClient.open(
      server.url,
      { id: session.id, token: admin },
      { readOnly: true },
    );
    watcher.close();
    await fetch(`${server.url}/api/admin/sessions`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    await fetch(`${server.url}/api/admin/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello' }),
    });
    term.close();
    await fetch(`${server.url}/api/sessions/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.token}` },
    });
  }
  // A socket whose URL carries the token, and no attach message: not attached.
  const session = await createSession(server.url, { joinCode });
  secrets.push(session.token);
  const url = `${server.url.replace('http', 'ws')}/api/sessions/${session.id}/terminal?token=${session.token}`;
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(url);
  const closed = await new Promise<string>((resolve) => {
    ws.on('close', (code, reason) => resolve(`${code} ${reason.toString()}`));
    ws.on('error', () => resolve('error'));
  });
  if (closed !== '4400 attach_timeout')
    failures.push(`a socket with ?token= and no attach: ${closed}`);
  const logText = server.logs.join('\n');
  const leaked = secrets.filter((s) => logText.includes(s));
  if (leaked.length > 0) failures.push(`${leaked.length} secrets appear in the log`);
  // The browser code never puts a token in a URL.
  const clientFiles = readdirSync(join(ROOT, 'src', 'client')).filter((f) => f.endsWith('.ts'));
  const inUrls = clientFiles.filter((f) =>
    /[?&](token|access_token|auth)=|\/\$\{[^}]*token[^}]*\}/i.test(
      readFileSync(join(ROOT, 'src', 'client', f), 'utf8'),
    ),
  );
  if (inUrls.length > 0) failures.push(`token in a URL in ${inUrls.join(', ')}`);
  ctx.rec.check(
    'tokens (3 sessions, the admin token, the join code) through create, attach, wrong tokens, read-only watching, admin calls, DELETE; then ?token= in URLs',
    `${count(server.logs.length)} log lines (debug level) scanned: ${leaked.length} of ${secrets.length} secrets found; a token in the query string is ignored (HTTP 401, socket 4400 attach_timeout); ${clientFiles.length} browser modules put no token in a URL`,
    failures,
  );
}

export async function traversal(ctx: Context): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-site-'));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  const site = join(dir, 'site');
  const secret = `KN-SECRET-${randomBytes(8).toString('hex')}`;
  mkdirSync(join(site, 'sub'), { recursive: true });
  mkdirSync(join(dir, 'site-evil'));
  writeFileSync(
    join(site, 'index.html'),
    '<!doctype html><title>t</title><script>console.log(1)</script><p>home</p>',
  );
  writeFileSync(join(site, 'sub', 'page.html'), '<!doctype html><p>page</p>');
  writeFileSync(join(dir, 'secret.txt'), secret);
  writeFileSync(join(dir, 'site-evil', 'secret.txt'), secret);
  const server = await spawnServer(['--cluster', 'none', '--site-dir', site]);
  ctx.defer(() => server.stop());
  const abs = join(dir, 'secret.txt');
  const targets = [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/.%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/%252e%252e/secret.txt',
    '/..\\secret.txt',
    '/..%5csecret.txt',
    '/%5c..%5csecret.txt',
    '//../secret.txt',
    '/sub/../../secret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/sub/..%2f..%2fsecret.txt',
    '/../site-evil/secret.txt',
    '/%2e%2e/site-evil/secret.txt',
    abs,
    `/${abs}`,
    `/%2F${abs.slice(1).replaceAll('/', '%2F')}`,
    `/..${abs}`,
    '/etc/passwd',
    '/%2fetc%2fpasswd',
    '/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/.%2e/.%2e/.%2e/.%2e/etc/passwd',
    '/index.html%00.txt',
    '/..%00/secret.txt',
    '/%00',
    '/..%c0%af..%c0%afsecret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    '/..;/secret.txt',
    `http://${new URL(server.url).host}/../secret.txt`,
    '/index.html\0',
    '/sub/page.html/../../../secret.txt',
  ];
  const failures: string[] = [];
  const tally = new Map<string, number>();
  for (const target of targets) {
    const res = await rawHttp(server.url, httpRequest(server.url, 'GET', target));
    const key = String(res.status ?? 'closed');
    tally.set(key, (tally.get(key) ?? 0) + 1);
    if (res.raw.includes(secret) || res.raw.includes('root:x:0:0')) {
      failures.push(`${JSON.stringify(target)} served the secret`);
    } else if (res.status !== undefined && res.status !== 404 && res.status !== 400) {
      failures.push(`${JSON.stringify(target)} answered ${res.status}`);
    }
  }
  const home = await fetch(`${server.url}/`);
  const page = await fetch(`${server.url}/sub/page`);
  if (home.status !== 200 || !(await home.text()).includes('home'))
    failures.push('/ is not served');
  if (page.status !== 200) failures.push('/sub/page is not served');
  ctx.rec.check(
    `${targets.length} traversal paths on the static site (../, %2e%2e, %2f and %5c encoded, double-encoded, overlong UTF-8, absolute paths, a sibling folder with the same prefix, NUL, absolute-form URL)`,
    `answers: ${[...tally.entries()].map(([k, v]) => `${v} × ${k}`).join(', ')}; the secret beside the site never served; / and /sub/page still 200`,
    failures,
  );
}

function inlineScripts(html: string): string[] {
  const found: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const attributes = match[1] ?? '';
    if (
      /\bsrc\s*=/.test(attributes) ||
      /type\s*=\s*["']?application\/(ld\+)?json/i.test(attributes)
    )
      continue;
    found.push(match[2] ?? '');
  }
  return found;
}

function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...htmlFiles(path));
    else if (name.endsWith('.html')) out.push(path);
  }
  return out;
}

export async function securityHeaders(ctx: Context): Promise<void> {
  const dist = join(ROOT, 'dist');
  let hasSite = false;
  try {
    hasSite = statSync(join(dist, 'index.html')).isFile();
  } catch {
    hasSite = false;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-headers-'));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><script>console.log("inline")</script><p>x</p>',
  );
  const siteDir = hasSite ? dist : dir;
  const server = await spawnServer(['--cluster', 'none', '--site-dir', siteDir]);
  ctx.defer(() => server.stop());
  const pages = hasSite
    ? htmlFiles(dist).map((f) =>
        f
          .slice(dist.length)
          .replace(/index\.html$/, '')
          .replace(/\.html$/, ''),
      )
    : ['/'];
  const failures: string[] = [];
  let checked = 0;
  let hashes = 0;
  for (const page of pages) {
    const res = await fetch(`${server.url}${page}`);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const directive = (name: string) =>
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith(`${name} `)) ?? '';
    const scriptSrc = directive('script-src') || directive('default-src');
    const problems: string[] = [];
    if (!csp) problems.push('no Content-Security-Policy');
    if (/'unsafe-inline'|'unsafe-eval'/.test(scriptSrc))
      problems.push(`script-src allows inline: ${scriptSrc}`);
    if (directive('frame-ancestors') !== "frame-ancestors 'none'")
      problems.push(`frame-ancestors: ${directive('frame-ancestors') || 'missing'}`);
    if (directive('object-src') !== "object-src 'none'") problems.push('object-src is not none');
    if (res.headers.get('x-content-type-options') !== 'nosniff') problems.push('no nosniff');
    if (res.headers.get('x-frame-options') !== 'DENY') problems.push('no X-Frame-Options DENY');
    // Every inline script the page has is allowed by its hash (else the page would break).
    for (const script of inlineScripts(html)) {
      hashes++;
      const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
      if (!scriptSrc.includes(hash)) problems.push(`inline script ${hash} not in script-src`);
    }
    if (res.status !== 200) problems.push(`status ${res.status}`);
    if (problems.length > 0) failures.push(`${page}: ${problems.join(', ')}`);
    checked++;
  }
  const missing = await fetch(`${server.url}/no-such-page-${Date.now()}`);
  if (missing.headers.get('x-content-type-options') !== 'nosniff')
    failures.push('the 404 page has no nosniff');
  const asset = await fetch(`${server.url}/index.html`);
  if (asset.headers.get('x-content-type-options') !== 'nosniff')
    failures.push('no nosniff on /index.html');
  ctx.rec.check(
    `security headers on ${hasSite ? 'every page of the built guide (dist/)' : 'a test page (dist/ is not built)'}`,
    `${checked} pages: CSP with script-src 'self' + hashes (no 'unsafe-inline' or 'unsafe-eval'; ${hashes} inline scripts, each allowed by its sha256), frame-ancestors 'none', object-src 'none', nosniff, X-Frame-Options DENY; 404 too`,
    failures.slice(0, 5),
  );
}
