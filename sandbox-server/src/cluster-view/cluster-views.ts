/**
 * The cluster view's server side (docs/cluster-view.md): a terminal socket subscribes, gets a
 * snapshot of its session's namespace, then the changes in batches. The namespace is always
 * the session's own (from its lease), never one the page names.
 *
 * Workshop mode: one ClusterFeed for the whole instance (one watch per kind, with the
 * server's identity, which alone may watch across namespaces), started on the first
 * subscribe, keeping only the namespaces of live sessions and fanning each out to its own
 * session's sockets, once the session's own credentials have shown they may read it. Local mode: a feed per session, with the session's own credentials, in its
 * namespace, ended with its last subscriber.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Attachment } from '../session/attachment.ts';
import type { ClusterChange, ClusterEvent } from '../shared/cluster-objects.ts';
import type { Logger } from '../telemetry/log.ts';
import { ClusterFeed } from './cluster-feed.ts';
import type { WatchCounters } from './kind-watch.ts';

/** Changes within this long go to the page as one message (a rollout is a burst of them). */
const BATCH_MS = 20;

export interface ViewedSession {
  id: string;
  namespace: string;
  /** the session's own credentials (ClusterLease.apiAccess); none: no cluster */
  apiAccess: KubeConfig | undefined;
}

interface Subscription {
  session: ViewedSession;
  feed: ClusterFeed;
  stop: (() => void) | undefined;
  changes: Map<string, ClusterChange>;
  events: Map<string, ClusterEvent>;
  timer: NodeJS.Timeout | undefined;
}

export class ClusterViews {
  readonly #shared: { config: KubeConfig; accepts: (namespace: string) => boolean } | undefined;
  readonly #log: Logger;
  readonly #subscriptions = new Map<Attachment, Subscription>();
  /** workshop: the one feed; local: one per session id */
  #sharedFeed: ClusterFeed | undefined;
  readonly #localFeeds = new Map<string, ClusterFeed>();
  /** workshop: whether each session's own credentials may list its namespace (#mayList) */
  readonly #allowed = new Map<string, Promise<string | undefined>>();
  readonly counters: WatchCounters = { lists: 0, watches: 0 };

  constructor(init: {
    /** workshop mode: the identity that watches every namespace, and which are the instance's */
    shared?: { config: KubeConfig; accepts: (namespace: string) => boolean } | undefined;
    log: Logger;
  }) {
    this.#shared = init.shared;
    this.#log = init.log;
  }

  get subscribers(): number {
    return this.#subscriptions.size;
  }

  /** Drops what the shared feed keeps of namespaces no live session has. */
  prune(live: (sessionId: string) => boolean = () => true): void {
    this.#sharedFeed?.prune();
    for (const id of this.#allowed.keys()) if (!live(id)) this.#allowed.delete(id);
  }

  /** Namespaces the shared feed keeps objects of (workshop mode). */
  get namespacesHeld(): number {
    return this.#sharedFeed?.namespaces ?? 0;
  }

  subscribe(session: ViewedSession, attachment: Attachment): void {
    if (this.#subscriptions.has(attachment)) return;
    const feed = this.#feedFor(session);
    if (!feed) {
      attachment.send({
        type: 'cluster-unavailable',
        message: 'No cluster is connected, so there is nothing to show yet.',
      });
      return;
    }
    const subscription: Subscription = {
      session,
      feed,
      stop: undefined,
      changes: new Map(),
      events: new Map(),
      timer: undefined,
    };
    this.#subscriptions.set(attachment, subscription);
    const allowed = feed === this.#sharedFeed ? this.#mayList(session) : Promise.resolve(undefined);
    void Promise.all([feed.ready(), allowed]).then(([, refused]) => {
      if (this.#subscriptions.get(attachment) !== subscription) return;
      if (refused) {
        this.unsubscribe(attachment);
        attachment.send({ type: 'cluster-unavailable', message: refused });
        return;
      }
      if (feed.failure) {
        attachment.send({ type: 'cluster-unavailable', message: feed.failure });
      }
      const { objects, events } = feed.snapshot(session.namespace);
      attachment.send({ type: 'cluster-snapshot', namespace: session.namespace, objects, events });
      subscription.stop = feed.listen(session.namespace, {
        changed: (change) => {
          const key = change.op === 'put' ? change.object.uid : change.uid;
          // A later change of the same object replaces an earlier one not yet sent.
          subscription.changes.delete(key);
          subscription.changes.set(key, change);
          this.#schedule(attachment, subscription);
        },
        event: (event) => {
          subscription.events.set(event.uid, event);
          this.#schedule(attachment, subscription);
        },
      });
    });
  }

  /**
   * The shared feed watches with the server's identity; a session sees its part only if its
   * own credentials may list Pods in its namespace (one request, remembered for the session).
   * Resolves with why not, or undefined.
   */
  #mayList(session: ViewedSession): Promise<string | undefined> {
    let check = this.#allowed.get(session.id);
    if (!check) {
      const access = session.apiAccess;
      check = access
        ? access
            .makeApiClient(CoreV1Api)
            .listNamespacedPod({ namespace: session.namespace, limit: 1 })
            .then(
              () => undefined,
              (error: Error) => {
                this.#allowed.delete(session.id);
                return `Your credentials may not list the Pods of ${session.namespace}: ${error.message}`;
              },
            )
        : Promise.resolve('This session has no credentials for the cluster.');
      this.#allowed.set(session.id, check);
    }
    return check;
  }

  #schedule(attachment: Attachment, subscription: Subscription): void {
    if (subscription.timer) return;
    subscription.timer = setTimeout(() => {
      subscription.timer = undefined;
      if (attachment.closed) return this.unsubscribe(attachment);
      const changes = [...subscription.changes.values()];
      const events = [...subscription.events.values()].sort((a, b) => (a.at < b.at ? 1 : -1));
      subscription.changes.clear();
      subscription.events.clear();
      attachment.send({ type: 'cluster-changes', changes, events });
    }, BATCH_MS);
    subscription.timer.unref();
  }

  unsubscribe(attachment: Attachment): void {
    const subscription = this.#subscriptions.get(attachment);
    if (!subscription) return;
    this.#subscriptions.delete(attachment);
    clearTimeout(subscription.timer);
    subscription.stop?.();
    const { session, feed } = subscription;
    if (feed === this.#sharedFeed) feed.prune();
    if (feed !== this.#sharedFeed && feed.listeners === 0 && !this.#waiting(feed)) {
      feed.dispose();
      this.#localFeeds.delete(session.id);
    }
  }

  /** A subscription still waiting for this feed's first list. */
  #waiting(feed: ClusterFeed): boolean {
    for (const s of this.#subscriptions.values()) if (s.feed === feed) return true;
    return false;
  }

  #feedFor(session: ViewedSession): ClusterFeed | undefined {
    if (this.#shared) {
      this.#sharedFeed ??= new ClusterFeed({
        config: this.#shared.config,
        namespace: undefined,
        accepts: this.#shared.accepts,
        log: this.#log,
        counters: this.counters,
      });
      return this.#sharedFeed;
    }
    if (!session.apiAccess) return undefined;
    let feed = this.#localFeeds.get(session.id);
    if (!feed) {
      feed = new ClusterFeed({
        config: session.apiAccess,
        namespace: session.namespace,
        accepts: (namespace) => namespace === session.namespace,
        log: this.#log,
        counters: this.counters,
      });
      this.#localFeeds.set(session.id, feed);
    }
    return feed;
  }

  dispose(): void {
    for (const attachment of [...this.#subscriptions.keys()]) this.unsubscribe(attachment);
    this.#sharedFeed?.dispose();
    this.#sharedFeed = undefined;
    for (const feed of this.#localFeeds.values()) feed.dispose();
    this.#localFeeds.clear();
  }
}
