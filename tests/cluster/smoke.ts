// Smoke checks of the test cluster: what a guide about Pods and Deployments needs.
// Run with `node tests/cluster/test-cluster.ts smoke` (starts the cluster if needed).
// Everything happens in a fresh namespace that is deleted afterwards.

import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import type { TestCluster } from './cluster.ts';

interface Check {
  name: string;
  run: () => Promise<void>;
}

export interface SmokeResult {
  passed: number;
  failed: number;
}

export async function runSmokeChecks(
  cluster: TestCluster,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<SmokeResult> {
  const ns = `smoke-${Date.now().toString(36)}`;
  const k = (...args: string[]) => kubectl(cluster, ['-n', ns, ...args]);
  const checks: Check[] = [
    {
      name: 'server version matches the built kubectl',
      run: async () => {
        const v = JSON.parse(await kubectl(cluster, ['version', '-o', 'json'])) as {
          serverVersion?: { gitVersion?: string };
        };
        expect(
          v.serverVersion?.gitVersion === cluster.kubeVersion,
          `server ${v.serverVersion?.gitVersion}`,
        );
      },
    },
    {
      name: 'create a namespace',
      run: async () => void (await kubectl(cluster, ['create', 'namespace', ns])),
    },
    {
      name: 'kubectl run pod becomes Ready with an IP',
      run: async () => {
        await k('run', 'x', '--image=alpine', '--restart=Never', '--', 'sleep', '3600');
        await k('wait', '--for=condition=Ready', 'pod/x', '--timeout=30s');
        const ip = await k('get', 'pod', 'x', '-o', 'jsonpath={.status.podIP}');
        expect(/^\d+\.\d+\.\d+\.\d+$/.test(ip), `podIP ${JSON.stringify(ip)}`);
        const wide = await k('get', 'pod', 'x', '-o', 'wide');
        expect(wide.includes('Running') && wide.includes(ip), wide);
      },
    },
    {
      name: 'kubectl logs shows the simulated output',
      run: async () => {
        const logs = await k('logs', 'x');
        expect(logs.includes('simulated container output'), logs);
      },
    },
    {
      name: 'kubectl exec runs a command',
      run: async () => {
        const output = await k('exec', 'x', '--', 'echo', 'exec-ok');
        expect(output.trim() === 'exec-ok', output);
      },
    },
    {
      name: 'a Deployment creates a ReplicaSet and Pods; rollout status',
      run: async () => {
        await k('create', 'deployment', 'web', '--image=nginx', '--replicas=2', '--port=80');
        await k('rollout', 'status', 'deployment/web', '--timeout=60s');
        const rs = await k('get', 'rs', '-l', 'app=web', '-o', 'name');
        expect(rs.split('\n').filter(Boolean).length === 1, rs);
        await waitForReadyPods(k, 'app=web', 2);
      },
    },
    {
      name: 'scaling a Deployment',
      run: async () => {
        await k('scale', 'deployment/web', '--replicas=3');
        await k('rollout', 'status', 'deployment/web', '--timeout=60s');
        await waitForReadyPods(k, 'app=web', 3);
      },
    },
    {
      name: 'a deleted Pod of a Deployment is replaced',
      run: async () => {
        const victim = await k(
          'get',
          'pods',
          '-l',
          'app=web',
          '-o',
          'jsonpath={.items[0].metadata.name}',
        );
        await k('delete', 'pod', victim, '--wait=true', '--timeout=30s');
        const names = await waitForReadyPods(k, 'app=web', 3);
        expect(!names.includes(victim), `${victim} still listed`);
      },
    },
    {
      name: 'a new image rolls out through a second ReplicaSet',
      run: async () => {
        await k('set', 'image', 'deployment/web', 'nginx=nginx:1.27');
        await k('rollout', 'status', 'deployment/web', '--timeout=60s');
        const rs = await k('get', 'rs', '-l', 'app=web', '-o', 'name');
        expect(rs.split('\n').filter(Boolean).length === 2, rs);
      },
    },
    {
      name: 'a Service gets the Pods as endpoints',
      run: async () => {
        await k('expose', 'deployment/web', '--port=80');
        await eventually(async () => {
          const ips = await k(
            'get',
            'endpointslices',
            '-l',
            'kubernetes.io/service-name=web',
            '-o',
            'jsonpath={.items[*].endpoints[*].addresses[0]}',
          );
          expect(ips.split(' ').filter(Boolean).length === 3, `endpoints: ${ips}`);
        });
      },
    },
    {
      name: 'kubectl port-forward reaches a (simulated) web server',
      run: async () => {
        const body = await portForwardGet(cluster, ns, 'deployment/web', 80);
        expect(body.includes('Welcome to nginx!'), body);
      },
    },
    {
      name: 'an image named does-not-exist is never pulled (ImagePullBackOff), another image is',
      run: async () => {
        await k('run', 'nopull', '--image=nginx:1.29-does-not-exist');
        await eventually(async () => {
          const reason = await k(
            'get',
            'pod',
            'nopull',
            '-o',
            'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
          );
          expect(reason === 'ImagePullBackOff', `waiting reason ${JSON.stringify(reason)}`);
        });
        await k('set', 'image', 'pod/nopull', 'nopull=nginx:1.29-alpine');
        await k('wait', '--for=condition=Ready', 'pod/nopull', '--timeout=30s');
      },
    },
    {
      name: 'a container whose script fails crash-loops, with restarts and --previous logs',
      run: async () => {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: sh's ${NAME:?}, not a template
        const script = 'echo "${MISSING:?}"';
        await k('run', 'crashy', '--image=alpine', '--', 'sh', '-c', script);
        await eventually(async () => {
          const status = await k(
            'get',
            'pod',
            'crashy',
            '-o',
            'jsonpath={.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode}',
          );
          expect(/^CrashLoopBackOff [1-9]\d* 2$/.test(status), `status ${JSON.stringify(status)}`);
        });
        expect((await k('logs', 'crashy', '--previous')).length > 0, 'no --previous logs');
        await k(
          'run',
          'fine',
          '--image=alpine',
          '--env=MISSING=set',
          '--',
          'sh',
          '-c',
          `${script}; sleep 3600`,
        );
        await k('wait', '--for=condition=Ready', 'pod/fine', '--timeout=30s');
      },
    },
    {
      name: 'a Job completes',
      run: async () => {
        await k('create', 'job', 'once', '--image=busybox', '--', 'echo', 'done');
        await k('wait', '--for=condition=complete', 'job/once', '--timeout=60s');
      },
    },
  ];

  let passed = 0;
  let failed = 0;
  for (const check of checks) {
    const started = Date.now();
    try {
      await check.run();
      passed++;
      out(`ok - ${check.name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      out(`not ok - ${check.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']).catch(() => '');
  out(`${passed} passed, ${failed} failed`);
  return { passed, failed };
}

function kubectl(cluster: TestCluster, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cluster.kubectl,
      ['--kubeconfig', cluster.kubeconfig, ...args],
      { timeout: 90_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve(stdout.trim());
      },
    );
  });
}

function expect(condition: boolean, detail: string): void {
  if (!condition) throw new Error(`unexpected: ${detail}`);
}

async function eventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function waitForReadyPods(
  k: (...args: string[]) => Promise<string>,
  selector: string,
  count: number,
): Promise<string[]> {
  let names: string[] = [];
  await eventually(async () => {
    const out = await k(
      'get',
      'pods',
      '-l',
      selector,
      '-o',
      'jsonpath={range .items[?(@.metadata.deletionTimestamp)]}deleting {end}{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
    );
    const entries = out.split(' ').filter(Boolean);
    expect(!entries.includes('deleting'), `pods still terminating: ${out}`);
    names = entries.map((entry) => entry.split('=')[0] ?? '');
    expect(
      entries.length === count && entries.every((entry) => entry.endsWith('=True')),
      `want ${count} Ready pods, have: ${out}`,
    );
  });
  return names;
}

/** `kubectl port-forward <target> :<port>`, then one HTTP GET through it; the port-forward is stopped after. */
function portForwardGet(
  cluster: TestCluster,
  ns: string,
  target: string,
  port: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      cluster.kubectl,
      [
        '--kubeconfig',
        cluster.kubeconfig,
        '-n',
        ns,
        'port-forward',
        '--address=127.0.0.1',
        target,
        `:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let done = false;
    let requested = false;
    const finish = (error: Error | undefined, body?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      if (error) reject(error);
      else resolve(body ?? '');
    };
    const timer = setTimeout(
      () => finish(new Error(`port-forward did not start in 20s: ${output}`)),
      20_000,
    );
    child.on('exit', (code) => finish(new Error(`port-forward exited (${code}): ${output}`)));
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (!match || requested) return;
      requested = true;
      const req = request({ host: '127.0.0.1', port: Number(match[1]), path: '/' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (data: string) => {
          body += data;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? finish(undefined, body)
            : finish(new Error(`HTTP ${res.statusCode}: ${body}`)),
        );
      });
      req.on('error', (error) => finish(error));
      req.end();
    });
  });
}
