/**
 * Picks the cluster provider from the settings. `auto` uses the sandbox's own kind cluster
 * when Docker and kind are there and that cluster exists, and otherwise a plain shell that
 * says what is missing. The reader's current kubectl context is never used implicitly.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../config.ts';
import { ExistingProvider } from './existing-provider.ts';
import { NoneProvider } from './none-provider.ts';
import type { ClusterProvider } from './provider.ts';

const run = promisify(execFile);

async function succeeds(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  try {
    const { stdout } = await run(command, args, { env, timeout: 15_000 });
    return stdout;
  } catch {
    return null;
  }
}

export async function localCapabilities(env: NodeJS.ProcessEnv): Promise<string[]> {
  const [docker, kind] = await Promise.all([
    succeeds('docker', ['version', '--format', '{{.Server.Version}}'], env),
    succeeds('kind', ['version'], env),
  ]);
  return [...(docker !== null ? ['docker'] : []), ...(kind !== null ? ['kind'] : [])];
}

export async function chooseProvider(
  config: Config,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<ClusterProvider> {
  const { provider, kubeconfig, context, kindName } = config.cluster;
  // Only a trusted local reader's shell may use the host's Docker engine and kind.
  const capabilities = config.mode === 'local' ? await localCapabilities(env) : [];
  switch (provider) {
    case 'none':
      return new NoneProvider(
        'no Kubernetes cluster is connected (started with --cluster none).',
        capabilities,
      );
    case 'existing':
      if (!kubeconfig || !context) {
        throw new Error(
          '--cluster existing needs both --kubeconfig FILE and --context NAME: the sandbox never guesses which cluster to use.',
        );
      }
      return new ExistingProvider({ kubeconfig, context, capabilities });
    case 'kind':
    case 'auto': {
      const kind = await kindCluster(kindName, stateDir, env);
      if (kind) {
        return new ExistingProvider({
          kubeconfig: kind,
          context: `kind-${kindName}`,
          name: 'kind',
          capabilities,
        });
      }
      const missing = !capabilities.includes('docker')
        ? 'Docker is not installed or not running'
        : !capabilities.includes('kind')
          ? 'kind is not installed'
          : `the kind cluster "${kindName}" does not exist (create it: kind create cluster --name ${kindName})`;
      if (provider === 'kind') throw new Error(`--cluster kind: ${missing}.`);
      return new NoneProvider(
        `no Kubernetes cluster: ${missing}. kubectl will fail; the shell still works. See the README's "Clusters" section.`,
        capabilities,
      );
    }
  }
}

/** The kubeconfig of the named kind cluster, written to the state folder, or null. */
async function kindCluster(
  name: string,
  stateDir: string,
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  const clusters = await succeeds('kind', ['get', 'clusters'], env);
  if (!clusters?.split('\n').includes(name)) return null;
  const kubeconfig = await succeeds('kind', ['get', 'kubeconfig', '--name', name], env);
  if (!kubeconfig) return null;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, `kind-${name}.kubeconfig`);
  writeFileSync(path, kubeconfig, { mode: 0o600 });
  return path;
}
