/**
 * Workshop tenancy against the real API server of the test cluster: a namespace per session,
 * scoped credentials that end with the session, quotas, and nothing left behind after a crash.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startConnectProxy } from '../support/connect-proxy.ts';
import { startServerProcess } from '../support/server-process.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  kubeconfig,
  kubectlDir,
  noTestCluster,
  restrictedOverrides,
  shellPath,
  UNPRIVILEGED_NGINX,
  workshopArgs as workshopServer,
} from '../support/workshop-server.ts';

const skip = noTestCluster;

function admin(): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig ?? '');
  return config.makeApiClient(CoreV1Api);
}

/** The namespace is gone, or on its way out. */
async function namespaceEnded(name: string): Promise<boolean> {
  try {
    const ns = await admin().readNamespace({ name });
    return ns.status?.phase === 'Terminating';
  } catch (error) {
    return (error as { code?: number }).code === 404;
  }
}

const restricted = (name: string) => restrictedOverrides(name);

function workshopArgs(instance: string, extra: string[] = []): string[] {
  // Restricted is the default; these tests name it, so that they hold it whatever the default.
  return workshopServer(instance, 'kube-2026', ['--pod-security', 'restricted', ...extra]);
}

describe('workshop tenancy', { skip }, () => {
  let server: TestServer;
  const instance = `t${Date.now().toString(36)}`;
  before(async () => {
    server = await startTestServer(
      workshopArgs(instance, ['--quota-pods', '5', '--max-sessions', '3']),
      {
        env: { PATH: shellPath },
      },
    );
  });
  after(() => server?.stop());

  test('a wrong or missing join code is 401; the right one gets a namespace of its own', async () => {
    for (const body of [{}, { joinCode: 'nope' }]) {
      const res = await fetch(`${server.url}/api/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, 'wrong_join_code');
    }
    const health = await fetch(`${server.url}/api/health`).then((r) => r.json());
    assert.equal(health.mode, 'workshop');
    assert.equal(health.joinCodeRequired, true);
  });

  test('A cannot touch B or anything cluster-wide; A works in its own namespace; quota holds', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    assert.notEqual(a.namespace, b.namespace);
    assert.match(a.namespace, /^kn-/);
    const term = await TerminalClient.open(server.url, a, { cols: 200 });

    const ns = await term.run('kubectl config view --minify -o jsonpath="{..namespace}"; echo');
    assert.match(plain(ns.output), new RegExp(a.namespace));

    const mine = await term.run(
      `kubectl run own-pod --image=${UNPRIVILEGED_NGINX} --restart=Never ${restricted('own-pod')}`,
    );
    assert.equal(mine.exitCode, 0, plain(mine.output));
    // What the chapters read in their own namespace (the Services chapter: EndpointSlices).
    for (const command of ['kubectl get endpointslices', 'kubectl get events']) {
      const result = await term.run(command);
      assert.equal(result.exitCode, 0, `${command}: ${plain(result.output)}`);
    }

    const denied: [string, RegExp][] = [
      [`kubectl get pods -n ${b.namespace}`, /forbidden/i],
      [`kubectl run intruder --image=nginx -n ${b.namespace}`, /forbidden/i],
      ['kubectl get nodes', /forbidden/i],
      ['kubectl get namespaces', /forbidden/i],
      ['kubectl create namespace escape', /forbidden/i],
      [
        'kubectl create clusterrolebinding me --clusterrole=cluster-admin --serviceaccount=x:y',
        /forbidden/i,
      ],
      ['kubectl get secrets -n kube-system', /forbidden/i],
    ];
    for (const [command, message] of denied) {
      const result = await term.run(command);
      assert.notEqual(result.exitCode, 0, command);
      assert.match(plain(result.output), message, command);
    }

    // The quota (5 pods here) stops a pod flood.
    const flood = await term.run(
      `(for i in 1 2 3 4 5 6 7; do kubectl run flood-$i --image=${UNPRIVILEGED_NGINX} --restart=Never ${restricted('f')} || exit 9; done)`,
    );
    assert.equal(flood.exitCode, 9);
    assert.match(plain(flood.output), /exceeded quota/);
    term.close();
    for (const s of [a, b]) {
      await endSession(server.url, s);
    }
  });

  test('a participant cannot write Endpoints, nor give a Service externalIPs (the admission policy says why)', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const term = await TerminalClient.open(server.url, a, { cols: 250 });
    // CVE-2021-25740: a selector-less Service with hand-made Endpoints could point anywhere.
    const endpoints = await term.run(
      `kubectl create -f - <<'EOF'
{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"steal"},"subsets":[{"addresses":[{"ip":"10.0.0.9"}],"ports":[{"port":80}]}]}
EOF`,
    );
    assert.notEqual(endpoints.exitCode, 0, plain(endpoints.output));
    assert.match(plain(endpoints.output), /forbidden/i);
    const canRead = await term.run('kubectl auth can-i list endpoints');
    assert.match(plain(canRead.output), /yes/);
    // CVE-2020-8554: externalIPs take traffic meant for any address. The policy may take a
    // moment to reach the API server's admission after it is made: ask until it answers.
    const service = (name: string) =>
      `kubectl create -f - <<'EOF'
{"apiVersion":"v1","kind":"Service","metadata":{"name":"${name}"},"spec":{"ports":[{"port":80}],"externalIPs":["10.0.0.9"]}}
EOF`;
    let external = await term.run(service('grab'));
    for (let i = 0; i < 20 && external.exitCode === 0; i++) {
      await term.run('kubectl delete service grab');
      await sleep(500);
      external = await term.run(service('grab'));
    }
    assert.notEqual(external.exitCode, 0, plain(external.output));
    assert.match(plain(external.output), /ValidatingAdmissionPolicy.*denied/i);
    assert.match(plain(external.output), /may not give a Service externalIPs/);
    const plainService = await term.run('kubectl create service clusterip ok --tcp=80:80');
    assert.equal(plainService.exitCode, 0, plain(plainService.output));
    term.close();
    await endSession(server.url, a);
  });

  test('Pod Security restricted: a root-capable pod is refused with the reason, a restricted one runs; ephemeral storage and object counts are in the quota', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const term = await TerminalClient.open(server.url, a, { cols: 250 });
    const loose = await term.run('kubectl run loose --image=nginx:1.29-alpine --restart=Never');
    assert.notEqual(loose.exitCode, 0, plain(loose.output));
    assert.match(plain(loose.output), /violates PodSecurity "restricted:latest"/);
    assert.match(plain(loose.output), /allowPrivilegeEscalation|runAsNonRoot|seccompProfile/);
    const tidy = await term.run(
      `kubectl run tidy --image=${UNPRIVILEGED_NGINX} --restart=Never ${restricted('tidy')}`,
    );
    assert.equal(tidy.exitCode, 0, plain(tidy.output));
    // The LimitRange gives every container ephemeral storage, so the quota can count it.
    const storage = await term.run(
      "kubectl get pod tidy -o jsonpath='{.spec.containers[0].resources.limits.ephemeral-storage}'; echo",
    );
    assert.match(plain(storage.output), /256Mi/);
    const hard = await term.run(
      "kubectl get resourcequota -o jsonpath='{.items[0].spec.hard}'; echo",
    );
    for (const key of [
      'requests.ephemeral-storage',
      'limits.ephemeral-storage',
      'count/statefulsets.apps',
      'count/cronjobs.batch',
      'count/controllerrevisions.apps',
      'count/daemonsets.apps',
    ]) {
      assert.ok(plain(hard.output).includes(`"${key}"`), `${key} in ${plain(hard.output)}`);
    }
    const cronjobs = await term.run(
      "(for i in 1 2 3 4 5 6; do kubectl create cronjob c-$i --image=busybox --schedule='0 0 1 1 *' -- true || exit 9; done)",
    );
    assert.equal(cronjobs.exitCode, 9, plain(cronjobs.output));
    assert.match(plain(cronjobs.output), /exceeded quota.*count\/cronjobs\.batch/);
    term.close();
    await endSession(server.url, a);
  });

  test("A's shell sees neither the server's kubeconfig, nor B's home, nor a Docker socket", async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a, { cols: 200 });
    const termB = await TerminalClient.open(server.url, b, { cols: 200 });
    const homeB = plain((await termB.run('echo "$HOME"')).output).trim();
    await termB.run('echo secret-of-b > ~/notes.txt');
    const attempts = [
      `cat ${kubeconfig}`,
      `cat ${homeB}/notes.txt`,
      `cat ${homeB}/.kube/config`,
      'ls -l /var/run/docker.sock',
      'ls /root',
      `kill -0 ${process.pid}`,
      'touch /usr/escape',
    ];
    for (const command of attempts) {
      const result = await termA.run(command);
      assert.notEqual(result.exitCode, 0, `${command} should fail: ${plain(result.output)}`);
      assert.doesNotMatch(plain(result.output), /secret-of-b|client-key-data|BEGIN/, command);
    }
    const who = plain((await termA.run('id -u')).output).trim();
    assert.notEqual(who, '0', 'the shell is not root');
    assert.notEqual(
      who,
      plain((await termB.run('id -u')).output).trim(),
      'each session has its own uid',
    );
    termA.close();
    termB.close();
    for (const s of [a, b]) {
      await endSession(server.url, s);
    }
  });

  test('a fork bomb in A leaves B working and a new session able to start', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a);
    const termB = await TerminalClient.open(server.url, b);
    // Bounded: it stops by itself once fork fails.
    const bomb = await termA.run(
      'for i in $(seq 1 500); do sleep 5 & done 2>&1 | tail -1; jobs -p | wc -l',
      60_000,
    );
    assert.match(plain(bomb.output), /fork|Resource temporarily unavailable|retry/i);
    const fine = await termB.run(
      'for i in 1 2 3 4 5; do sleep 0.1 & done; wait; echo b-still-works',
    );
    assert.match(plain(fine.output), /b-still-works/);
    termA.close();
    termB.close();
    for (const s of [a, b]) {
      await endSession(server.url, s);
    }
    const c = await createSession(server.url, { joinCode: 'kube-2026' });
    const termC = await TerminalClient.open(server.url, c);
    assert.equal((await termC.run('true')).exitCode, 0);
    termC.close();
    await endSession(server.url, c);
  });

  test('ending A deletes its namespace and its token stops working', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const term = await TerminalClient.open(server.url, a);
    const token = plain(
      (await term.run("kubectl config view --raw -o jsonpath='{.users[0].user.token}'; echo"))
        .output,
    ).trim();
    assert.ok(token.length > 100, 'a ServiceAccount token');
    const shellServer = plain(
      (
        await term.run(
          "kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}'; echo",
        )
      ).output,
    ).trim();
    // The shell has a network of its own, and reaches the cluster through the relay in it.
    assert.equal(shellServer, 'https://127.0.0.1:6443');
    term.close();
    const cluster = new KubeConfig();
    cluster.loadFromFile(kubeconfig ?? '');
    const apiServer = cluster.getCurrentCluster()?.server ?? '';

    const res = await endSession(server.url, a);
    assert.equal(res.status, 204);
    for (let i = 0; i < 50 && !(await namespaceEnded(a.namespace)); i++) await sleep(100);
    assert.ok(await namespaceEnded(a.namespace), 'the namespace is deleted');
    // The token belonged to a ServiceAccount that no longer exists: refused, once the API
    // server's caches have caught up (seconds).
    const tryToken = async () => {
      const check = spawn(
        join(kubectlDir ?? '', 'kubectl'),
        [
          '--server',
          apiServer,
          '--token',
          token,
          '--insecure-skip-tls-verify',
          'get',
          'pods',
          '-n',
          a.namespace,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      check.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exit = await new Promise<number | null>((resolve) => check.on('exit', resolve));
      return { exit, stderr };
    };
    let attempt = await tryToken();
    for (let i = 0; i < 30 && attempt.exit === 0; i++) {
      await sleep(500);
      attempt = await tryToken();
    }
    const { exit: code, stderr: err } = attempt;
    assert.notEqual(code, 0);
    assert.match(err, /Unauthorized|forbidden|must be logged in/i);
  });

  test('with a cap of 3 from the settings, a fourth session gets 503 with Retry-After', async () => {
    const health = await fetch(`${server.url}/api/health`).then((r) => r.json());
    assert.equal(health.sessions.max, 3);
    const made = [];
    for (let i = health.sessions.active; i < 3; i++)
      made.push(await createSession(server.url, { joinCode: 'kube-2026' }));
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ joinCode: 'kube-2026' }),
    });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  });
});

describe('crash recovery', { skip }, () => {
  test('after SIGKILL and a restart, the namespaces the crash left behind are removed', async () => {
    const instance = `crash${Date.now().toString(36)}`;
    const start = () => startServerProcess(workshopArgs(instance), { env: { PATH: shellPath } });
    const first = await start();
    const url = first.url;
    const sessions = [
      await createSession(url, { joinCode: 'kube-2026' }),
      await createSession(url, { joinCode: 'kube-2026' }),
    ];
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    for (const s of sessions)
      assert.equal(await namespaceEnded(s.namespace), false, 'left behind by the crash');

    const second = await start();
    for (const s of sessions)
      assert.ok(await namespaceEnded(s.namespace), `${s.namespace} removed on restart`);
    assert.match(second.logs(), /"event":"orphans_removed"/);
    await second.stop();
  });
});

describe('shells as pods', { skip }, () => {
  test('with --shell-pod-image the shell runs in a pod of the session namespace, through the exec API', async () => {
    // A task, to show that its check says why it cannot run beside a shell in a pod.
    const tasksDir = mkdtempSync(join(tmpdir(), 'kubenotes-pod-tasks-'));
    const tasksFile = join(tasksDir, 'tasks.json');
    writeFileSync(
      tasksFile,
      JSON.stringify({
        version: 1,
        chapters: { pods: { anything: { title: 'T', line: 1, check: 'exit 0', variables: {} } } },
      }),
    );
    const server = await startTestServer(
      workshopArgs(`pod${Date.now().toString(36)}`, [
        '--shell-pod-image',
        'debian:bookworm-slim',
        '--tasks',
        tasksFile,
      ]),
      { env: { PATH: shellPath } },
    );
    try {
      const session = await createSession(server.url, { joinCode: 'kube-2026' });
      const admin = new KubeConfig();
      admin.loadFromFile(kubeconfig ?? '');
      const pod = await admin
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ name: 'shell', namespace: session.namespace });
      assert.equal(pod.spec?.serviceAccountName, 'participant');
      const term = await TerminalClient.open(server.url, session);
      const ran = await term.run('echo "pod-shell-$((40+2))"');
      assert.equal(ran.exitCode, 0);
      assert.match(plain(ran.output), /pod-shell-42/);
      assert.equal((await term.run('(exit 3)')).exitCode, 3);
      // Checks run on this machine, beside the shell; a shell in a pod has no such place.
      term.send({ type: 'check', chapter: 'pods', tasks: ['anything'] });
      await term.waitFor(() => term.messages.some((m) => m.type === 'task'), 15_000, 'the answer');
      const answer = term.messages.find((m) => m.type === 'task');
      assert.equal(answer?.type === 'task' && answer.state, 'error');
      assert.equal(answer?.type === 'task' && answer.code, 'unavailable');
      assert.match(answer?.type === 'task' ? answer.message : '', /shells in pods/);
      term.close();
    } finally {
      await server.stop();
      rmSync(tasksDir, { recursive: true, force: true });
    }
  });
});

describe('a cluster reached only through a proxy', { skip }, () => {
  test("workshop shells reach it: the relay goes through the kubeconfig's proxy-url", async () => {
    // The kubeconfig names a host no resolver knows; only the proxy maps it (to the test
    // cluster), so nothing that skips the proxy can reach the API server.
    const hidden = 'api.behind-proxy.invalid';
    const proxy = await startConnectProxy({
      resolve: (host) => (host === hidden ? '127.0.0.1' : host),
    });
    const original = new KubeConfig();
    original.loadFromFile(kubeconfig ?? '');
    const cluster = original.getCurrentCluster()!;
    const apiPort = new URL(cluster.server).port;
    const proxied = new KubeConfig();
    proxied.loadFromOptions({
      clusters: original.clusters.map((c) =>
        c.name === cluster.name
          ? {
              ...c,
              server: `https://${hidden}:${apiPort}`,
              // A name the API server's certificate carries.
              tlsServerName: 'kubernetes',
              proxyUrl: `http://127.0.0.1:${proxy.port}`,
            }
          : c,
      ),
      users: original.users,
      contexts: original.contexts,
      currentContext: original.currentContext,
    });
    const dir = mkdtempSync(join(tmpdir(), 'kubenotes-proxied-'));
    const proxiedFile = join(dir, 'kubeconfig');
    writeFileSync(proxiedFile, proxied.exportConfig(), { mode: 0o600 });

    const server = await startTestServer(
      workshopArgs(`p${Date.now().toString(36)}`).map((arg) =>
        arg === kubeconfig ? proxiedFile : arg,
      ),
      { env: { PATH: shellPath } },
    );
    try {
      const session = await createSession(server.url, { joinCode: 'kube-2026' });
      const term = await TerminalClient.open(server.url, session, { cols: 200 });
      const before = proxy.targets().length;
      const pods = await term.run('kubectl get pods');
      assert.equal(pods.exitCode, 0, plain(pods.output));
      assert.match(plain(pods.output), /No resources found/);
      assert.ok(
        proxy.targets().slice(before).includes(`${hidden}:${apiPort}`),
        `kubectl's connection went through the proxy (tunnels: ${proxy.targets().join(', ')})`,
      );
      term.close();
      await endSession(server.url, session);
    } finally {
      await server.stop();
      proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the test cluster is not for workshops', { skip }, () => {
  test('workshop mode refuses the test cluster without the test-only flag, and says why', async () => {
    // Its kubectl exec runs commands on this machine, and its etcd has no authentication.
    let refusal: unknown;
    const started = await startTestServer(workshopArgs(`guard${Date.now().toString(36)}`), {
      env: { PATH: shellPath, KUBENOTES_ALLOW_TEST_CLUSTER: '' },
    }).catch((error: unknown) => {
      refusal = error;
    });
    await started?.stop();
    assert.match(
      String(refusal),
      /test cluster \(kwok-kubenotes-test\).*kubectl exec runs commands on this machine/,
    );
  });
});
