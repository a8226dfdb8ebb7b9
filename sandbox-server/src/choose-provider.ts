/**
 * Picks the cluster provider from the settings. `auto` uses the sandbox's own kind cluster
 * when Docker and kind are there and that cluster exists, and otherwise a plain shell that
 * says what is missing. The reader's current kubectl context is never used implicitly.
 */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from './config/config.ts';
import { relayedShells } from './config/config.ts';
import { SANDBOX_API_PORT } from './isolation/api-relay.ts';
import { ExistingProvider, loadKubeconfig } from './providers/existing-provider.ts';
import { ensureKindCluster } from './providers/kind-cluster.ts';
import { NoneProvider } from './providers/none-provider.ts';
import type { ClusterProvider } from './providers/provider.ts';
import { StartingProvider } from './providers/starting-provider.ts';
import { DEFAULT_LIMITS } from './providers/tenancy/tenancy-objects.ts';
import { TenancyProvider } from './providers/tenancy/tenancy-provider.ts';
import { refuseTestCluster } from './providers/test-cluster.ts';
import type { Logger } from './telemetry/log.ts';

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
  log: Logger,
  onTiming?: (what: 'create' | 'delete', ms: number) => void,
): Promise<ClusterProvider> {
  if (config.mode === 'workshop') return workshopProvider(config, stateDir, env, log, onTiming);
  return localProvider(config, stateDir, env, log);
}

/**
 * Workshop mode: a namespace per participant on the named cluster (existing, or the kind
 * cluster), never a plain shared shell with the admin's credentials.
 */
async function workshopProvider(
  config: Config,
  stateDir: string,
  env: NodeJS.ProcessEnv,
  log: Logger,
  onTiming?: (what: 'create' | 'delete', ms: number) => void,
): Promise<ClusterProvider> {
  const { provider, kubeconfig, context, kindName } = config.cluster;
  let file = kubeconfig;
  let name = context;
  if (provider === 'existing') {
    if (!file || !name) {
      throw new Error('--cluster existing needs both --kubeconfig FILE and --context NAME.');
    }
  } else if (provider === 'kind' || provider === 'auto') {
    try {
      file = await kindCluster(config, stateDir, env, log);
    } catch (error) {
      throw new Error(
        `Workshop mode needs a cluster, and the kind cluster could not be had: ${(error as Error).message} Or use --cluster existing --kubeconfig FILE --context NAME.`,
      );
    }
    name = `kind-${kindName}`;
  } else {
    throw new Error(
      'Workshop mode needs a cluster; --cluster none gives participants nothing to use.',
    );
  }
  const admin = loadKubeconfig(file, name ?? '');
  refuseTestCluster(admin, env);
  return new TenancyProvider({
    admin,
    instance: config.instance,
    tokenSeconds: Math.ceil(config.sessions.lifetime / 1000),
    limits: { ...DEFAULT_LIMITS, ...config.quota },
    podSecurity: config.podSecurity,
    podShell: config.shell.podImage ? { image: config.shell.podImage } : undefined,
    shellServer: relayedShells(config) ? `https://127.0.0.1:${SANDBOX_API_PORT}` : undefined,
    log,
    ...(onTiming ? { onTiming } : {}),
  });
}

async function localProvider(
  config: Config,
  stateDir: string,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<ClusterProvider> {
  const { provider, kubeconfig, context, kindName } = config.cluster;
  // Only a trusted local reader's shell may use the host's Docker engine and kind.
  const capabilities = await localCapabilities(env);
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
      const usable = capabilities.includes('docker') && capabilities.includes('kind');
      if (provider === 'auto' && !usable) {
        const missing = !capabilities.includes('docker')
          ? 'Docker is not installed or not running'
          : 'kind is not installed';
        return new NoneProvider(
          `no Kubernetes cluster: ${missing}. kubectl will fail; the shell still works. See the README's "What you need".`,
          capabilities,
        );
      }
      // The server listens (and serves the guide) while the cluster is made: a first run
      // pulls the node image for minutes. Health and the dock show how far it has got.
      return new StartingProvider({
        name: 'kind',
        capabilities,
        first: `checking the kind cluster "${kindName}"`,
        start: async (progress) => {
          let kubeconfig: string;
          try {
            kubeconfig = await kindCluster(config, stateDir, env, log, progress);
          } catch (error) {
            const message =
              provider === 'kind'
                ? `--cluster kind: ${(error as Error).message}`
                : `no Kubernetes cluster: ${(error as Error).message}`;
            log.log('error', 'cluster_failed', { message });
            throw new Error(message);
          }
          log.log('info', 'cluster_ready', { provider: 'kind' });
          return new ExistingProvider({
            kubeconfig,
            context: `kind-${kindName}`,
            name: 'kind',
            capabilities,
          });
        },
      });
    }
  }
}

/** The sandbox's kind cluster, reused or created; errors say what is missing. */
function kindCluster(
  config: Config,
  stateDir: string,
  env: NodeJS.ProcessEnv,
  log: Logger,
  report?: (line: string) => void,
): Promise<string> {
  const { kindName, kindConfig, kindImage, preloadImages } = config.cluster;
  return ensureKindCluster({
    name: kindName,
    configFile: kindConfig ?? fileURLToPath(new URL('../kind/kind-config.yaml', import.meta.url)),
    image: kindImage,
    stateDir,
    env,
    create: true,
    preload: preloadImages,
    // Inside a container on the kind network (the compose file sets it), the node's own
    // address; on the host, the port kind published. Being in some container says neither.
    internal: env.KUBENOTES_KIND_INTERNAL === '1',
    progress: (line) => {
      log.log('info', 'kind', { message: line });
      report?.(line);
    },
  });
}
