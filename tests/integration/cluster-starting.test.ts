/**
 * `npm start` serves the page while the kind cluster is still being made. The real kind path
 * runs only in the kind tier; here `kind` and `docker` are stand-ins on PATH whose
 * `kind create cluster` waits until the test lets it finish (or fail), and whose cluster is
 * the test cluster. What a reader meets: the page answers at once, health and a new shell say
 * the cluster is being made, and once it is ready kubectl works — in that same shell too.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HealthBody } from '../../sandbox-server/src/shared/protocol.ts';
import { KIND_NAME as NAME, kindStandIns as standIns } from '../support/kind-stand-ins.ts';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { noTestCluster, shellPath } from '../support/workshop-server.ts';

async function health(url: string): Promise<HealthBody> {
  const res = await fetch(`${url}/api/health`);
  assert.equal(res.status, 200);
  return HealthBody.parse(await res.json());
}

/** Asks health until `check` holds (the stand-in's creation ends when the test says). */
async function healthUntil(url: string, check: (h: HealthBody) => boolean): Promise<HealthBody> {
  for (let i = 0; i < 300; i++) {
    const body = await health(url);
    if (check(body)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`health never changed: ${JSON.stringify(await health(url))}`);
}

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(check());
}

async function startWithStandIns(bin: string) {
  return startServerProcess(
    ['--cluster', 'kind', '--kind-name', NAME, '--shell-path', `${bin}:${shellPath}`],
    {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      stderr: 'pipe',
    },
  );
}

test('the server answers while kind makes the cluster, and kubectl works once it is ready', {
  skip: noTestCluster,
}, async () => {
  const { dir, bin } = standIns();
  const server = await startWithStandIns(bin);
  try {
    const starting = await health(server.url);
    assert.equal(starting.cluster.ready, false);
    assert.equal(starting.cluster.starting, true);
    assert.deepEqual(starting.cluster.capabilities, ['docker', 'kind']);
    // The progress is kind's own, line by line, as it comes.
    const progressed = await healthUntil(server.url, (h) =>
      /Ensuring node image/.test(h.cluster.message ?? ''),
    );
    assert.equal(progressed.cluster.starting, true);

    // A shell opened meanwhile says why kubectl does not work yet…
    const session = await createSession(server.url);
    const early = await TerminalClient.open(server.url, session);
    // (open() has waited for the first prompt: the banner came before it)
    assert.match(plain(early.output), /the cluster is not ready yet \(kind: .*"Cluster ready"/);

    writeFileSync(join(dir, 'go'), '');
    const ready = await healthUntil(server.url, (h) => h.cluster.ready);
    assert.equal(ready.cluster.starting, undefined);
    assert.equal(ready.cluster.provider, 'kind');
    // The command line said so too, for whoever watches `npm start`.
    assert.match(server.stderr(), /the kind cluster is still being made/);
    await waitUntil(() => /kubenotes: the cluster is ready\./.test(server.stderr()));

    // …and works once it is, without a new session.
    const inEarly = await early.run('kubectl get namespace default -o name');
    assert.equal(inEarly.exitCode, 0, plain(inEarly.output));
    assert.match(plain(inEarly.output), /namespace\/default/);
    early.close();

    const late = await TerminalClient.open(server.url, await createSession(server.url));
    const inLate = await late.run('kubectl get namespace default -o name');
    assert.equal(inLate.exitCode, 0, plain(inLate.output));
    late.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cluster that cannot be made is reported with why, and the page is still served', {
  skip: noTestCluster,
}, async () => {
  const { dir, bin } = standIns();
  const server = await startWithStandIns(bin);
  try {
    assert.equal((await health(server.url)).cluster.starting, true);
    writeFileSync(join(dir, 'fail'), '');
    const failed = await healthUntil(server.url, (h) => h.cluster.starting !== true);
    assert.equal(failed.cluster.ready, false);
    assert.match(failed.cluster.message ?? '', /did not come up.*kind delete cluster/s);
    assert.ok(server.alive(), 'the server keeps serving the guide');
    await waitUntil(() => /kubenotes: --cluster kind: .*did not come up/.test(server.stderr()));
    const shell = await TerminalClient.open(server.url, await createSession(server.url));
    assert.match(plain(shell.output), /no Kubernetes cluster: --cluster kind: .*did not come up/);
    shell.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
