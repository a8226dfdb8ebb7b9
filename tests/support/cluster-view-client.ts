/**
 * The cluster view as a test sees it: subscribes on a terminal socket and keeps the page's
 * model (shared/cluster-model.ts) current from the snapshot and changes, as the page does.
 */
import {
  ClusterModel,
  type ClusterTree,
  clusterTree,
} from '../../sandbox-server/src/shared/cluster-model.ts';
import type { ServerMessage } from '../../sandbox-server/src/shared/protocol.ts';
import type { TerminalClient } from './terminal-client.ts';

export class ClusterViewClient {
  readonly model = new ClusterModel();
  readonly #term: TerminalClient;
  #seen = 0;
  snapshots = 0;
  unavailable: string | undefined;

  constructor(term: TerminalClient) {
    this.#term = term;
  }

  /** Subscribes and waits for the first snapshot. */
  async subscribe(timeoutMs = 15_000): Promise<void> {
    this.#term.send({ type: 'cluster-subscribe' });
    await this.until(() => this.snapshots > 0, 'the first snapshot', timeoutMs);
  }

  #catchUp(): void {
    const messages = this.#term.messages;
    for (; this.#seen < messages.length; this.#seen++) this.#apply(messages[this.#seen]!);
  }

  #apply(message: ServerMessage): void {
    if (message.type === 'cluster-snapshot') {
      this.snapshots++;
      this.model.snapshot(message.namespace, message.objects, message.events);
    } else if (message.type === 'cluster-changes') {
      this.model.apply(message.changes, message.events);
    } else if (message.type === 'cluster-unavailable') {
      this.unavailable = message.message;
    }
  }

  tree(): ClusterTree {
    this.#catchUp();
    return clusterTree(this.model.objects.values());
  }

  /** Waits until `check` holds of the model; says what the model held when it did not. */
  until(check: (tree: ClusterTree) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return this.#term
      .waitFor(() => check(this.tree()), timeoutMs, what)
      .catch((error: Error) => {
        throw new Error(`${error.message.split('. Closed')[0]}; the view held: ${this.describe()}`);
      });
  }

  describe(): string {
    const t = this.tree();
    return JSON.stringify({
      deployments: t.deployments.map((d) => ({
        name: d.deployment.name,
        replicaSets: d.replicaSets.map(
          (r) =>
            `${r.replicaSet.name} rev ${r.replicaSet.revision}: ${r.pods.map((p) => `${p.name}(${p.phase})`).join(' ')}`,
        ),
      })),
      pods: t.pods.map((p) => p.name),
      services: t.services.map((s) => `${s.service.name}: ${s.endpoints.length}`),
      unavailable: this.unavailable,
    });
  }
}
