/**
 * The sandbox's own kind cluster: reused when it exists, created when it does not (with
 * progress shown), its kubeconfig written to the server's state folder — never into the
 * reader's ~/.kube/config — and images from the settings preloaded into its nodes for venues
 * with a bad network. Every failure says what is missing and how to get it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KindOptions {
  name: string;
  /** kind's cluster config (node count, port mappings) */
  configFile: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** create the cluster when it does not exist */
  create: boolean;
  /** a node image other than kind's default (an offline one, say) */
  image?: string | undefined;
  /** images to load into the nodes */
  preload: readonly string[];
  /** the server runs in a container on the kind network: use the node's internal address */
  internal: boolean;
  progress: (line: string) => void;
}

export class KindError extends Error {}

async function output(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run(command, args, {
    env,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Docker and kind are there and Docker answers; else a KindError that says what to do. */
export async function checkKindTools(env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await output('kind', ['version'], env);
  } catch {
    throw new KindError(
      'kind is not installed: get it from https://kind.sigs.k8s.io/docs/user/quick-start/#installation (or use --cluster existing).',
    );
  }
  try {
    await output('docker', ['info', '--format', '{{.ServerVersion}}'], env);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new KindError(
      missing
        ? 'Docker is not installed: kind runs its nodes as Docker containers. Install Docker (https://docs.docker.com/engine/install/).'
        : 'Docker is installed but not running (or this user may not use it): start Docker, then try again.',
    );
  }
}

export async function kindClusterExists(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    return (await output('kind', ['get', 'clusters'], env)).split('\n').includes(name);
  } catch {
    return false;
  }
}

/** The arguments of `kind create cluster` for these options. Pure. */
export function createArgs(
  options: Pick<KindOptions, 'name' | 'configFile' | 'image'>,
  kubeconfig: string,
): string[] {
  return [
    'create',
    'cluster',
    '--name',
    options.name,
    '--config',
    options.configFile,
    ...(options.image ? ['--image', options.image] : []),
    '--wait',
    '3m',
    // kind would otherwise switch the reader's current kubectl context to this cluster.
    '--kubeconfig',
    kubeconfig,
  ];
}

/** Makes sure the cluster exists and is reachable; returns the path of its kubeconfig. */
export async function ensureKindCluster(options: KindOptions): Promise<string> {
  const { name, env, progress } = options;
  await checkKindTools(env);
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const kubeconfig = join(options.stateDir, `kind-${name}.kubeconfig`);
  if (!(await kindClusterExists(name, env))) {
    if (!options.create) {
      throw new KindError(
        `the kind cluster "${name}" does not exist (create it: kind create cluster --name ${name}).`,
      );
    }
    const freeGiB = freemem() / 1024 ** 3;
    if (freeGiB < 2) {
      progress(
        `kind: only ${freeGiB.toFixed(1)} GiB of memory is free; a kind node wants about 2 GiB.`,
      );
    }
    progress(`kind: creating the cluster "${name}" (the first time only; a minute or two)…`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        'kind',
        createArgs(options, join(options.stateDir, `kind-${name}.create.kubeconfig`)),
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const relay = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n'))
          if (line.trim()) progress(`kind: ${line.trim()}`);
      };
      child.stdout.on('data', relay);
      child.stderr.on('data', relay);
      child.on('error', () => resolve(-1));
      child.on('exit', resolve);
    });
    if (code !== 0) {
      const logs = await output(
        'docker',
        ['logs', '--tail', '20', `${name}-control-plane`],
        env,
      ).catch(() => '');
      throw new KindError(
        `the kind cluster "${name}" did not come up (kind exited with ${code}).${logs ? ` Last lines of its node:\n${logs}` : ''}\nDelete it (kind delete cluster --name ${name}) and try again; check that Docker has at least 2 GiB of memory.`,
      );
    }
  }
  progress(`kind: the cluster "${name}" is there; reading its kubeconfig`);
  const config = await output(
    'kind',
    ['get', 'kubeconfig', '--name', name, ...(options.internal ? ['--internal'] : [])],
    env,
  );
  writeFileSync(kubeconfig, config, { mode: 0o600 });
  if (options.preload.length > 0) {
    progress(`kind: loading ${options.preload.length} image(s) into the cluster's node`);
    await preload(options);
  }
  return kubeconfig;
}

/** Loads the listed images into the nodes; reports which were loaded and which were not. */
async function preload(options: KindOptions): Promise<void> {
  for (const image of options.preload) {
    try {
      await output('kind', ['load', 'docker-image', image, '--name', options.name], options.env);
      options.progress(`kind: preloaded ${image}`);
    } catch {
      options.progress(
        `kind: could not preload ${image}: it is not in the local Docker engine (docker pull ${image} where there is a network, or kubenotes preload an archive).`,
      );
    }
  }
}
