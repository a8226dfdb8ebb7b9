/**
 * SIGKILL the sandbox server with busy shells, then start it again on the same state folder:
 * no shell and nothing a shell started may live on (found in /proc by the session's HOME in
 * their environment, and by unique command lines), the old sessions answer a clear 404, a new
 * session works; in workshop mode the namespaces of the killed server are removed on restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TerminalClient } from '../../support/terminal-client.ts';
import { type Context, errorText, sleep, type TestClusterInfo } from '../lib/context.ts';
import {
  marker,
  type ProcInfo,
  processesUnder,
  processesWithArg,
  untilGone,
} from '../lib/procs.ts';
import { ms } from '../lib/report.ts';
import { type ServerProcess, spawnServer } from '../lib/server-process.ts';
import { createSession, openTerminal } from '../lib/terminal.ts';
import {
  createWorkshopSession,
  deleteInstanceNamespaces,
  namespaceEnded,
  noSandboxReason,
  shellPath,
  uniqueInstance,
  workshopArgs,
} from '../lib/workshop.ts';

interface Busy {
  id: string;
  token: string;
  namespace: string;
  markers: string[];
  term: TerminalClient;
}

/** Starts jobs of every kind in the shell: background, nohup, setsid, and a foreground one. */
async function makeBusy(url: string, session: Omit<Busy, 'markers' | 'term'>): Promise<Busy> {
  const term = await openTerminal(url, session, { cols: 200 });
  const markers = [marker(), marker(), marker(), marker()];
  const [bg, hup, sid, fg] = markers;
  await term.run(
    `sleep ${bg} & nohup sleep ${hup} >/dev/null 2>&1 & setsid sleep ${sid} >/dev/null 2>&1 </dev/null &`,
  );
  term.type(`sleep ${fg}\r`);
  await term.waitForMark('command-start', 10_000);
  return { ...session, markers, term };
}

function leftovers(stateDir: string, busy: Busy[]): ProcInfo[] {
  const found = new Map<number, ProcInfo>();
  for (const p of processesUnder(stateDir)) found.set(p.pid, p);
  for (const b of busy)
    for (const m of b.markers) for (const p of processesWithArg(m)) found.set(p.pid, p);
  return [...found.values()];
}

async function oldSessionAnswer(url: string, busy: Busy): Promise<string> {
  const res = await fetch(`${url}/api/sessions/${busy.id}`, {
    headers: { authorization: `Bearer ${busy.token}` },
  });
  const body = await res.json().catch(() => ({}));
  return `${res.status} ${body.error?.code ?? ''}`.trim();
}

async function crashAndRestart(
  ctx: Context,
  label: string,
  start: (stateDir: string) => Promise<ServerProcess>,
  create: (url: string) => Promise<Omit<Busy, 'markers' | 'term'>>,
  afterRestart?: (
    busy: Busy[],
    restarted: ServerProcess,
  ) => Promise<{ notes: string[]; failures: string[] }>,
): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kubenotes-rel-crash-'));
  ctx.defer(() => rmSync(stateDir, { recursive: true, force: true }));
  const first = await start(stateDir);
  ctx.defer(() => first.kill());
  const busy: Busy[] = [];
  for (let i = 0; i < 2; i++) busy.push(await makeBusy(first.url, await create(first.url)));
  const before = leftovers(stateDir, busy).length;

  await first.kill();
  const killedAt = performance.now();
  await sleep(2000);
  const afterCrash = leftovers(stateDir, busy);
  const second = await start(stateDir);
  ctx.defer(() => second.stop());
  const restartMs = performance.now() - killedAt;
  const left = await untilGone(() => leftovers(stateDir, busy), 5000);
  const failures = left.map((p) => `orphaned: ${p.pid} ${p.cmdline}`);
  const answers = await Promise.all(busy.map((b) => oldSessionAnswer(second.url, b)));
  for (const answer of answers)
    if (answer !== '404 no_session') failures.push(`old session: ${answer}`);
  let fresh = 'failed';
  try {
    const session = await create(second.url);
    const term = await openTerminal(second.url, session);
    fresh = (await term.run('true')).exitCode === 0 ? 'works' : 'fails';
    term.close();
  } catch (error) {
    failures.push(`a new session: ${errorText(error)}`);
  }
  if (fresh !== 'works') failures.push(`a new session ${fresh}`);
  const after = afterRestart ? await afterRestart(busy, second) : { notes: [], failures: [] };
  failures.push(...after.failures);
  const extra = after.notes;
  ctx.rec.check(
    `${label}: SIGKILL the server while 2 shells run a foreground job, a background job, a nohup job and a setsid job; restart on the same state folder`,
    `${before} session processes before; ${afterCrash.length} still running 2 s after the kill; ${left.length} after the restart (${ms(restartMs)} after the kill; it killed ${second.events('orphan_processes_killed').reduce((n, e) => n + String(e.pids).split(',').length, 0)} orphans); old sessions answer ${answers[0]}; a new session ${fresh}${extra.length ? `; ${extra.join('; ')}` : ''}`,
    failures,
  );
  for (const b of busy) b.term.close();
}

export async function crashRecovery(ctx: Context): Promise<void> {
  await crashAndRestart(
    ctx,
    'local mode',
    (stateDir) => spawnServer(['--cluster', 'none'], { stateDir, keepState: true }),
    async (url) => createSession(url),
  );

  const cluster = ctx.cluster as TestClusterInfo;
  const instance = uniqueInstance('relcrash');
  ctx.defer(() => deleteInstanceNamespaces(cluster, instance));
  const why = noSandboxReason();
  await crashAndRestart(
    ctx,
    `workshop mode (${why ? `no sandbox: ${why}` : 'bubblewrap sandbox'})`,
    (stateDir) =>
      spawnServer(workshopArgs(cluster, { instance }), {
        stateDir,
        keepState: true,
        env: { PATH: shellPath(cluster) },
      }),
    (url) => createWorkshopSession(url),
    async (busy, restarted) => {
      const old = busy.map((b) => b.namespace);
      const ended = await Promise.all(old.map((ns) => namespaceEnded(cluster, ns)));
      const reconciled = restarted.events('orphans_removed');
      return {
        notes: [
          `the killed server's namespaces: ${ended.filter(Boolean).length}/${old.length} removed at restart (orphans_removed logged: ${reconciled.length > 0})`,
        ],
        failures: old.filter((_, i) => !ended[i]).map((ns) => `${ns} left behind`),
      };
    },
  );
}
