/**
 * A stand-in for a reader's web app, for the app route's tests on the test cluster. Pods there
 * are simulated (kwok) and their IPs answer nothing, and the API server proxies to no loopback
 * address; so a test makes a network of its own (`createAppNetwork()`, a network namespace
 * joined to this machine by a veth pair, tests/support/app-network.ts), runs the responder
 * (app-responder-main.ts) inside it, and points a Pod's IP at its address there; the API
 * server's proxy reaches it as it would a real Pod. Nothing listens on this machine's own
 * addresses.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { AppNetwork } from './app-network.ts';
import { restrictedPodSpec } from './workshop-server.ts';

export interface AppResponder {
  port: number;
  /** every request path it received */
  paths: string[];
  close(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('app-responder-main.ts', import.meta.url));

/** Starts a responder inside `network`'s namespace, on its address; `marker` names it in pages. */
export async function startAppResponder(
  network: AppNetwork,
  marker: string,
): Promise<AppResponder> {
  const child = spawn(
    'ip',
    ['netns', 'exec', network.namespace, process.execPath, MAIN, network.address, marker],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const paths: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the stand-in app ${marker} exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const said = JSON.parse(line) as { port?: number; path?: string };
      if (said.port) resolve(said.port);
      if (said.path !== undefined) paths.push(said.path);
    });
  });
  return {
    port,
    paths,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * A Pod (simulated) whose IP is `address` (an app network's), and a Service `name` in front of it
 * whose `port` (80 unless given; named http) goes to `targetPort` there.
 */
export async function deployApp(
  admin: KubeConfig,
  namespace: string,
  name: string,
  targetPort: number,
  address: string,
  port = 80,
): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  // A Pod is refused until its namespace's default ServiceAccount exists, which the
  // controller-manager makes a moment after the namespace.
  await until(`namespace ${namespace} to get its default ServiceAccount`, () =>
    core
      .readNamespacedServiceAccount({ name: 'default', namespace })
      .then(() => true)
      .catch(() => false),
  );
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      // Pod Security `restricted` (a workshop namespace's default level) admits it.
      spec: restrictedPodSpec('web'),
    },
  });
  await until(`pod ${namespace}/${name} to start`, async () => {
    const pod = await core.readNamespacedPod({ name, namespace });
    return pod.status?.phase === 'Running' && Boolean(pod.status.podIP);
  });
  // kwok gave it an address from a range nothing answers on: point it at the responder's.
  await core.patchNamespacedPodStatus(
    {
      name,
      namespace,
      body: { status: { podIP: address, podIPs: [{ ip: address }] } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort }] },
    },
  });
  // The proxy goes by the Service's Endpoints: wait until they hold the new address.
  await until(`the endpoints of ${namespace}/${name} to hold ${address}`, async () => {
    const endpoints = await core
      .readNamespacedEndpoints({ name, namespace })
      .catch(() => undefined);
    return endpoints?.subsets?.[0]?.addresses?.[0]?.ip === address;
  });
}

/** Looks every 200 ms until `check` holds; after 20 s, fails saying what it waited for. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i <= 100; i++) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out after 20 s waiting for ${what}`);
}
