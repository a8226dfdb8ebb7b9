/**
 * The kind tier: every chapter's doc-tests against a real kind cluster running real containers.
 *
 * Runs only when the offline node image is cached (built by `npm run kind:image`, i.e.
 * tests/kind/build-node-image.sh); otherwise it prints a skip, never a pass. Then it:
 *   1. makes sure a Docker engine runs (tests/kind/start-docker.sh);
 *   2. `docker load`s the node image and the chapters' stand-in base images if missing;
 *   3. creates the kind cluster `kubenotes` (the name chapter 2 uses with `--name kubenotes`)
 *      from the local node image with tests/kind/kind-ci.yaml, and loads the stand-in images;
 *   4. runs tests/doc/run-doc-tests.ts against it, with kubectl and kind on the shells' PATH (in
 *      local mode the sandbox then reports the docker and kind capabilities, so chapter 2's
 *      `needs=docker|kind` blocks run for real);
 *   5. deletes the cluster (kept with KUBENOTES_KEEP_KIND_CLUSTER=1).
 * It ends with one line: `kind tier: N passed, N failed, N skipped`.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectSnippets } from '../../src/snippets/extract.ts';
import { useDockerEngine } from '../support/docker-engine.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONTENT = join(ROOT, 'content');
const HERE = join(ROOT, 'tests', 'kind');
/** Chapter 2 (content/local-images.mdx) loads images with `--name kubenotes`. */
const CLUSTER = 'kubenotes';
const NODE_CONTAINER = `${CLUSTER}-control-plane`;

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

interface RunResult {
  code: number;
  stdout: string;
}

const started = Date.now();
const since = (from = started): string => `${((Date.now() - from) / 1000).toFixed(0)}s`;
const say = (line: string): void => console.log(`[kind tier ${since()}] ${line}`);

/**
 * Runs a command. Output is streamed with a prefix when `stream` is set (so the doc-tests'
 * own closing line cannot be taken for this tier's), and returned.
 */
function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stream?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let pending = '';
    const emit = (chunk: Buffer, keep: boolean): void => {
      const text = chunk.toString();
      if (keep) stdout += text;
      if (options.stream === undefined) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) console.log(`${options.stream}${line}`);
    };
    child.stdout?.on('data', (chunk: Buffer) => emit(chunk, true));
    child.stderr?.on('data', (chunk: Buffer) => emit(chunk, options.stream === undefined));
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on('error', (error) => {
      stdout += `\n${error.message}`;
    });
    child.on('close', (code) => {
      if (pending && options.stream !== undefined) console.log(`${options.stream}${pending}`);
      resolve({ code: code ?? 1, stdout });
    });
  });
}

function finish(tally: Tally): never {
  console.log(
    `kind tier: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`,
  );
  process.exit(tally.failed === 0 ? 0 : 1);
}

/** A failure that ends the tier early, counted as one. */
function failed(message: string): Tally {
  say(`FAILED: ${message}`);
  return { passed: 0, failed: 1, skipped: 0 };
}

function fail(message: string): never {
  say(`FAILED: ${message}`);
  finish({ passed: 0, failed: 1, skipped: 0 });
}

interface BuildEnv {
  nodeImage: string;
  nodeTar: string;
  imagesTar: string;
  localImages: string[];
  kind: string;
  kubectl: string;
}

/** What build-node-image.sh builds and where (it prints it without building anything). */
async function buildEnv(): Promise<BuildEnv> {
  const printed = await run('bash', [join(HERE, 'build-node-image.sh'), '--print-env']);
  if (printed.code !== 0) fail(`build-node-image.sh --print-env failed:\n${printed.stdout}`);
  const values = new Map<string, string>();
  for (const line of printed.stdout.split('\n')) {
    const [, key, value] = /^([A-Z_]+)=(.*)$/.exec(line) ?? [];
    if (key && value !== undefined) values.set(key, value);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) fail(`build-node-image.sh --print-env printed no ${key}`);
    return value;
  };
  return {
    nodeImage: get('NODE_IMAGE'),
    nodeTar: get('NODE_TAR'),
    imagesTar: get('IMAGES_TAR'),
    localImages: (values.get('LOCAL_IMAGES') ?? '').split(',').filter(Boolean),
    kind: get('KIND_BIN'),
    kubectl: get('KUBECTL'),
  };
}

/**
 * The images the chapters run by default (their `kind: image` variables), which the node cannot
 * pull offline. Each one whose repository has a local stand-in (nginx, alpine) is tagged from it,
 * so that a chapter may use, say, nginx:1.29-alpine-slim next to nginx:1.29-alpine. Images a
 * chapter builds itself (getting-started) are left to the chapter.
 */
export function chapterImages(standIns: string[]): { tag: string; from: string }[] {
  const byRepository = new Map(standIns.map((image) => [repository(image), image]));
  const found = new Map<string, string>();
  for (const file of readdirSync(CONTENT).filter((f) => /\.mdx?$/.test(f))) {
    const chapter = collectSnippets(readFileSync(join(CONTENT, file), 'utf8'), file, {
      file: `content/${file}`,
    });
    for (const spec of Object.values(chapter.variables)) {
      if (spec.kind !== 'image' || standIns.includes(spec.default)) continue;
      const from = byRepository.get(repository(spec.default));
      if (from) found.set(spec.default, from);
    }
  }
  return [...found].map(([tag, from]) => ({ tag, from }));
}

/** `nginx:1.29-alpine` → `nginx`; `docker.io/library/nginx:x` → `nginx` */
function repository(image: string): string {
  const name = image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return name.replace(/^(docker\.io\/)?(library\/)?/, '');
}

async function imageLoaded(image: string): Promise<boolean> {
  return (await run('docker', ['image', 'inspect', image])).code === 0;
}

async function clusterExists(kind: string): Promise<boolean> {
  const clusters = await run(kind, ['get', 'clusters']);
  return clusters.code === 0 && clusters.stdout.split('\n').includes(CLUSTER);
}

/**
 * One kind tier at a time on a machine: two would fight over the cluster name `kubenotes`.
 * A lock file holds the owner's pid; a stale one (its process gone) is taken over.
 */
async function lock(path: string): Promise<() => void> {
  const t0 = Date.now();
  let told = false;
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      let alive = false;
      try {
        process.kill(owner, 0);
        alive = owner > 0;
      } catch {
        alive = false;
      }
      if (!alive) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() - t0 > 20 * 60_000)
        fail(`another kind tier (pid ${owner}) has held ${path} for 20 minutes`);
      if (!told) say(`another kind tier runs (pid ${owner}); waiting for it…`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
}

async function deleteCluster(kind: string): Promise<void> {
  const t0 = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'kubenotes-kind-delete-'));
  // --kubeconfig: kind would otherwise edit the user's ~/.kube/config
  const deleted = await run(
    kind,
    ['delete', 'cluster', '--name', CLUSTER, '--kubeconfig', join(scratch, 'kubeconfig')],
    { stream: '   ' },
  );
  rmSync(scratch, { recursive: true, force: true });
  say(
    deleted.code === 0
      ? `cluster ${CLUSTER} deleted in ${since(t0)}`
      : `could not delete the cluster ${CLUSTER}`,
  );
}

async function main(): Promise<void> {
  const built = await buildEnv();
  const NODE_IMAGE = built.nodeImage;
  const NODE_TAR = built.nodeTar;
  const IMAGES_TAR = built.imagesTar;
  const KIND_BIN = built.kind;
  const KUBECTL = built.kubectl;
  const localImages = built.localImages;
  if (!existsSync(NODE_TAR) || !existsSync(IMAGES_TAR) || !existsSync(KIND_BIN)) {
    console.log('kind tier: SKIPPED — node image not cached (build: npm run kind:image)');
    console.log('kind tier: 0 passed, 0 failed, 1 skipped');
    process.exit(0);
  }
  say(`node image ${NODE_IMAGE} (cached: ${NODE_TAR})`);
  const unlock = await lock(join(dirname(NODE_TAR), 'kind-tier.lock'));
  process.on('exit', unlock);

  // 1. Docker: the running engine, or one started here; the last test run using an engine that
  //    tests started stops it (tests/support/docker-engine.ts).
  const engine = await useDockerEngine({ start: true, log: (line) => say(line) });
  if ('unavailable' in engine) fail(`no usable Docker engine: ${engine.unavailable}`);
  let tally: Tally;
  try {
    tally = await withEngine(NODE_IMAGE, NODE_TAR, IMAGES_TAR, KIND_BIN, KUBECTL, localImages);
  } finally {
    say(await engine.leave());
  }
  say(`done in ${since()}`);
  finish(tally);
}

async function withEngine(
  NODE_IMAGE: string,
  NODE_TAR: string,
  IMAGES_TAR: string,
  KIND_BIN: string,
  KUBECTL: string,
  localImages: string[],
): Promise<Tally> {
  // 2. Images.
  if (!(await imageLoaded(NODE_IMAGE))) {
    say('docker load of the node image…');
    const t0 = Date.now();
    if ((await run('docker', ['load', '-i', NODE_TAR])).code !== 0)
      return failed(`docker load -i ${NODE_TAR} failed`);
    say(`node image loaded in ${since(t0)}`);
  }
  const missingLocal: string[] = [];
  for (const image of localImages) if (!(await imageLoaded(image))) missingLocal.push(image);
  if (missingLocal.length > 0) {
    say(`docker load of the stand-in images (${missingLocal.join(', ')})…`);
    if ((await run('docker', ['load', '-i', IMAGES_TAR])).code !== 0)
      return failed(`docker load -i ${IMAGES_TAR} failed`);
  }

  // 3. The cluster. A leftover `kubenotes` cluster from an earlier run of this tier is replaced;
  //    one that someone else made is left alone.
  if (await clusterExists(KIND_BIN)) {
    const image = await run('docker', ['inspect', '--format', '{{.Config.Image}}', NODE_CONTAINER]);
    if (image.stdout.trim() !== NODE_IMAGE) {
      return failed(
        `a kind cluster named ${CLUSTER} already exists and was not made by this tier (its node runs ${image.stdout.trim() || 'an unknown image'}); the kind tier needs that name (chapter 2 uses it). Delete it (kind delete cluster --name ${CLUSTER}) and run again.`,
      );
    }
    say(`removing the ${CLUSTER} cluster left over by an earlier run`);
    await deleteCluster(KIND_BIN);
  }

  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  const work = mkdtempSync(join(tmpdir(), 'kubenotes-kind-tier-'));
  try {
    say(`kind create cluster --name ${CLUSTER} (single node, offline image)…`);
    const t0 = Date.now();
    const created = await run(
      KIND_BIN,
      [
        'create',
        'cluster',
        '--name',
        CLUSTER,
        '--image',
        NODE_IMAGE,
        '--config',
        join(HERE, 'kind-ci.yaml'),
        '--wait',
        '3m',
        '--retain',
        // never the user's ~/.kube/config
        '--kubeconfig',
        join(work, 'kind-create.kubeconfig'),
      ],
      { stream: '   ' },
    );
    if (created.code !== 0) {
      const logs = await run('docker', ['logs', '--tail', '40', NODE_CONTAINER]);
      const journal = await run('docker', [
        'exec',
        NODE_CONTAINER,
        'journalctl',
        '--no-pager',
        '-n',
        '60',
        '-u',
        'kubelet',
        '-u',
        'containerd',
      ]);
      throw new Error(
        `kind create cluster failed after ${since(t0)}.\nnode logs:\n${logs.stdout}\nkubelet/containerd:\n${journal.stdout}`,
      );
    }
    say(`cluster ${CLUSTER} created in ${since(t0)}`);

    for (const { tag, from } of chapterImages(localImages)) {
      if ((await run('docker', ['tag', from, tag])).code !== 0)
        throw new Error(`docker tag ${from} ${tag} failed`);
      say(`${tag}: a chapter uses it; tagged from the stand-in ${from}`);
      localImages.push(tag);
    }
    if (localImages.length > 0) {
      const t1 = Date.now();
      const loaded = await run(
        KIND_BIN,
        ['load', 'docker-image', ...localImages, '--name', CLUSTER],
        { stream: '   ' },
      );
      if (loaded.code !== 0)
        throw new Error(`kind load docker-image ${localImages.join(' ')} failed`);
      say(`loaded ${localImages.join(', ')} into the node in ${since(t1)}`);
    }

    const kubeconfig = join(work, 'kubeconfig');
    const exported = await run(KIND_BIN, ['get', 'kubeconfig', '--name', CLUSTER]);
    if (exported.code !== 0) throw new Error('kind get kubeconfig failed');
    writeFileSync(kubeconfig, exported.stdout, { mode: 0o600 });

    // The node is Ready once its CNI config is read; the doc-tests need the default
    // ServiceAccount (pods cannot be created before it exists).
    const ready = await run(KUBECTL, [
      '--kubeconfig',
      kubeconfig,
      'wait',
      '--for=condition=Ready',
      'node',
      '--all',
      '--timeout=120s',
    ]);
    if (ready.code !== 0) throw new Error(`the node did not become Ready:\n${ready.stdout}`);
    const t2 = Date.now();
    while (
      (await run(KUBECTL, ['--kubeconfig', kubeconfig, 'get', 'serviceaccount', 'default']))
        .code !== 0
    ) {
      if (Date.now() - t2 > 60_000) throw new Error('no default ServiceAccount after 60s');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    // kubectl and kind for the shells (docker is in /usr/local/bin, already on their PATH).
    const tools = join(work, 'bin');
    mkdirSync(tools);
    symlinkSync(KUBECTL, join(tools, 'kubectl'));
    symlinkSync(KIND_BIN, join(tools, 'kind'));

    say('doc-tests of every chapter against the kind cluster…');
    const docs = await run(process.execPath, [join(ROOT, 'tests', 'doc', 'run-doc-tests.ts')], {
      env: {
        KUBENOTES_TEST_KUBECONFIG: kubeconfig,
        KUBENOTES_TEST_KUBECTL_DIR: tools,
        // tells run-doc-tests that docker and kind here belong to this cluster (see README)
        KUBENOTES_TEST_KIND_CLUSTER: CLUSTER,
      },
      stream: '  │ ',
    });
    const summary = /doc-tests: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?/.exec(docs.stdout);
    if (summary) {
      tally.passed += Number(summary[1]);
      tally.failed += Number(summary[2]);
      tally.skipped += Number(summary[3] ?? 0);
    }
    if (docs.code !== 0 && (!summary || Number(summary[2]) === 0)) tally.failed++;

    // The reader's view: a Run in the Pods chapter, a Pod Running in the page's terminal.
    say('Playwright: a Pod from the Pods chapter reaches Running…');
    const e2e = await run(
      process.execPath,
      [join(ROOT, 'node_modules', '.bin', 'playwright'), 'test', 'tests/e2e/kind-pod.spec.ts'],
      {
        env: {
          KUBENOTES_TEST_KUBECONFIG: kubeconfig,
          KUBENOTES_TEST_KUBECTL_DIR: tools,
          KUBENOTES_KIND_E2E: '1',
        },
        stream: '  │ ',
      },
    );
    // Every kind spec counts (the Pods chapter's Pod, and Open through a rollout).
    const e2ePassed = Number(/(\d+) passed/.exec(e2e.stdout)?.[1] ?? 0);
    if (e2e.code === 0 && e2ePassed > 0) tally.passed += e2ePassed;
    else tally.failed++;

    // The user-facing kind provider on this cluster: reuse it, export its kubeconfig,
    // preload an image, report ready.
    say('sandbox server with --cluster kind (reuse, kubeconfig, preload)…');
    if (await kindProviderWorks(tools, work)) tally.passed++;
    else tally.failed++;

    // Offline venues: pack the chapters' images, preload them into this cluster's node.
    say('kubenotes pack, then preload into the kind node…');
    const packed = await run(
      process.execPath,
      [
        '--test',
        '--test-name-pattern=preload',
        join(ROOT, 'tests', 'integration', 'self-hosting.test.ts'),
      ],
      {
        env: { KUBENOTES_TEST_KIND_CLUSTER: CLUSTER, PATH: `${tools}:${process.env.PATH}` },
        stream: '  │ ',
      },
    );
    if (
      packed.code === 0 &&
      /ℹ pass [1-9]/.test(packed.stdout) &&
      /ℹ skipped 0/.test(packed.stdout)
    )
      tally.passed++;
    else tally.failed++;
  } catch (error) {
    say(`FAILED: ${(error as Error).message}`);
    tally.failed++;
  } finally {
    if (process.env.KUBENOTES_KEEP_KIND_CLUSTER) {
      say(`keeping the cluster ${CLUSTER} (KUBENOTES_KEEP_KIND_CLUSTER is set)`);
    } else {
      await deleteCluster(KIND_BIN);
    }
    rmSync(work, { recursive: true, force: true });
  }
  return tally;
}

/** Starts the sandbox with `--cluster kind` and checks what /api/health and its log say. */
async function kindProviderWorks(tools: string, work: string): Promise<boolean> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'sandbox-server', 'bin', 'kubenotes.mjs'),
      'sandbox',
      '--port',
      '0',
      '--cluster',
      'kind',
      '--kind-name',
      CLUSTER,
      '--preload-image',
      'alpine:3.22',
      '--state-dir',
      join(work, 'provider-state'),
    ],
    {
      env: { ...process.env, PATH: `${tools}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let logs = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the sandbox did not start in 120 s')),
        120_000,
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        logs += chunk.toString();
        const match = /"event":"listening","url":"([^"]+)"/.exec(logs);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('exit', (code) =>
        reject(new Error(`the sandbox exited with ${code}: ${logs.slice(-2000)}`)),
      );
    });
    // The server listens before the cluster is had (reading its kubeconfig, preloading):
    // health says `starting` with the step, then ready.
    type Health = {
      cluster: { provider: string; ready: boolean; starting?: boolean; message?: string };
    };
    const ask = async () => (await (await fetch(`${url}/api/health`)).json()) as Health;
    let health = await ask();
    const steps = new Set<string>();
    for (let i = 0; i < 600 && health.cluster.starting; i++) {
      steps.add(health.cluster.message ?? '');
      await new Promise((resolve) => setTimeout(resolve, 200));
      health = await ask();
    }
    say(`  answered while starting: ${[...steps].join(' · ') || '(ready at once)'}`);
    const ok =
      health.cluster.provider === 'kind' &&
      health.cluster.ready &&
      /preloaded alpine:3\.22/.test(logs);
    say(
      `  health: ${JSON.stringify(health.cluster)}; preload logged: ${/preloaded alpine/.test(logs)}`,
    );
    return ok;
  } catch (error) {
    say(`  FAILED: ${(error as Error).message}`);
    return false;
  } finally {
    child.kill('SIGTERM');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
