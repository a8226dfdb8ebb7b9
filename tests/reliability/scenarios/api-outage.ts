/**
 * The Kubernetes API server stops in the middle of a workshop session, then comes back. The
 * server reaches the test cluster through a TCP relay that the scenario stops and restarts
 * (the real API server is shared with other test runs). While it is down: kubectl in the
 * shell fails with a clear message, health says the cluster is not ready, a new session gets
 * a 503 that says why; the shell itself lives on. After: everything works again, and a session
 * that ended during the outage does not leave its namespace behind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plain, type TerminalClient } from '../../support/terminal-client.ts';
import { type Context, errorText, sleep, type TestClusterInfo } from '../lib/context.ts';
import { ms } from '../lib/report.ts';
import { spawnServer } from '../lib/server-process.ts';
import { TcpProxy } from '../lib/tcp-proxy.ts';
import { deleteSession, openTerminal } from '../lib/terminal.ts';
import {
  createWorkshopSession,
  deleteInstanceNamespaces,
  namespaceEnded,
  shellPath,
  uniqueInstance,
  workshopArgs,
} from '../lib/workshop.ts';

async function health(url: string): Promise<{ status: number; ready: boolean; message: string }> {
  const res = await fetch(`${url}/api/health`);
  const body = await res.json();
  return { status: res.status, ready: body.cluster?.ready, message: body.cluster?.message ?? '' };
}

/** Polls until `check` holds; resolves with how long it took, or NaN after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return performance.now() - started;
    await sleep(250);
  }
  return Number.NaN;
}

async function kubectl(term: TerminalClient): Promise<{ code: number | undefined; text: string }> {
  const result = await term.run('kubectl get pods --request-timeout=5s', 30_000);
  return { code: result.exitCode, text: plain(result.output).trim() };
}

export async function apiOutage(ctx: Context): Promise<void> {
  const cluster = ctx.cluster as TestClusterInfo;
  const original = readFileSync(cluster.kubeconfig, 'utf8');
  const server = /server:\s*https:\/\/127\.0\.0\.1:(\d+)/.exec(original);
  if (!server) throw new Error('the test kubeconfig names no https://127.0.0.1 server');
  const proxy = new TcpProxy({ host: '127.0.0.1', port: Number(server[1]) });
  await proxy.start();
  ctx.defer(() => proxy.stop());
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-outage-'));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    original.replace(server[0], `server: https://127.0.0.1:${proxy.port}`),
    {
      mode: 0o600,
    },
  );
  const instance = uniqueInstance('relout');
  ctx.defer(() => deleteInstanceNamespaces(cluster, instance));
  const sandbox = await spawnServer(workshopArgs(cluster, { instance, kubeconfig }), {
    env: { PATH: shellPath(cluster) },
  });
  ctx.defer(() => sandbox.stop());

  const a = await createWorkshopSession(sandbox.url);
  const b = await createWorkshopSession(sandbox.url);
  const term = await openTerminal(sandbox.url, a, { cols: 200 });
  const before = await kubectl(term);
  const healthBefore = await health(sandbox.url);
  const pidBefore = plain((await term.run('echo "pid=$$"')).output);
  ctx.rec.check(
    'before: kubectl in a workshop shell (through the relay), health',
    `kubectl exit ${before.code}; health 200, cluster ready: ${healthBefore.ready}`,
    [
      ...(before.code === 0 ? [] : [`kubectl failed: ${before.text.slice(0, 200)}`]),
      ...(healthBefore.ready ? [] : ['health says not ready']),
    ],
  );

  // Down.
  await proxy.stop();
  const downAt = performance.now();
  const failures: string[] = [];
  const during = await kubectl(term);
  if (during.code === 0) failures.push('kubectl succeeded with the API server down');
  const clear = /Unable to connect to the server|refused/i.test(during.text);
  if (!clear) failures.push(`kubectl's message is not clear: ${during.text.slice(0, 200)}`);
  const notReadyAfter = await until(async () => !(await health(sandbox.url)).ready, 15_000);
  const healthDown = await health(sandbox.url);
  if (!Number.isFinite(notReadyAfter)) failures.push('health still says ready after 15 s');
  if (healthDown.status !== 200) failures.push(`health answered ${healthDown.status}`);
  const create = await fetch(`${sandbox.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinCode: 'reliability-2026' }),
  });
  const createBody = await create.json().catch(() => ({}));
  if (create.status !== 503 || createBody.error?.code !== 'cluster_unavailable') {
    failures.push(`a new session got ${create.status} ${JSON.stringify(createBody).slice(0, 200)}`);
  }
  if (!create.headers.get('retry-after')) failures.push('the 503 has no Retry-After');
  // A session that ends while the API is down.
  const endedDuring = await deleteSession(sandbox.url, b);
  if (endedDuring !== 204) failures.push(`DELETE during the outage answered ${endedDuring}`);
  const alive = plain((await term.run('echo "pid=$$"')).output);
  if (alive.trim() !== pidBefore.trim()) failures.push('the shell did not survive the outage');
  ctx.rec.check(
    'API server down (relay stopped): kubectl in the shell, health, a new session, the shell',
    `kubectl exit ${during.code}: "${during.text.split('\n')[0]?.slice(0, 90)}"; health 200 with ready: false after ${ms(notReadyAfter)} (status is cached 5 s); new session ${create.status} ${createBody.error?.code ?? ''} (Retry-After ${create.headers.get('retry-after')}); same shell still answers`,
    failures,
  );

  // Up again, on the same address.
  await proxy.start();
  const upFailures: string[] = [];
  const downFor = performance.now() - downAt;
  let after = await kubectl(term);
  const kubectlBack = await until(async () => {
    after = await kubectl(term);
    return after.code === 0;
  }, 20_000);
  if (!Number.isFinite(kubectlBack))
    upFailures.push(`kubectl still fails: ${after.text.slice(0, 200)}`);
  const readyAfter = await until(async () => (await health(sandbox.url)).ready, 20_000);
  if (!Number.isFinite(readyAfter)) upFailures.push('health still says not ready after 20 s');
  let fresh: { namespace: string } | undefined;
  try {
    const c = await createWorkshopSession(sandbox.url);
    fresh = c;
    const t = await openTerminal(sandbox.url, c, { cols: 200 });
    const k = await kubectl(t);
    if (k.code !== 0) upFailures.push(`kubectl in a new session failed: ${k.text.slice(0, 200)}`);
    t.close();
    await deleteSession(sandbox.url, c);
  } catch (error) {
    upFailures.push(`a new session: ${errorText(error)}`);
  }
  // The namespace of the session that ended during the outage goes once the API is back.
  const leftoverGone = await until(() => namespaceEnded(cluster, b.namespace), 30_000);
  if (!Number.isFinite(leftoverGone)) {
    upFailures.push(
      `${b.namespace} (its session ended during the outage) is still there 30 s later`,
    );
  }
  ctx.rec.check(
    `API server back after ${(downFor / 1000).toFixed(1)} s: the same shell, health, a new session, the ended session's namespace`,
    `kubectl works again after ${ms(kubectlBack)}; health ready after ${ms(readyAfter)}; new session ${fresh ? 'made, its kubectl works' : 'failed'}; namespace of the session ended during the outage removed after ${ms(leftoverGone)}`,
    upFailures,
  );
  term.close();
}
