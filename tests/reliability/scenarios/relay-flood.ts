/**
 * One participant floods the API relay: ten processes in their shell open connections to the
 * relay's socket in a loop, up to a thousand each, and hold them for 12 s — what once took the
 * server to its open-file limit, so that health gave an empty reply and every new session
 * failed. Meanwhile another participant types, a new session starts and runs kubectl, and
 * health answers; the server's descriptors stay near the flooder's cap.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plain } from '../../support/terminal-client.ts';
import { type Context, errorText, sleep, type TestClusterInfo } from '../lib/context.ts';
import { ECHO_COMMAND, EchoSession } from '../lib/echo.ts';
import { ms, percentile } from '../lib/report.ts';
import { spawnServer } from '../lib/server-process.ts';
import { openTerminal } from '../lib/terminal.ts';
import {
  createWorkshopSession,
  deleteInstanceNamespaces,
  newcomerDuring,
  noSandboxReason,
  shellPath,
  uniqueInstance,
  workshopArgs,
} from '../lib/workshop.ts';

/** Straight to the relay's socket, as a script would (no socat, no kubectl). */
const FLOOD = `import os, socket, time
kids = []
for _ in range(10):
    pid = os.fork()
    if pid == 0:
        held, end = [], time.time() + 12
        while time.time() < end and len(held) < 1000:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect('/run/kubenotes/api.sock')
                held.append(s)
            except OSError:
                s.close()
                time.sleep(0.01)
        time.sleep(max(0, end - time.time()))
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print('flood-over')
`;

const CAP = 64;

function openDescriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

export async function relayFlood(ctx: Context): Promise<void> {
  const why = noSandboxReason();
  if (why) {
    ctx.rec.add('one participant floods the API relay', '—', 'skip', `cannot sandbox here: ${why}`);
    return;
  }
  const cluster = ctx.cluster as TestClusterInfo;
  const instance = uniqueInstance('relflood');
  ctx.defer(() => deleteInstanceNamespaces(cluster, instance));
  const server = await spawnServer(
    workshopArgs(cluster, {
      instance,
      extra: ['--max-sessions', '6', '--sandbox-api-connections', String(CAP)],
    }),
    { env: { PATH: shellPath(cluster) } },
  );
  ctx.defer(() => server.stop());
  const a = await createWorkshopSession(server.url);
  const b = await createWorkshopSession(server.url);
  const termA = await openTerminal(server.url, a, { cols: 200 });
  const termB = await openTerminal(server.url, b, { cols: 200 });
  const failures: string[] = [];
  const hasPython = (await termA.run('command -v python3')).exitCode === 0;
  if (!hasPython) {
    ctx.rec.add('one participant floods the API relay', '—', 'skip', 'no python3 on this host');
    return;
  }
  // Root writes the script into A's home (its own tmpfs), as A could have typed it.
  writeFileSync(join(server.stateDir, 'sessions', a.id, 'flood.py'), FLOOD, { mode: 0o644 });
  const before = openDescriptors(server.pid);

  const echoB = new EchoSession(termB, 'B');
  termB.type(ECHO_COMMAND);
  await sleep(500);
  termA.type('python3 ~/flood.py\r');
  let most = before;
  const sampler = setInterval(() => {
    most = Math.max(most, openDescriptors(server.pid));
  }, 100);
  await sleep(3000);
  const bTyping = echoB.typeUntil(performance.now() + 6000).catch((error: unknown) => {
    failures.push(`B: ${errorText(error)}`);
  });
  const { fresh, failure, health } = await newcomerDuring(
    server.url,
    'the flood',
    'kubectl get pods --request-timeout=20s',
    40_000,
  );
  if (failure) failures.push(failure);
  await bTyping;
  await termA.waitFor(() => termA.output.includes('flood-over'), 30_000, 'the flood to end');
  clearInterval(sampler);
  if (health !== 200) failures.push(`health ${health} during the flood`);
  failures.push(...echoB.errors.map((e) => `B: ${e}`));
  if (echoB.verifiedBytes !== echoB.sentBytes) failures.push('B lost bytes');
  // The flooder's relayed connections hold two descriptors each; the rest is slack for the
  // other sessions' sockets, ptys and the new session made meanwhile.
  const bound = before + 2 * CAP + 150;
  if (most > bound) failures.push(`the server held ${most} descriptors (bound ${bound})`);
  const refusals = server.events('api_relay_session_full').length;
  if (refusals === 0) failures.push('the relay never refused the flood');
  await sleep(500);
  const after = await termA.run('kubectl get pods --request-timeout=20s', 40_000);
  if (after.exitCode !== 0) {
    failures.push(`A's kubectl fails after the flood: ${plain(after.output).slice(0, 160)}`);
  }
  if (!server.alive()) failures.push('the server died');
  ctx.rec.check(
    "A opens 10 × 1,000 connections straight to the relay's socket and holds them 12 s",
    `server descriptors ${before} → at most ${most} (A's cap ${CAP} connections); B echoed ${echoB.latencies.length} lines intact (p99 ${ms(percentile(echoB.latencies, 99))}); a new session was ${fresh}; health ${health}; after the flood A's kubectl ${after.exitCode === 0 ? 'works' : 'fails'}`,
    failures,
  );
  termA.close();
  termB.close();
}
