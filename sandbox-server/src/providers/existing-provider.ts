/**
 * Any cluster reachable through a kubeconfig and a context, named explicitly. In local mode
 * each session gets a copy of that kubeconfig pinned to the context, so the reader's own
 * current-context can never be picked up by accident.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { ClusterLease, ClusterProvider, ClusterStatus } from './provider.ts';

export interface ExistingOptions {
  kubeconfig: string;
  context: string;
  /** the provider name shown in health (`existing`, or `kind` when kind made the cluster) */
  name?: string;
  capabilities?: string[];
}

export class ExistingProvider implements ClusterProvider {
  readonly name: string;
  readonly #config: KubeConfig;
  readonly #context: string;
  readonly #capabilities: string[];
  #checked: { at: number; status: ClusterStatus } | undefined;

  constructor(options: ExistingOptions) {
    this.name = options.name ?? 'existing';
    this.#context = options.context;
    this.#capabilities = options.capabilities ?? [];
    this.#config = loadKubeconfig(options.kubeconfig, options.context);
  }

  /** The cluster's API answers /version; cached for a few seconds. */
  async status(): Promise<ClusterStatus> {
    if (this.#checked && Date.now() - this.#checked.at < 5000) return this.#checked.status;
    let status: ClusterStatus;
    try {
      const version = await this.#config.makeApiClient(VersionApi).getCode();
      status = {
        provider: this.name,
        ready: true,
        message: `Kubernetes ${version.gitVersion} (context ${this.#context})`,
        capabilities: this.#capabilities,
      };
    } catch (error) {
      const server = this.#config.getCurrentCluster()?.server ?? 'its server';
      status = {
        provider: this.name,
        ready: false,
        message: `The cluster of context ${this.#context} (${server}) does not answer: ${(error as Error).message}. Start it, or choose another with --kubeconfig and --context.`,
        capabilities: this.#capabilities,
      };
    }
    this.#checked = { at: Date.now(), status };
    return status;
  }

  async lease(_sessionId: string, home: string): Promise<ClusterLease> {
    const dir = join(home, '.kube');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'config');
    writeFileSync(path, this.#config.exportConfig(), { mode: 0o600 });
    const namespace = this.#config.getContextObject(this.#context)?.namespace ?? 'default';
    return { namespace, env: { KUBECONFIG: path }, apiAccess: this.#config, async dispose() {} };
  }

  async dispose(): Promise<void> {}
}

/** Loads a kubeconfig pinned to one context, with an error that says what to fix. */
export function loadKubeconfig(file: string, context: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new Error(`Cannot read the kubeconfig ${file}: ${(error as Error).message}`);
  }
  if (!config.getContextObject(context)) {
    const names = config.getContexts().map((c) => c.name);
    throw new Error(
      `The kubeconfig ${file} has no context "${context}"; it has: ${names.join(', ') || 'none'}.`,
    );
  }
  config.setCurrentContext(context);
  return config;
}
