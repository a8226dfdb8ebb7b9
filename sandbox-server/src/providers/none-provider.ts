import type { ClusterLease, ClusterProvider, ClusterStatus } from './provider.ts';

/** A plain shell with no cluster, and one line in the terminal saying what is missing. */
export class NoneProvider implements ClusterProvider {
  readonly name = 'none';
  readonly #reason: string;
  readonly #capabilities: string[];

  constructor(reason: string, capabilities: string[] = []) {
    this.#reason = reason;
    this.#capabilities = capabilities;
  }

  async status(): Promise<ClusterStatus> {
    return {
      provider: this.name,
      ready: false,
      message: this.#reason,
      capabilities: this.#capabilities,
    };
  }

  async lease(): Promise<ClusterLease> {
    return {
      namespace: 'default',
      // KUBECONFIG unset and HOME private: kubectl finds no cluster rather than a real one.
      env: {},
      banner: `kubenotes: ${this.#reason}`,
      async dispose() {},
    };
  }

  async dispose(): Promise<void> {}
}
