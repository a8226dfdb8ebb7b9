/**
 * Load: many sessions typing at once, every byte of every stream checked; many idle sessions,
 * the server's memory measured. The server runs in a process of its own (its memory is read
 * from /proc; the load generator does not share its event loop).
 */
import { randomInt } from 'node:crypto';
import { type CreatedSession, plain } from '../../support/terminal-client.ts';
import { type Context, errorText, mapLimit, sleep } from '../lib/context.ts';
import { EchoSession } from '../lib/echo.ts';
import { processesUnder, untilGone } from '../lib/procs.ts';
import { count, max, mib, ms, percentile } from '../lib/report.ts';
import { rssOf, spawnServer } from '../lib/server-process.ts';
import { createSession, deleteSession, openTerminal } from '../lib/terminal.ts';

/** Session-creation limits out of the way: this measures the sessions, not the guards. */
function roomFor(n: number): string[] {
  return [
    '--cluster',
    'none',
    '--max-sessions',
    String(n + 10),
    '--sessions-per-minute',
    '1000000',
  ];
}

/** Server log lines at level error (a fault the server noticed in itself). */
function serverErrors(logs: string): string[] {
  return logs.split('\n').filter((line) => line.includes('"level":"error"'));
}

/** Samples the server's memory every 250 ms until stopped; returns the peak. */
function sampleRss(pid: number): () => number {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 250);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}

export async function loadTyping(ctx: Context): Promise<void> {
  const { sessions: n, seconds } = ctx.sizes.load;
  const server = await spawnServer(roomFor(n));
  ctx.defer(() => server.stop());

  const openErrors: string[] = [];
  const opening = performance.now();
  const opened = await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    8,
    async (i) => {
      try {
        return await EchoSession.open(server.url, `s${i}`);
      } catch (error) {
        openErrors.push(`s${i}: ${errorText(error)}`);
        return undefined;
      }
    },
  );
  const echoes = opened.filter((e): e is EchoSession => e !== undefined);
  const openSeconds = (performance.now() - opening) / 1000;
  ctx.rec.check(
    `${n} sessions opened at once (create, attach, shell, raw cat), 8 in flight`,
    `${echoes.length}/${n} in ${openSeconds.toFixed(1)} s`,
    openErrors.slice(0, 3),
  );
  ctx.log(`load: ${echoes.length} sessions typing for ${seconds} s`);

  const peak = sampleRss(server.pid);
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    echoes.map((e) =>
      e.typeUntil(until).catch((error: unknown) => {
        e.errors.push(errorText(error));
      }),
    ),
  );
  const peakRss = peak();

  const latencies = echoes.flatMap((e) => e.latencies);
  const sent = echoes.reduce((sum, e) => sum + e.sentBytes, 0);
  const verified = echoes.reduce((sum, e) => sum + e.verifiedBytes, 0);
  const lines = echoes.reduce((sum, e) => sum + e.lines, 0);
  const streamErrors = echoes.flatMap((e) => e.errors.map((m) => `${e.label}: ${m}`));
  const failures = [...streamErrors.slice(0, 5), ...serverErrors(server.logs()).slice(0, 3)];
  if (verified !== sent) failures.push(`${sent - verified} bytes never came back`);
  if (!server.alive()) failures.push('the server died');
  ctx.rec.check(
    `${echoes.length} sessions type numbered lines (text, UTF-8, raw bytes) into raw \`cat\` for ${seconds} s; every echoed byte compared with what was sent`,
    `${count(lines)} lines, ${count(sent)} bytes sent, ${count(verified)} came back identical and in order; ${streamErrors.length} stream errors; echo p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(max(latencies))}; server peak RSS ${mib(peakRss)}`,
    failures,
  );

  // A SIGTERM with all of them open ends every shell: nothing of any session is left.
  const stopping = performance.now();
  const code = await server.stop();
  const left = await untilGone(() => processesUnder(server.stateDir), 10_000);
  ctx.rec.check(
    `SIGTERM with ${echoes.length} sessions attached and busy`,
    `exit ${code} in ${ms(performance.now() - stopping)}; ${left.length} session processes left`,
    [
      ...(code === 0 ? [] : [`exit code ${code}`]),
      ...left.slice(0, 3).map((p) => `left: ${p.pid} ${p.cmdline}`),
    ],
  );
  for (const e of echoes) e.close();
}

export async function loadIdle(ctx: Context): Promise<void> {
  const { sessions: m } = ctx.sizes.idle;
  const server = await spawnServer(roomFor(m));
  ctx.defer(() => server.stop());
  // One session first, so the baseline includes the screen worker thread.
  const warm = await createSession(server.url);
  const warmTerm = await openTerminal(server.url, warm);
  warmTerm.close();
  await deleteSession(server.url, warm);
  await sleep(500);
  const baseline = server.rss();

  const errors: string[] = [];
  const created: CreatedSession[] = [];
  const opening = performance.now();
  const sessions = await mapLimit(
    Array.from({ length: m }, (_, i) => i),
    8,
    async (i) => {
      try {
        const session = await createSession(server.url);
        created.push(session);
        const term = await openTerminal(server.url, session);
        return { session, term };
      } catch (error) {
        errors.push(`idle ${i}: ${errorText(error)}`);
        return undefined;
      }
    },
  );
  const open = sessions.filter((s) => s !== undefined);
  const openSeconds = (performance.now() - opening) / 1000;
  ctx.log(`idle: ${open.length} sessions open; settling`);
  await sleep(3000);
  const rss = server.rss();
  const shells = processesUnder(server.stateDir);
  const shellRss = shells.reduce((sum, p) => sum + rssOf(p.pid), 0);
  const health = await fetch(`${server.url}/api/health`).then((r) => r.json());

  // Still alive: a sample of them answers.
  const sample = Array.from({ length: Math.min(10, open.length) }, () => randomInt(0, open.length));
  for (const index of sample) {
    const entry = open[index]!;
    try {
      const result = await entry.term.run(`echo idle-ok-${index}`, 15_000);
      if (!plain(result.output).includes(`idle-ok-${index}`)) {
        errors.push(`session ${index} did not answer`);
      }
    } catch (error) {
      errors.push(`session ${index}: ${errorText(error)}`);
    }
  }
  const perSession = (rss - baseline) / Math.max(1, open.length);
  // The bound: the server must fit a 500-reader workshop in 1.5 GiB; 3 MiB a session
  // (a 100x30 screen with 1000 lines of scrollback, a pty, a socket) leaves room for that.
  const bound = 3 * 1024 * 1024;
  if (health.sessions?.active !== open.length) {
    errors.push(`health says ${health.sessions?.active} active, ${open.length} are open`);
  }
  if (perSession > bound) errors.push(`${mib(perSession)} a session, over the ${mib(bound)} bound`);
  if (!server.alive()) errors.push('the server died');
  ctx.rec.check(
    `${m} idle sessions attached (shell at its prompt), then 10 of them run a command`,
    `${open.length}/${m} open in ${openSeconds.toFixed(1)} s; server RSS ${mib(baseline)} → ${mib(rss)} (${mib(perSession)} a session, bound ${mib(bound)}); ${shells.length} shell processes, ${mib(shellRss)} RSS in all`,
    errors.slice(0, 5),
  );

  // Ending them all through the API leaves no process behind; one more session types
  // meanwhile (each end walks /proc for the shell's processes, on the server's event loop).
  const controlSession = await createSession(server.url);
  const control = new EchoSession(
    await openTerminal(server.url, controlSession, { cols: 200, rows: 50 }),
    'control',
  );
  await control.start();
  const ending = performance.now();
  let deleting = true;
  const typing = (async () => {
    while (deleting) await control.typeUntil(performance.now() + 500);
  })();
  await mapLimit(created, 16, (session) => deleteSession(server.url, session));
  const deleteMs = performance.now() - ending;
  deleting = false;
  await typing.catch((error: unknown) => control.errors.push(errorText(error)));
  control.close();
  await deleteSession(server.url, controlSession);
  const left = await untilGone(() => processesUnder(server.stateDir), 10_000);
  await sleep(1000);
  ctx.rec.check(
    `DELETE all ${created.length} sessions through the API, 16 at a time, while one more session types`,
    `${ms(deleteMs)} (${ms(deleteMs / Math.max(1, created.length))} a session); ${left.length} session processes left; server RSS after: ${mib(server.rss())}; the typing session: ${control.latencies.length} lines, echo p99 ${ms(percentile(control.latencies, 99))}, max ${ms(max(control.latencies))}, ${control.errors.length} errors`,
    [
      ...left.slice(0, 3).map((p) => `left: ${p.pid} ${p.cmdline}`),
      ...control.errors.slice(0, 3),
      ...(control.verifiedBytes === control.sentBytes ? [] : ['the typing session lost bytes']),
    ],
  );
  for (const s of open) s.term.close();
}
