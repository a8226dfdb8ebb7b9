// A local test cluster: a real kube-apiserver, kube-controller-manager,
// kube-scheduler and etcd, with nodes and pods simulated by kwok.
//
// Importable API (for a test global setup):
//   const { kubeconfig } = await ensureTestCluster();   // builds if needed, starts or reuses
//   await stopTestCluster();                            // deletes it, leaves no process
// The CLI over it is test-cluster.ts (`node tests/cluster/test-cluster.ts up|down|status`).
//
// Everything lives under ${KUBENOTES_CACHE:-~/.cache/kubenotes}:
//   k8s-<version>/bin/      binaries (tests/cluster/build.sh)
//   test-cluster/kubeconfig a self-contained admin kubeconfig (stable path)
//   test-cluster/kwok/      kwokctl's workdir (KWOK_WORKDIR): certs, component logs, etcd data
//   test-cluster/bin/       the port-forward responder and its Node, so no work tree is named
//   test-cluster/users/     the runs using it (cluster-users.ts: who may stop it)
// Nothing touches ~/.kube/config. Every component listens on 127.0.0.1 only.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, constants as fsConstants, readFileSync } from 'node:fs';
import {
  access,
  chmod,
  chown,
  copyFile,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_CLUSTER_NAME } from '../../sandbox-server/src/providers/test-cluster.ts';
import { ownerAlive } from '../support/machine-lock.ts';

/** The server recognises the test cluster by this name (and refuses it for workshops). */
export const CLUSTER_NAME = TEST_CLUSTER_NAME;
export const NODE_NAME = 'kwok-node-0';
/** Pod IPs are taken from this range. Nothing answers on them: never connect to a pod IP. */
export const POD_CIDR = '10.244.0.0/24';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUILD_SCRIPT = path.join(HERE, 'build.sh');
const RESPONDER_SCRIPT = path.join(HERE, 'port-forward-responder.ts');
/** kwok's default Stages and ours (an image that cannot be pulled, a container that exits). */
const STAGES_FILE = path.join(HERE, 'kwok-stages.yaml');

export type Log = (line: string) => void;

export interface TestClusterOptions {
  /** Receives progress lines (build progress, kwokctl output). Default: written to stderr. */
  log?: Log;
  /**
   * Other test runs using the cluster now (cluster-users.ts): a cluster they use is never
   * recreated under them, even when this run would configure it differently.
   */
  inUseBy?: number[];
}

export interface TestCluster {
  /** Path of a self-contained admin kubeconfig for the cluster. */
  kubeconfig: string;
  /** The kubectl built for the cluster's Kubernetes version. */
  kubectl: string;
  /** Directory holding kubectl, kwokctl, etcd, kube-apiserver, ... */
  binDir: string;
  /** Kubernetes version, e.g. "v1.35.4". */
  kubeVersion: string;
  /** CRI-format log file served by `kubectl logs` for every container; tests may append lines. */
  podLogsFile: string;
}

export interface TestClusterStatus {
  up: boolean;
  kubeconfig: string;
  /** Why it is not up (when up is false). */
  reason?: string;
}

interface BuildEnv {
  kubeVersion: string;
  etcdVersion: string;
  kwokVersion: string;
  binDir: string;
}

interface Paths {
  cacheDir: string;
  stateDir: string;
  workdir: string;
  kubeconfig: string;
  kwokctlConfig: string;
  podLogsFile: string;
  execDir: string;
  lockFile: string;
}

const defaultLog: Log = (line) => process.stderr.write(`${line}\n`);

export function testClusterPaths(): Paths {
  const cacheDir = process.env.KUBENOTES_CACHE || path.join(homedir(), '.cache', 'kubenotes');
  const stateDir = path.join(cacheDir, 'test-cluster');
  return {
    cacheDir,
    stateDir,
    workdir: path.join(stateDir, 'kwok'),
    kubeconfig: path.join(stateDir, 'kubeconfig'),
    kwokctlConfig: path.join(stateDir, 'kwokctl.yaml'),
    podLogsFile: path.join(stateDir, 'pod-logs.log'),
    // Outside the cache: as root, exec'd commands run as nobody, who cannot enter /root. One
    // per cluster (named after its state folder): stopping a cluster kills what runs in its
    // exec folder, which must never be another cluster's (another KUBENOTES_CACHE).
    execDir: path.join(
      tmpdir(),
      `kubenotes-test-cluster-exec-${process.getuid?.() ?? 'user'}-${hash(stateDir)}`,
    ),
    lockFile: path.join(stateDir, '.lock'),
  };
}

/** Builds the binaries if needed, then starts the cluster or reuses the running one. */
export async function ensureTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const log = options.log ?? defaultLog;
  const paths = testClusterPaths();
  await mkdir(paths.stateDir, { recursive: true });
  return withLock(paths, log, async () => {
    const started = Date.now();
    const env = await buildBinaries(log);
    const cluster: TestCluster = {
      kubeconfig: paths.kubeconfig,
      kubectl: path.join(env.binDir, 'kubectl'),
      binDir: env.binDir,
      kubeVersion: env.kubeVersion,
      podLogsFile: paths.podLogsFile,
    };
    const responder = await stableResponder(paths);
    const config = kwokctlConfig(env, paths, responder);
    if (!existsSync(BWRAP))
      log(`no ${BWRAP} (Debian: apt-get install bubblewrap): 'kubectl exec' will be refused`);
    const previousConfig = await readFile(paths.kwokctlConfig, 'utf8').catch(() => '');
    const exists = await clusterExists(paths);

    const others = options.inUseBy ?? [];
    const answers = exists && (await apiserverReady(cluster.kubectl, paths.kubeconfig));
    if (answers && (previousConfig === config || others.length > 0)) {
      log(
        previousConfig === config
          ? `test cluster ${CLUSTER_NAME} is already running; reusing it`
          : `test cluster ${CLUSTER_NAME} runs with another configuration, but pid ${others.join(', ')} use it: reusing it as it is (the first run to find it unused recreates it)`,
      );
      if (!(await isReadable(paths.podLogsFile))) await writePodLogs(paths.podLogsFile);
      await prepareExecDir(paths.execDir);
      await ensureNode(cluster, log);
      return cluster;
    }
    if (exists && previousConfig !== config) {
      log(
        `test cluster ${CLUSTER_NAME} was made with another configuration or version; recreating it`,
      );
      await deleteCluster(env, paths, log);
    } else if (exists && !answers && (await runningComponents(paths)) === 0) {
      // Continued from its old state, the new controller-manager and scheduler wait 15 s for
      // their dead predecessors' leader leases, and kwok several minutes for the node's lease
      // (its Pods stay Pending meanwhile); a new cluster is ready in seconds, and carries
      // nothing over from the run that died.
      log(
        `test cluster ${CLUSTER_NAME} exists but none of its processes runs (a run was killed, or the machine restarted); making it anew`,
      );
      await deleteCluster(env, paths, log);
    }

    await writePodLogs(paths.podLogsFile);
    await prepareExecDir(paths.execDir);
    await writeFile(paths.kwokctlConfig, config);
    await dropStalePidFiles(paths);
    log(
      `starting test cluster ${CLUSTER_NAME} (Kubernetes ${env.kubeVersion}, kwok ${env.kwokVersion})…`,
    );
    const create = await kwokctl(
      env,
      paths,
      [
        'create',
        'cluster',
        '--name',
        CLUSTER_NAME,
        '--config',
        paths.kwokctlConfig,
        '--kubeconfig=',
        '--timeout',
        '3m',
      ],
      log,
    );
    if (create.code !== 0) {
      throw new Error(
        `kwokctl create cluster failed (exit ${create.code}):\n${tail(create.output, 30)}\n` +
          `Component logs are in ${path.join(paths.workdir, 'clusters', CLUSTER_NAME, 'logs')}; ` +
          `run 'node tests/cluster/test-cluster.ts down' and try again.`,
      );
    }
    const kubeconfig = await kwokctl(
      env,
      paths,
      ['get', 'kubeconfig', '--name', CLUSTER_NAME],
      undefined,
    );
    if (kubeconfig.code !== 0 || !kubeconfig.stdout.includes('apiVersion')) {
      throw new Error(
        `kwokctl get kubeconfig failed (exit ${kubeconfig.code}):\n${tail(kubeconfig.output, 20)}`,
      );
    }
    await writeFileAtomic(paths.kubeconfig, kubeconfig.stdout, 0o600);
    await waitFor('the kube-apiserver to answer /readyz', 120_000, () =>
      apiserverReady(cluster.kubectl, paths.kubeconfig),
    );
    await ensureNode(cluster, log);
    log(`test cluster ${CLUSTER_NAME} is up (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    return cluster;
  });
}

/** Deletes the test cluster and makes sure none of its processes is left. Safe when it is not running. */
export async function stopTestCluster(options: TestClusterOptions = {}): Promise<void> {
  const log = options.log ?? defaultLog;
  const paths = testClusterPaths();
  await mkdir(paths.stateDir, { recursive: true });
  await withLock(paths, log, async () => {
    const env = await readBuildEnv();
    if (!(await clusterExists(paths))) {
      log(`test cluster ${CLUSTER_NAME} is not running`);
    } else {
      await deleteCluster(env, paths, log);
    }
    await rm(paths.kubeconfig, { force: true });
    const leftovers = await killLeftovers(paths, log);
    await rm(paths.execDir, { recursive: true, force: true });
    log(
      leftovers === 0
        ? `test cluster ${CLUSTER_NAME} is down`
        : `test cluster ${CLUSTER_NAME} is down (stopped ${leftovers} leftover process(es))`,
    );
  });
}

/** Whether the test cluster is up (its kube-apiserver answers and its node is Ready). */
export async function testClusterStatus(): Promise<TestClusterStatus> {
  const paths = testClusterPaths();
  const env = await readBuildEnv();
  const kubectl = path.join(env.binDir, 'kubectl');
  const base = { kubeconfig: paths.kubeconfig };
  if (!(await isExecutable(kubectl))) {
    return {
      ...base,
      up: false,
      reason: `not built yet (no ${kubectl}); run 'node tests/cluster/test-cluster.ts up'`,
    };
  }
  if (!(await clusterExists(paths))) return { ...base, up: false, reason: 'no cluster exists' };
  if (!(await isReadable(paths.kubeconfig)))
    return { ...base, up: false, reason: `no kubeconfig at ${paths.kubeconfig}` };
  if (!(await apiserverReady(kubectl, paths.kubeconfig))) {
    return {
      ...base,
      up: false,
      reason: 'the cluster exists but its kube-apiserver does not answer',
    };
  }
  if (!(await nodeReady(kubectl, paths.kubeconfig))) {
    return {
      ...base,
      up: false,
      reason: `the kube-apiserver answers but node ${NODE_NAME} is not Ready`,
    };
  }
  return { ...base, up: true };
}

// ---------------------------------------------------------------------------

async function readBuildEnv(): Promise<BuildEnv> {
  const result = await run('bash', [BUILD_SCRIPT, '--print-env'], {});
  if (result.code !== 0) throw new Error(`${BUILD_SCRIPT} --print-env failed:\n${result.output}`);
  const values = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`${BUILD_SCRIPT} --print-env did not print ${key}`);
    return value;
  };
  return {
    kubeVersion: get('KUBE_VERSION'),
    etcdVersion: get('ETCD_VERSION'),
    kwokVersion: get('KWOK_VERSION'),
    binDir: get('BIN_DIR'),
  };
}

/** Runs build.sh (a no-op in well under a second once everything is built), streaming its progress. */
async function buildBinaries(log: Log): Promise<BuildEnv> {
  const env = await readBuildEnv();
  const result = await run('bash', [BUILD_SCRIPT], { onLine: log });
  if (result.code !== 0) {
    const reason = result.output.split('\n').find((line) => line.startsWith('build.sh: error:'));
    throw new Error(
      `building the test cluster binaries failed (${BUILD_SCRIPT}, exit ${result.code}):\n` +
        (reason ?? tail(result.output, 20)),
    );
  }
  return env;
}

interface Responder {
  node: string;
  script: string;
}

/**
 * The port-forward responder and the Node that runs it, copied into the cluster's state
 * folder: the cluster's configuration then names no work tree, so runs from two work trees
 * (or a clone and CI) reuse one cluster instead of each recreating it under the other. A new
 * Node version or a changed script still changes the configuration, and recreates it.
 */
async function stableResponder(paths: Paths): Promise<Responder> {
  const dir = path.join(paths.stateDir, 'bin');
  await mkdir(dir, { recursive: true });
  const node = path.join(dir, `node-${process.version}`);
  if (!(await isExecutable(node))) {
    const partial = `${node}.tmp-${process.pid}`;
    await link(process.execPath, partial).catch(() => copyFile(process.execPath, partial));
    await chmod(partial, 0o755);
    await rename(partial, node);
  }
  const text = await readFile(RESPONDER_SCRIPT, 'utf8');
  const script = path.join(dir, `port-forward-responder-${hash(text)}.ts`);
  if (!(await isReadable(script))) {
    await writeFileAtomic(script, text, 0o644);
  }
  return { node, script };
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function kwokctlConfig(env: BuildEnv, paths: Paths, responder: Responder): string {
  const bin = (name: string): string => JSON.stringify(path.join(env.binDir, name));
  const asRoot = process.getuid?.() === 0;
  // JSON strings are valid YAML scalars, so every value below is JSON.stringify'd.
  return `# Generated by tests/cluster/cluster.ts on every 'up'; edits are overwritten.
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: ${JSON.stringify(env.kubeVersion)}
  etcdVersion: ${JSON.stringify(env.etcdVersion.replace(/^v/, ''))}
  kwokVersion: ${JSON.stringify(env.kwokVersion)}
  kubeApiserverBinary: ${bin('kube-apiserver')}
  kubeControllerManagerBinary: ${bin('kube-controller-manager')}
  kubeSchedulerBinary: ${bin('kube-scheduler')}
  kubectlBinary: ${bin('kubectl')}
  kwokControllerBinary: ${bin('kwok-exec-sandboxed')}
  etcdBinary: ${bin('etcd')}
  # kwokctl may never download anything: every binary above is local.
  cacheDir: ${JSON.stringify(path.join(paths.stateDir, 'kwokctl-cache'))}
  bindAddress: "127.0.0.1"
  # Closer to a real cluster than kwokctl's defaults: RBAC and the default admission
  # plugins (ServiceAccount, LimitRanger, PodSecurity, ...) are on.
  kubeAuthorization: true
  kubeAdmission: true
# The patched kwok (build.sh) runs every 'kubectl exec' command inside this sandbox, or refuses
# it when there is none: etcd has no authentication, so a command on this machine could read
# and write every object (a workshop participant could reach exec through their own Pod).
componentsPatches:
- name: kwok-controller
  extraEnvs:
  - name: KUBENOTES_KWOK_EXEC_WRAPPER
    value: ${JSON.stringify(JSON.stringify(execSandbox(paths.execDir)))}
---
# 'kubectl logs' of any container, and 'kubectl logs --previous', show this file (CRI log format).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: kubenotes-logs
spec:
  logs:
  - logsFile: ${JSON.stringify(paths.podLogsFile)}
    previousLogsFile: ${JSON.stringify(paths.podLogsFile)}
    follow: true
---
# 'kubectl port-forward' to any pod and port: each connection is served by a tiny
# HTTP responder (one short-lived process per connection, nothing keeps running).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: kubenotes-port-forward
spec:
  forwards:
  - command: [${JSON.stringify(responder.node)}, ${JSON.stringify(responder.script)}]
---
# 'kubectl exec' runs the command in a sandbox on this machine${asRoot ? ' as nobody (uid 65534)' : ''}: no network,
# the file system read-only but for a scratch directory.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: kubenotes-exec
spec:
  execs:
  - local:
      workDir: ${JSON.stringify(paths.execDir)}
      envs:
      - name: HOME
        value: ${JSON.stringify(paths.execDir)}
${asRoot ? '      securityContext:\n        runAsUser: 65534\n        runAsGroup: 65534\n' : ''}---
${readFileSync(STAGES_FILE, 'utf8')}`;
}

/** bubblewrap: the host's files read-only, a scratch directory, and no network but loopback. */
const BWRAP = '/usr/bin/bwrap';

function execSandbox(execDir: string): string[] {
  // Without bubblewrap, exec is refused (the patched kwok needs a wrapper): never unsandboxed.
  if (!existsSync(BWRAP)) return [];
  return [
    BWRAP,
    '--unshare-all', // network (only an empty loopback), PID, IPC, UTS, user namespaces
    '--die-with-parent',
    '--ro-bind',
    '/',
    '/',
    '--tmpfs',
    '/tmp',
    '--bind',
    execDir,
    execDir,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--chdir',
    execDir,
    '--',
  ];
}

async function writePodLogs(file: string): Promise<void> {
  const now = new Date().toISOString().replace('Z', '000000Z'); // RFC3339Nano, as CRI log lines use
  const lines = [
    'kubenotes test cluster: simulated container output (kwok ClusterLogs).',
    'No container runs here: pods are simulated, and every container shows these lines.',
  ];
  await writeFileAtomic(file, lines.map((line) => `${now} stdout F ${line}\n`).join(''), 0o644);
}

async function prepareExecDir(dir: string): Promise<void> {
  // It lives in the shared temporary directory: never follow something planted there.
  const info = await lstat(dir).catch(() => undefined);
  if (info && (!info.isDirectory() || info.isSymbolicLink())) await rm(dir, { force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) await chown(dir, 65534, 65534);
  await chmod(dir, 0o755);
}

/** Creates the simulated node if it is missing, then waits until it is Ready and Pods run. */
async function ensureNode(cluster: TestCluster, log: Log): Promise<void> {
  const kc = ['--kubeconfig', cluster.kubeconfig];
  const existing = await run(cluster.kubectl, [...kc, 'get', 'node', NODE_NAME, '-o', 'name'], {});
  if (existing.code !== 0) {
    log(`creating simulated node ${NODE_NAME}…`);
    const created = await run(cluster.kubectl, [...kc, 'create', '-f', '-'], {
      input: nodeManifest(cluster.kubeVersion),
    });
    if (created.code !== 0)
      throw new Error(`creating node ${NODE_NAME} failed:\n${created.output}`);
  }
  await waitFor(`node ${NODE_NAME} to be Ready`, 60_000, () =>
    nodeReady(cluster.kubectl, cluster.kubeconfig),
  );
  await probeControllers(cluster, log);
}

/**
 * Waits until a Pod can be made and runs: a new namespace gets its default ServiceAccount
 * (the controller-manager; without it the ServiceAccount admission plugin refuses Pods), and a
 * Pod there is scheduled and Running (the scheduler and kwok). The API server answering and
 * the node's Ready status are not enough: a cluster continued after its run was killed keeps
 * both in etcd, while its new controller-manager and scheduler wait up to 15 s for the dead
 * ones' leader leases to expire; tests that made a Pod meanwhile were refused.
 */
async function probeControllers(cluster: TestCluster, log: Log): Promise<void> {
  const kc = ['--kubeconfig', cluster.kubeconfig, '--request-timeout=5s'];
  const namespace = `kubenotes-probe-${process.pid}-${Date.now().toString(36)}`;
  const kubectl = (...args: string[]) => run(cluster.kubectl, [...kc, ...args], {});
  const started = Date.now();
  const made = await kubectl('create', 'namespace', namespace);
  if (made.code !== 0) throw new Error(`creating namespace ${namespace} failed:\n${made.output}`);
  try {
    await waitFor(
      'the controller-manager (a new namespace’s default ServiceAccount)',
      90_000,
      async () =>
        (await kubectl('get', 'serviceaccount', 'default', '-n', namespace, '-o', 'name')).code ===
        0,
    );
    const pod = await kubectl('run', 'probe', '-n', namespace, '--restart=Never', '--image=probe');
    if (pod.code !== 0) throw new Error(`creating a probe Pod failed:\n${pod.output}`);
    await waitFor('the scheduler and kwok (a probe Pod Running)', 90_000, async () => {
      const phase = await kubectl(
        'get',
        'pod',
        'probe',
        '-n',
        namespace,
        '-o',
        'jsonpath={.status.phase}',
      );
      return phase.stdout.trim() === 'Running';
    });
  } finally {
    await kubectl('delete', 'namespace', namespace, '--wait=false');
  }
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 3) log(`the cluster's controllers took ${seconds.toFixed(1)}s to take up work`);
}

function nodeManifest(kubeVersion: string): string {
  // kwok manages every node (kwokctl starts it with --manage-all-nodes); the annotation
  // is what `kwokctl scale node` sets too. No Hostname address: kwok adds "localhost",
  // which is where the kube-apiserver then reaches kwok's kubelet API (logs, exec,
  // port-forward). The InternalIP is loopback so that nothing is ever sent elsewhere.
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    status: {
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      allocatable: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      capacity: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: kubeVersion,
        kubeProxyVersion: kubeVersion,
        osImage: 'kwok simulated node',
        containerRuntimeVersion: 'kwok://simulated',
      },
    },
  };
  return JSON.stringify(node);
}

async function deleteCluster(env: BuildEnv, paths: Paths, log: Log): Promise<void> {
  log(`deleting test cluster ${CLUSTER_NAME}…`);
  await dropStalePidFiles(paths);
  const kwokctlBin = path.join(env.binDir, 'kwokctl');
  if (!(await isExecutable(kwokctlBin))) {
    log(`(no kwokctl at ${kwokctlBin}; removing the cluster's files directly)`);
  } else {
    const result = await kwokctl(
      env,
      paths,
      // --kubeconfig= is refused by delete ("empty path"); this file only ever holds kwokctl's
      // context bookkeeping, never ~/.kube/config.
      [
        'delete',
        'cluster',
        '--name',
        CLUSTER_NAME,
        '--kubeconfig',
        path.join(paths.stateDir, 'kwokctl-contexts.kubeconfig'),
      ],
      log,
    );
    if (result.code !== 0)
      log(`kwokctl delete cluster failed (exit ${result.code}); cleaning up directly`);
  }
  await killLeftovers(paths, log);
  await rm(path.join(paths.workdir, 'clusters', CLUSTER_NAME), { recursive: true, force: true });
}

/**
 * kwokctl trusts its pid files: it kills the pid they name on delete, and skips starting a
 * component whose pid is alive. After a reboot or a crash those pids may belong to unrelated
 * processes, so a pid file is kept only while its process is really that cluster's component.
 */
async function dropStalePidFiles(paths: Paths): Promise<void> {
  const dir = path.join(paths.workdir, 'clusters', CLUSTER_NAME, 'pids');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.pid')) continue;
    const file = path.join(dir, name);
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    const cmdline = Number.isInteger(pid) && pid > 0 ? await readProcCmdline(pid) : '';
    if (!cmdline.includes(`${paths.workdir}/`)) await rm(file, { force: true });
  }
}

/** How many of the cluster's components still run (their pid files name live processes). */
async function runningComponents(paths: Paths): Promise<number> {
  await dropStalePidFiles(paths);
  const dir = path.join(paths.workdir, 'clusters', CLUSTER_NAME, 'pids');
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.pid')).length;
}

async function readProcCmdline(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
}

async function clusterExists(paths: Paths): Promise<boolean> {
  return isReadable(path.join(paths.workdir, 'clusters', CLUSTER_NAME, 'kwok.yaml'));
}

async function apiserverReady(kubectl: string, kubeconfig: string): Promise<boolean> {
  if (!(await isReadable(kubeconfig))) return false;
  const result = await run(
    kubectl,
    ['--kubeconfig', kubeconfig, '--request-timeout=5s', 'get', '--raw', '/readyz'],
    {
      timeoutMs: 10_000,
    },
  );
  return result.code === 0 && result.stdout.trim() === 'ok';
}

async function nodeReady(kubectl: string, kubeconfig: string): Promise<boolean> {
  const result = await run(
    kubectl,
    [
      '--kubeconfig',
      kubeconfig,
      '--request-timeout=5s',
      'get',
      'node',
      NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ],
    { timeoutMs: 10_000 },
  );
  return result.code === 0 && result.stdout.trim() === 'True';
}

function kwokctl(
  env: BuildEnv,
  paths: Paths,
  args: string[],
  log: Log | undefined,
): Promise<RunResult> {
  return run(path.join(env.binDir, 'kwokctl'), args, {
    // Only our configuration counts: drop KWOK_* settings (KWOK_RUNTIME, ...) of the caller.
    env: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith('KWOK_')),
      ),
      KWOK_WORKDIR: paths.workdir,
    },
    onLine: log ? (line) => log(`  kwokctl: ${readableLogLine(line)}`) : undefined,
    timeoutMs: 5 * 60_000,
  });
}

/** kwokctl logs JSON when its output is not a terminal; keep the message and its fields. */
function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      time: _time,
      source: _source,
      level,
      msg,
      ...fields
    } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(fields)
      .map(([key, value]) => {
        const shown = value && typeof value === 'object' && 'human' in value ? value.human : value;
        return `${key}=${typeof shown === 'string' ? shown : JSON.stringify(shown)}`;
      })
      .join(' ');
    return `${level === 'INFO' ? '' : `${String(level)} `}${String(msg)}${extra ? ` (${extra})` : ''}`;
  } catch {
    return line;
  }
}

/**
 * Stops, by pid, any process the cluster left: components (their command lines name
 * files in kwokctl's workdir), port-forward responders, and commands started by
 * `kubectl exec` (working directory: the exec scratch directory).
 */
async function killLeftovers(paths: Paths, log: Log): Promise<number> {
  const find = async (): Promise<number[]> => {
    const pids: number[] = [];
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
      const cmdline = await readProcCmdline(pid);
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
      if (
        cmdline.includes(`${paths.workdir}/`) ||
        cmdline.includes(RESPONDER_SCRIPT) ||
        cmdline.includes(path.join(paths.stateDir, 'bin', 'port-forward-responder')) ||
        cwd === paths.execDir
      ) {
        pids.push(pid);
      }
    }
    return pids;
  };
  const pids = await find();
  if (pids.length === 0) return 0;
  log(`stopping ${pids.length} leftover process(es) of the test cluster: ${pids.join(', ')}`);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await find()).length > 0) await sleep(200);
  for (const pid of await find()) signal(pid, 'SIGKILL');
  return pids.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** A lock file holding the owner's pid, so that two test runs do not create the cluster twice. */
async function withLock<T>(paths: Paths, log: Log, body: () => Promise<T>): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(paths.lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(paths.lockFile, 'utf8').catch(() => '')).trim());
      if (!owner || !ownerAlive(owner, paths.lockFile)) {
        await rm(paths.lockFile, { force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for another test-cluster command (pid ${owner}) to finish…`);
        announced = true;
      }
      await sleep(500);
    }
  }
  try {
    return await body();
  } finally {
    await rm(paths.lockFile, { force: true });
  }
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  onLine?: Log;
  timeoutMs?: number;
}

interface RunResult {
  code: number;
  stdout: string;
  /** stdout and stderr interleaved. */
  output: string;
}

function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        env: options.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve({ code: 127, stdout: '', output: String(error) });
      return;
    }
    let stdout = '';
    let output = '';
    let pending = '';
    const onData = (isStdout: boolean) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (isStdout) stdout += text;
      output += text;
      if (options.onLine) {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      }
    };
    child.stdout?.on('data', onData(true));
    child.stderr?.on('data', onData(false));
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs)
      : undefined;
    child.on('error', (error) => {
      output += String(error);
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      if (pending && options.onLine) options.onLine(pending);
      resolve({ code: code ?? (sig ? 128 : 1), stdout, output });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}. Component logs: ` +
      `${path.join(testClusterPaths().workdir, 'clusters', CLUSTER_NAME, 'logs')}`,
  );
}

async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp.${process.pid}`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

async function isReadable(file: string): Promise<boolean> {
  return access(file, fsConstants.R_OK).then(
    () => true,
    () => false,
  );
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
