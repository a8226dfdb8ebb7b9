/**
 * A provider that is still being made — the kind cluster created, its images loaded — so the
 * server can listen (and serve the guide) at once instead of after minutes. Until the real
 * provider is there, its status says what is happening (`starting`, with the latest progress
 * line); once it fails, why. Sessions opened meanwhile get a shell whose KUBECONFIG points at a
 * file that does not exist yet, and a banner saying so; when the cluster is ready, the real
 * provider writes that file, so their kubectl works without a new session.
 */
import { join } from 'node:path';
import type { ClusterLease, ClusterProvider, ClusterStatus } from './provider.ts';

export interface StartingOptions {
  /** the name health shows (`kind`) */
  name: string;
  capabilities: string[];
  /** what it is doing at first, e.g. "creating the kind cluster" */
  first: string;
  /**
   * Makes the real provider, reporting progress in one line at a time; a rejection is the
   * reason the cluster cannot be had, in words the reader can act on.
   */
  start(progress: (line: string) => void): Promise<ClusterProvider>;
}

/** A session opened before the cluster was ready, waiting for its kubeconfig. */
interface Waiting {
  sessionId: string;
  home: string;
  lease?: ClusterLease;
}

export class StartingProvider implements ClusterProvider {
  readonly name: string;
  readonly #capabilities: string[];
  #progress: string;
  #ready: ClusterProvider | undefined;
  #failed: string | undefined;
  readonly #waiting = new Set<Waiting>();
  #disposed = false;
  /** settles when the real provider is there or has failed; never rejects */
  readonly settled: Promise<void>;

  constructor(options: StartingOptions) {
    this.name = options.name;
    this.#capabilities = options.capabilities;
    this.#progress = options.first;
    this.settled = options
      .start((line) => {
        this.#progress = line;
      })
      .then(
        async (provider) => {
          if (this.#disposed) {
            await provider.dispose();
            return;
          }
          this.#ready = provider;
          await this.#handOver(provider);
        },
        (error: Error) => {
          this.#failed = error.message;
        },
      );
  }

  async status(): Promise<ClusterStatus> {
    if (this.#ready) return this.#ready.status();
    if (this.#failed !== undefined) {
      return {
        provider: this.name,
        ready: false,
        message: this.#failed,
        capabilities: this.#capabilities,
      };
    }
    return {
      provider: this.name,
      ready: false,
      starting: true,
      message: this.#progress,
      capabilities: this.#capabilities,
    };
  }

  async lease(sessionId: string, home: string): Promise<ClusterLease> {
    if (this.#ready) return this.#ready.lease(sessionId, home);
    const failed = this.#failed;
    const waiting: Waiting = { sessionId, home };
    if (failed === undefined) this.#waiting.add(waiting);
    const set = this.#waiting;
    return {
      namespace: 'default',
      // Where the real provider's lease writes the kubeconfig (ExistingProvider: ~/.kube/config).
      env: failed === undefined ? { KUBECONFIG: join(home, '.kube', 'config') } : {},
      banner:
        failed === undefined
          ? `kubenotes: the cluster is not ready yet (${this.#progress}); kubectl works in this shell once the dock says "Cluster ready".`
          : `kubenotes: no Kubernetes cluster: ${failed}`,
      get apiAccess() {
        return waiting.lease?.apiAccess;
      },
      async dispose() {
        set.delete(waiting);
        await waiting.lease?.dispose();
      },
    };
  }

  /** The sessions opened while starting get their kubeconfig now. */
  async #handOver(provider: ClusterProvider): Promise<void> {
    for (const waiting of [...this.#waiting]) {
      this.#waiting.delete(waiting);
      try {
        waiting.lease = await provider.lease(waiting.sessionId, waiting.home);
      } catch {
        // That session's shell keeps saying kubectl finds no cluster; a new one will work.
      }
    }
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.#ready?.dispose();
  }
}
