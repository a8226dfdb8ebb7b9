/**
 * `kubectl exec` on the test cluster. kwok only simulates Pods, so an exec'd command runs on
 * this machine, where etcd (no authentication) and the API server listen on 127.0.0.1: a
 * participant who reached exec through their own Pod could read and write every object. The
 * cluster runs those commands in a sandbox with no network; what chapters do with exec
 * (run a command, write and read a file in the working directory) still works.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kubeconfig, kubectlDir, noTestCluster } from '../support/workshop-server.ts';

const skip = noTestCluster;
const ns = `exec-sandbox-${Date.now().toString(36)}`;

function kubectl(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(kubectlDir ?? '', 'kubectl'),
      ['--kubeconfig', kubeconfig ?? '', '-n', ns, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number) ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** The ports kwokctl gave etcd and the API server (its cluster file, next to the kubeconfig). */
function controlPlanePorts(): { etcd: number; apiserver: number } {
  const file = path.join(
    path.dirname(kubeconfig ?? ''),
    'kwok',
    'clusters',
    'kubenotes-test',
    'kwok.yaml',
  );
  const text = readFileSync(file, 'utf8');
  const port = (key: string): number =>
    Number(new RegExp(`^\\s*${key}: (\\d+)$`, 'm').exec(text)?.[1]);
  return { etcd: port('etcdPort'), apiserver: port('kubeApiserverPort') };
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('kubectl exec on the test cluster', { skip }, () => {
  before(async () => {
    assert.equal((await kubectl(['create', 'namespace', ns])).code, 0);
    // The ServiceAccount admission plugin refuses Pods until the default ServiceAccount exists.
    for (let i = 0; i < 60; i++) {
      const run = await kubectl(['run', 'box', '--image=busybox:1.37', '--restart=Never']);
      if (run.code === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ready = await kubectl(['wait', '--for=condition=Ready', 'pod/box', '--timeout=60s']);
    assert.equal(ready.code, 0, ready.output);
  });
  after(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('a command in a Pod cannot connect to etcd or the API server, and sees no network', async () => {
    const ports = controlPlanePorts();
    for (const [name, port] of Object.entries(ports)) {
      assert.ok(await reachable(port), `${name} answers on 127.0.0.1:${port} from this machine`);
      const probe = await kubectl([
        'exec',
        'box',
        '--',
        'bash',
        '-c',
        // The marker is computed, so that it never appears in an error that quotes the command.
        `exec 3<>/dev/tcp/127.0.0.1/${port} && echo $((6 * 7))-open`,
      ]);
      assert.doesNotMatch(probe.output, /42-open/, `${name} (port ${port}) from inside the Pod`);
      assert.match(probe.output, /Connection refused/, probe.output);
    }
    const interfaces = await kubectl(['exec', 'box', '--', 'cat', '/proc/net/dev']);
    assert.equal(interfaces.code, 0, interfaces.output);
    const names = [...interfaces.output.matchAll(/^\s*([^\s:|]+):/gm)].map((match) => match[1]);
    assert.deepEqual(names, ['lo']);
  });

  test('what chapters do with exec still works: a command, a file in the working directory', async () => {
    const file = `note-${ns}`;
    const written = await kubectl([
      'exec',
      'box',
      '--',
      'sh',
      '-c',
      `echo hello from the pod > ${file} && cat ${file} && rm ${file}`,
    ]);
    assert.equal(written.code, 0, written.output);
    assert.equal(written.output.trim(), 'hello from the pod');
  });
});
