/**
 * "Reset my namespace" in a workshop, against the test cluster: what the participant made is
 * deleted with their own credentials; the tenancy's objects stay, another participant's
 * namespace is untouched, and the session forgets its progress.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  NamespaceResetMessage,
  RecordMessage,
} from '../../sandbox-server/src/shared/protocol.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  createRestrictedDeployment,
  kubeconfig,
  kubectlDir,
  noTestCluster,
  runRestrictedPod,
  shellPath,
  workshopArgs,
} from '../support/workshop-server.ts';

const skip = noTestCluster;

/** kubectl as the cluster's admin (the test's view, not the participant's). */
function adminKubectl(...args: string[]): string {
  const kubectl = kubectlDir ? join(kubectlDir, 'kubectl') : 'kubectl';
  const ran = spawnSync(kubectl, ['--kubeconfig', kubeconfig ?? '', ...args], {
    encoding: 'utf8',
  });
  assert.equal(ran.status, 0, ran.stderr);
  return ran.stdout.trim();
}

const WHAT_A_PARTICIPANT_MAKES = 'deployments,replicasets,pods,services,configmaps,jobs';

describe('reset my namespace', { skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      workshopArgs(
        `rn${Date.now().toString(36)}`,
        'kube-2026',
        kubectlDir ? ['--sandbox-read-only', kubectlDir] : [],
      ),
      { env: { PATH: shellPath } },
    );
  });
  after(async () => {
    await server?.stop();
  });

  test("removes what the participant made, keeps the tenancy's objects and another participant's, and forgets the progress", async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a, { cols: 200 });
    const termB = await TerminalClient.open(server.url, b, { cols: 200 });
    for (const line of [
      createRestrictedDeployment('web', 2),
      'kubectl create service clusterip web --tcp=80',
      'kubectl create configmap settings --from-literal=colour=blue',
      runRestrictedPod('solo'),
      'kubectl create job once --image=busybox:1.37 -- true',
    ]) {
      const ran = await termA.run(line);
      assert.equal(ran.exitCode, 0, plain(ran.output));
    }
    assert.equal((await termB.run(runRestrictedPod('b-keeps'))).exitCode, 0);
    termA.send({ type: 'progress', page: '/pods/', snippet: 'pods-1', state: 'succeeded' });
    const tenancy = () =>
      adminKubectl(
        'get',
        'roles,rolebindings,serviceaccounts,resourcequotas,limitranges,networkpolicies',
        '-n',
        a.namespace,
        '-o',
        'name',
      )
        .split('\n')
        .filter((name) => !name.endsWith('/default'))
        .sort();
    const tenancyBefore = tenancy();
    assert.ok(tenancyBefore.length >= 6, tenancyBefore.join(', '));

    const from = termA.messages.length;
    termA.send({ type: 'reset-namespace' });
    let answer: NamespaceResetMessage | undefined;
    await termA.waitFor(
      () => {
        answer = termA.messages
          .slice(from)
          .find((m): m is NamespaceResetMessage => m.type === 'namespace-reset');
        return answer !== undefined;
      },
      60_000,
      'the reset',
    );
    assert.equal(answer?.state, 'done', answer?.message);
    const removed = answer!.removed.map((o) => `${o.kind} ${o.name}`);
    for (const object of [
      'Deployment web',
      'Service web',
      'ConfigMap settings',
      'Pod solo',
      'Job once',
    ]) {
      assert.ok(removed.includes(object), `${object} in ${removed.join(', ')}`);
    }
    assert.match(answer!.message, /^Removed 1 Deployment \(web\)/);
    // Then the record: the session forgot what was done.
    await termA.waitFor(
      () =>
        termA.messages
          .slice(from)
          .some((m): m is RecordMessage => m.type === 'record' && m.steps.length === 0),
      5000,
      'the empty record',
    );

    // The answer waits until it is all gone: Pods included, after their grace period, and
    // what the garbage collector removes.
    const left = () =>
      adminKubectl('get', WHAT_A_PARTICIPANT_MAKES, '-n', a.namespace, '-o', 'name')
        .split('\n')
        .filter((name) => name && name !== 'configmap/kube-root-ca.crt');
    // On the test cluster everything goes well within the wait.
    assert.doesNotMatch(answer!.message, /Still shutting down/);
    assert.deepEqual(left(), [], answer!.message);
    // So the chapter's Pod can be made again at once, under the same name.
    const again = await termA.run(runRestrictedPod('solo'));
    assert.equal(again.exitCode, 0, plain(again.output));
    assert.deepEqual(tenancy(), tenancyBefore);
    assert.equal(
      adminKubectl('get', 'pod', 'b-keeps', '-n', b.namespace, '-o', 'name'),
      'pod/b-keeps',
    );
    // The shell still works, and can make things again.
    assert.equal((await termA.run('kubectl create configmap again')).exitCode, 0);

    termA.close();
    termB.close();
    for (const s of [a, b]) await endSession(server.url, s);
  });

  test('a sandbox without a namespace per participant says why it cannot reset', async () => {
    const local = await startTestServer(['--cluster', 'none']);
    try {
      const session = await createSession(local.url);
      const term = await TerminalClient.open(local.url, session);
      const from = term.messages.length;
      term.send({ type: 'reset-namespace' });
      await term.waitFor(
        () => term.messages.slice(from).some((m) => m.type === 'namespace-reset'),
        5000,
        'the answer',
      );
      const answer = term.messages
        .slice(from)
        .find((m): m is NamespaceResetMessage => m.type === 'namespace-reset');
      assert.equal(answer?.state, 'error');
      assert.match(answer?.message ?? '', /only workshops do/);
      term.close();
    } finally {
      await local.stop();
    }
  });
});
