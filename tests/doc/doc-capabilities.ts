/**
 * What the doc-test tier offers the chapters' `needs=docker|kind` blocks, decided here, by the
 * tier, never by whatever an earlier test left on the machine. A capability is either had in
 * full, with what its blocks need, or declared unavailable with the reason; never half:
 *
 *   docker  a running Docker engine (the doc-tests never start one) AND every base image the
 *           chapters' Docker blocks build FROM: present in the engine, or a local stand-in made
 *           now with tests/kind/make-stand-ins.sh, as the kind tier makes them;
 *   kind    only the kind tier's own cluster (KUBENOTES_TEST_KIND_CLUSTER): the test cluster's
 *           nodes are simulated, so `kind load` and the node's crictl have nothing to work on.
 *
 * The Docker blocks change the engine's images (`docker build -t getting-started…`, `docker
 * image rm`), so the runs on one machine take turns at them (dockerChapterLock).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChapterSource, chapterImages } from '../../sandbox-server/src/pack/chapter-images.ts';
import type { Requirement } from '../../src/snippets/meta.ts';
import { dockerEngineStateDir, useDockerEngine } from '../support/docker-engine.ts';
import { withMachineLock } from '../support/machine-lock.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAKE_STAND_INS = join(ROOT, 'tests', 'kind', 'make-stand-ins.sh');

export interface TierCapability {
  name: Requirement;
  had: boolean;
  /** why it is had or not, in a sentence for the summary */
  why: string;
}

export interface TierCapabilities {
  list: TierCapability[];
  /** the names of the capabilities had, for the sandbox's provider */
  had: Requirement[];
  /** Gives back what was taken (the Docker engine); says what became of it. */
  release(): Promise<void>;
}

type Log = (line: string) => void;

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log?: Log,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) log?.(line);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Held while stand-ins are made and while a chapter's Docker blocks run. */
export function dockerChapterLock<T>(log: Log, body: () => Promise<T>): Promise<T> {
  return withMachineLock(
    join(dockerEngineStateDir(), 'chapters.lock'),
    "the Docker engine (another run's Docker blocks)",
    log,
    body,
  );
}

async function decideKind(env: NodeJS.ProcessEnv): Promise<TierCapability> {
  const cluster = env.KUBENOTES_TEST_KIND_CLUSTER;
  if (!cluster) {
    return {
      name: 'kind',
      had: false,
      why: 'the test cluster is not a kind cluster (kwok simulates its nodes); the kind tier runs these blocks on a real one (npm run kind:image)',
    };
  }
  const listed = await run('kind', ['get', 'clusters'], env);
  if (listed.code !== 0 || !listed.stdout.split('\n').includes(cluster)) {
    return {
      name: 'kind',
      had: false,
      why: `the kind cluster ${cluster} (KUBENOTES_TEST_KIND_CLUSTER) is not there: ${(listed.stderr || listed.stdout).trim() || 'kind get clusters does not list it'}`,
    };
  }
  return { name: 'kind', had: true, why: `the kind tier's cluster ${cluster}` };
}

/** The base images the chapters' Docker blocks build FROM. */
export function dockerBaseImages(chapters: readonly ChapterSource[]): string[] {
  return chapterImages(chapters)
    .images.filter((image) => image.where.includes('docker'))
    .map((image) => image.image);
}

/**
 * Decides both capabilities. `env` is the shells' environment (their PATH finds docker and
 * kind as the shells will).
 */
export async function decideCapabilities(options: {
  chapters: readonly ChapterSource[];
  env: NodeJS.ProcessEnv;
  log: Log;
}): Promise<TierCapabilities> {
  const { chapters, env, log } = options;
  const kind = await decideKind(env);
  let leave: (() => Promise<string>) | undefined;
  const docker = await (async (): Promise<TierCapability> => {
    const engine = await useDockerEngine({ start: false, log });
    if ('unavailable' in engine) {
      return {
        name: 'docker',
        had: false,
        why: `${engine.unavailable}; the doc-tests use an engine that runs and never start one (the kind tier does)`,
      };
    }
    leave = engine.leave;
    const bases = dockerBaseImages(chapters);
    const standIns = (await run('bash', [MAKE_STAND_INS, '--list'], env)).stdout
      .split('\n')
      .filter(Boolean);
    const notes: string[] = [];
    const missing: string[] = [];
    for (const image of bases) {
      const present = (await run('docker', ['image', 'inspect', image], env)).code === 0;
      if (present) notes.push(`${image} present`);
      else missing.push(image);
    }
    const impossible = missing.filter((image) => !standIns.includes(image));
    if (impossible.length > 0) {
      return {
        name: 'docker',
        had: false,
        why: `engine ${engine.version}, but the Docker blocks build FROM ${impossible.join(', ')}, which it lacks and for which there is no local stand-in (tests/kind/make-stand-ins.sh)`,
      };
    }
    if (missing.length > 0) {
      log(
        `making the stand-in ${missing.join(', ')} (the Docker blocks build FROM it; no registry)…`,
      );
      const made = await dockerChapterLock(log, () =>
        run('bash', [MAKE_STAND_INS, '--missing', ...missing], env, (line) => log(`  ${line}`)),
      );
      if (made.code !== 0) {
        return {
          name: 'docker',
          had: false,
          why: `engine ${engine.version}, but the stand-in ${missing.join(', ')} could not be made: ${made.stderr.trim().split('\n').at(-1)}`,
        };
      }
      notes.push(...missing.map((image) => `stand-in ${image} made now`));
    }
    return {
      name: 'docker',
      had: true,
      why: `Docker engine ${engine.version}; base images: ${notes.join(', ') || 'none needed'}`,
    };
  })();
  const list = [docker, kind];
  return {
    list,
    had: list.filter((c) => c.had).map((c) => c.name),
    async release() {
      if (leave) log(await leave());
    },
  };
}
