/**
 * Tasks' checks in workshop mode, against the test cluster: a check runs as the participant,
 * in their sandbox (their uid, their namespace's credentials), and sees no more than their
 * shell does: not another participant's namespace, not the server's files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SessionSummary, TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import type { TaskManifest } from '../../src/snippets/task-manifest.ts';
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
const ADMIN = 'workshop-tasks-admin-token-0123456789';

const manifest: TaskManifest = {
  version: 1,
  chapters: {
    probe: {
      // Says what it could reach, then "not yet": a report, not a task.
      reach: {
        title: 'What a check can reach',
        line: 1,
        check: [
          'other=$(kubectl get pods -n <other> -o name 2>&1 | tail -1)',
          'mine=$(kubectl get pods -o name 2>&1 | tail -1)',
          'file=$(test -r <path> && echo readable || echo unreadable)',
          'echo "uid=$(id -u) mine=[$mine] other=[$other] file=[$file]"',
          'exit 1',
        ].join('\n'),
        variables: {
          other: { default: 'default', description: 'a namespace', kind: 'dns-label' },
          path: { default: '/etc/hostname', description: 'a file', kind: 'text' },
        },
      },
      // Not done until the namespace has a ConfigMap named wanted.
      wanted: {
        title: 'A ConfigMap named wanted',
        line: 3,
        check:
          'kubectl get configmap wanted >/dev/null 2>&1 || { echo "There is no ConfigMap wanted yet."; exit 1; }',
        variables: {},
      },
      forever: {
        title: 'Never ends',
        line: 2,
        check: 'sleep 987655 & while :; do :; done',
        variables: {},
      },
    },
  },
};

async function check(
  term: TerminalClient,
  variables: Record<string, string>,
  task = 'reach',
): Promise<TaskMessage> {
  const from = term.messages.length;
  term.send({ type: 'check', chapter: 'probe', tasks: [task], variables });
  let found: TaskMessage | undefined;
  await term.waitFor(
    () => {
      found = term.messages.slice(from).find((m): m is TaskMessage => m.type === 'task');
      return found !== undefined;
    },
    30_000,
    'the check',
  );
  return found!;
}

describe('tasks in a workshop', { skip }, () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubenotes-workshop-tasks-'));
    const file = join(dir, 'tasks.json');
    writeFileSync(file, JSON.stringify(manifest));
    server = await startTestServer(
      workshopServer(`tk${Date.now().toString(36)}`, 'kube-2026', [
        '--tasks',
        file,
        '--admin-token',
        ADMIN,
        ...(kubectlDir ? ['--sandbox-read-only', kubectlDir] : []),
      ]),
      { env: { PATH: shellPath } },
    );
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a check runs as the participant: their uid and namespace, not B's, not the server's files", async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a, { cols: 200 });
    const termB = await TerminalClient.open(server.url, b, { cols: 200 });
    // Pods that Pod Security `restricted`, the namespaces' default level, admits.
    await termA.run(
      `kubectl run mine --image=${UNPRIVILEGED_NGINX} --restart=Never ${restrictedOverrides('mine')}`,
    );
    await termB.run(
      `kubectl run secret-of-b --image=${UNPRIVILEGED_NGINX} --restart=Never ${restrictedOverrides('secret-of-b')}`,
    );
    const uidA = plain((await termA.run('id -u')).output).trim();

    const report = await check(termA, { other: b.namespace, path: kubeconfig ?? '/' });
    assert.equal(report.state, 'not-yet');
    const [, uid, mine, other, file] =
      /^uid=(\d+) mine=\[(.*)\] other=\[(.*)\] file=\[(.*)\]$/.exec(report.message) ?? [];
    assert.equal(uid, uidA, 'the check runs as the shell does');
    assert.notEqual(uid, '0');
    assert.equal(mine, 'pod/mine', "the check uses the participant's own namespace");
    assert.match(other ?? '', /forbidden/i, "B's namespace is out of reach");
    assert.doesNotMatch(other ?? '', /secret-of-b/);
    assert.equal(file, 'unreadable', `the server's kubeconfig is out of reach: ${report.message}`);

    // The same probe does see what the sandbox shows (so "unreadable" above means something).
    const control = await check(termA, { other: a.namespace, path: '/etc/passwd' });
    assert.match(control.message, /other=\[pod\/mine\] file=\[readable\]$/);

    termA.close();
    termB.close();
    for (const s of [a, b]) await endSession(server.url, s);
  });

  test("the instructor sees each participant's last command before a failing check, and the progress on /metrics", async () => {
    const admin = (path: string) =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const b = await createSession(server.url, { joinCode: 'kube-2026' });
    const termA = await TerminalClient.open(server.url, a, { cols: 200 });
    const termB = await TerminalClient.open(server.url, b, { cols: 200 });
    // Typed as a reader types, one of them wrong (a ConfigMap of another name).
    await termA.run("kubectl create configmap wnated --from-literal=colour='blue;green'");
    await termB.run('kubectl get configmaps');
    assert.equal((await check(termA, {}, 'wanted')).state, 'not-yet');
    assert.equal((await check(termB, {}, 'wanted')).state, 'not-yet');
    // A command after the failing check is not what failed.
    await termA.run('echo later');

    const events = await fetch(`${server.url}/api/admin/events`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const sessions = (await admin('/api/admin/sessions').then((r) => r.json())) as SessionSummary[];
    const taskOf = (id: string) => sessions.find((s) => s.id === id)?.tasks['probe/wanted'];
    assert.equal(
      taskOf(a.id)?.command,
      "kubectl create configmap wnated --from-literal=colour='blue;green'",
    );
    assert.equal(taskOf(a.id)?.state, 'not-yet');
    assert.equal(taskOf(b.id)?.command, 'kubectl get configmaps');

    // Done: the admin event stream says so, with the task's new state.
    await termB.run('kubectl create configmap wanted');
    assert.equal((await check(termB, {}, 'wanted')).state, 'done');
    const reader = events.body!.getReader();
    let stream = '';
    while (!/"probe\/wanted":\{"state":"done"/.test(stream)) {
      const { value, done } = await reader.read();
      if (done) assert.fail(`the event stream ended: ${stream}`);
      stream += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const metrics = await admin('/metrics').then((r) => r.text());
    assert.match(metrics, /kubenotes_task_checks_total\{state="done"\} [1-9]/);
    assert.match(metrics, /kubenotes_task_checks_total\{state="not-yet"\} [1-9]/);

    termA.close();
    termB.close();
    for (const s of [a, b]) await endSession(server.url, s);
  });

  test('a check that never ends is killed in the sandbox at its timeout, and nothing of it is left', async () => {
    const a = await createSession(server.url, { joinCode: 'kube-2026' });
    const term = await TerminalClient.open(server.url, a, { cols: 200 });
    const answer = await check(term, {}, 'forever');
    assert.equal(answer.code, 'timeout');
    // pgrep exits 1 when no process matches.
    const running = () => spawnSync('pgrep', ['-f', 'sleep 987655']).status === 0;
    await term.waitFor(() => !running(), 5000, 'the check gone');
    // The participant's shell is still there and works.
    assert.equal((await term.run('true')).exitCode, 0);
    term.close();
    await endSession(server.url, a);
  });
});
