/**
 * The cluster view against the real API server of the test cluster: what a reader does in the
 * terminal shows up in the view's model (the same model the page keeps), as the ownership
 * tree; and in workshop mode a participant never sees another's objects.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ClusterViewClient } from '../support/cluster-view-client.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  context,
  createRestrictedDeployment,
  kubeconfig,
  noTestCluster,
  shellPath,
  workshopArgs as workshopServer,
} from '../support/workshop-server.ts';

const skip = noTestCluster;

function adminCore(): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig ?? '');
  return config.makeApiClient(CoreV1Api);
}

async function ok(term: TerminalClient, command: string): Promise<string> {
  const result = await term.run(command, 60_000);
  assert.equal(result.exitCode, 0, `${command}: ${plain(result.output)}`);
  return plain(result.output);
}

describe('the cluster view, local mode', { skip }, () => {
  const namespace = `issue-17-view-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'kubenotes-view-'));
  let server: TestServer;
  before(async () => {
    await adminCore().createNamespace({ body: { metadata: { name: namespace } } });
    // The reader's kubeconfig, with this test's namespace as its default.
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig ?? '');
    config.contexts = config.contexts.map((c) => (c.name === context ? { ...c, namespace } : c));
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, config.exportConfig(), { mode: 0o600 });
    server = await startTestServer(
      [
        '--cluster',
        'existing',
        '--kubeconfig',
        file,
        '--context',
        context,
        '--shell-path',
        shellPath,
      ],
      { env: { PATH: shellPath } },
    );
  });
  after(async () => {
    await server?.stop();
    await adminCore()
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('create, scale, roll out, delete a Pod, relabel a Pod: the view follows each step', async () => {
    const session = await createSession(server.url);
    assert.equal(session.namespace, namespace);
    const term = await TerminalClient.open(server.url, session, { cols: 200 });
    const view = new ClusterViewClient(term);
    await view.subscribe();
    assert.equal(view.tree().deployments.length, 0, 'a fresh namespace is empty');

    await ok(term, 'kubectl create deployment web --image=nginx:1.29-alpine --replicas=2');
    await view.until(
      (t) =>
        t.deployments.length === 1 &&
        t.deployments[0]!.replicaSets.length === 1 &&
        t.deployments[0]!.replicaSets[0]!.pods.length === 2,
      'one Deployment, one ReplicaSet, two Pods',
    );
    const first = view.tree().deployments[0]!;
    assert.equal(first.deployment.name, 'web');
    assert.equal(first.replicaSets[0]!.replicaSet.revision, '1');
    assert.deepEqual(first.deployment.selector, 'app=web');

    await ok(term, 'kubectl scale deployment web --replicas=3');
    await view.until(
      (t) => t.deployments[0]?.replicaSets[0]?.pods.length === 3,
      'three Pods after the scale',
    );

    await ok(term, 'kubectl set image deployment/web nginx=nginx:1.30-alpine');
    await view.until(
      (t) => t.deployments[0]?.replicaSets.length === 2,
      'two ReplicaSets after the rollout',
    );
    await view.until((t) => {
      const [newest, old] = t.deployments[0]?.replicaSets ?? [];
      return (
        newest?.replicaSet.revision === '2' &&
        newest.replicaSet.image === 'nginx:1.30-alpine' &&
        newest.pods.length === 3 &&
        old?.replicaSet.replicas === 0 &&
        old.pods.every((p) => p.deleting)
      );
    }, 'the new ReplicaSet with three Pods, the old one scaled to zero');
    await view.until((t) => t.deployments[0]?.replicaSets[1]?.pods.length === 0, 'old Pods gone');

    const before = view.tree().deployments[0]!.replicaSets[0]!.pods.map((p) => p.name);
    await ok(term, `kubectl delete pod ${before[0]} --wait=false`);
    await view.until((t) => {
      const pods = t.deployments[0]?.replicaSets[0]?.pods.filter((p) => !p.deleting) ?? [];
      return pods.length === 3 && !pods.some((p) => p.name === before[0]);
    }, 'a replacement for the deleted Pod');

    const moved = before[1]!;
    await ok(term, `kubectl label pod ${moved} app=debug --overwrite`);
    await view.until(
      (t) =>
        t.pods.some((p) => p.name === moved && p.labels.app === 'debug') &&
        (t.deployments[0]?.replicaSets[0]?.pods.filter((p) => p.name !== moved).length ?? 0) === 3,
      'the relabelled Pod outside its ReplicaSet, and a replacement in it',
    );

    // Events, newest first.
    await view.until(() => view.model.events.length > 0, 'some events');
    const times = view.model.events.map((e) => e.at);
    assert.deepEqual(times, [...times].sort().reverse());
    term.close();
    await endSession(server.url, session);
  });
});

function workshopArgs(instance: string): string[] {
  return workshopServer(instance, 'kube-2026');
}

describe('the cluster view, workshop mode', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(workshopArgs(`v${Date.now().toString(36)}`), {
      env: { PATH: shellPath },
    });
  });
  after(() => server?.stop());

  test("two participants share one watch per kind, and neither sees the other's objects", async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a, { cols: 200 });
    const termB = await TerminalClient.open(server.url, b, { cols: 200 });
    const viewA = new ClusterViewClient(termA);
    const viewB = new ClusterViewClient(termB);
    await viewA.subscribe();
    await viewB.subscribe();

    // Deployments that Pod Security `restricted`, the namespaces' default level, admits.
    await ok(termA, createRestrictedDeployment('only-a', 2));
    await ok(termB, createRestrictedDeployment('only-b'));
    await viewA.until(
      (t) => t.deployments[0]?.replicaSets[0]?.pods.length === 2,
      "A's Deployment with its two Pods",
    );
    await viewB.until(
      (t) => t.deployments[0]?.replicaSets[0]?.pods.length === 1,
      "B's Deployment with its Pod",
    );
    const names = (v: ClusterViewClient) => [...v.model.objects.values()].map((o) => o.name);
    assert.ok(
      names(viewA).every((n) => !n.startsWith('only-b')),
      names(viewA).join(' '),
    );
    assert.ok(
      names(viewB).every((n) => !n.startsWith('only-a')),
      names(viewB).join(' '),
    );
    assert.ok(
      [...termB.messages].every((m) => !JSON.stringify(m).includes('only-a')),
      "no message to B names A's objects",
    );
    // Six kinds (Deployments, ReplicaSets, Pods, Services, EndpointSlices, Events): one watch
    // each, however many participants watch.
    assert.ok(
      server.clusterViews.counters.watches <= 6,
      `watches open: ${server.clusterViews.counters.watches}`,
    );
    termA.close();
    termB.close();
    for (const s of [a, b]) await endSession(server.url, s);
    // Ended sessions' namespaces are not kept: 300 participants come and go in a day.
    for (let i = 0; i < 100 && server.clusterViews.namespacesHeld > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(server.clusterViews.namespacesHeld, 0);
  });
});
