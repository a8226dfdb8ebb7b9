/**
 * The objects of one or many namespaces, kept current by one KindWatch per kind, and told to
 * whoever listens to a namespace. In workshop mode one feed watches every namespace with the
 * server's identity and keeps only the instance's (`accepts`); each session listens to its
 * own namespace only. In local mode a feed watches the reader's namespace with the reader's
 * own kubeconfig.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  type ClusterChange,
  type ClusterEvent,
  type ClusterObject,
  EVENTS_KEPT,
  type ObjectKind,
} from '../shared/cluster-objects.ts';
import type { Logger } from '../telemetry/log.ts';
import { type KindSource, KindWatch, type WatchCounters } from './kind-watch.ts';
import { project, projectEvent } from './project.ts';

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON; project.ts reads it
type Json = any;

const collection =
  (group: string, resource: string) =>
  (namespace: string | undefined): string =>
    `${group}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${resource}`;

const SOURCES: (KindSource & { kind: ObjectKind | 'Event' })[] = [
  { kind: 'Deployment', apiVersion: 'apps/v1', path: collection('/apis/apps/v1', 'deployments') },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', path: collection('/apis/apps/v1', 'replicasets') },
  { kind: 'Pod', apiVersion: 'v1', path: collection('/api/v1', 'pods') },
  { kind: 'Service', apiVersion: 'v1', path: collection('/api/v1', 'services') },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    path: collection('/apis/discovery.k8s.io/v1', 'endpointslices'),
  },
  { kind: 'Event', apiVersion: 'v1', path: collection('/api/v1', 'events') },
];

export interface FeedListener {
  changed(change: ClusterChange): void;
  event(event: ClusterEvent): void;
}

interface NamespaceState {
  /** by `kind/uid` */
  objects: Map<string, ClusterObject>;
  events: Map<string, ClusterEvent>;
  listeners: Set<FeedListener>;
}

export class ClusterFeed {
  readonly #namespaces = new Map<string, NamespaceState>();
  readonly #watches: KindWatch[] = [];
  readonly #accepts: (namespace: string) => boolean;
  #listed = new Set<string>();
  #failure: string | undefined;
  #readyWaiters: (() => void)[] = [];

  constructor(init: {
    config: KubeConfig;
    /** one namespace, or undefined for all */
    namespace: string | undefined;
    accepts: (namespace: string) => boolean;
    log: Logger;
    counters: WatchCounters;
  }) {
    this.#accepts = init.accepts;
    for (const source of SOURCES) {
      const watch = new KindWatch({
        config: init.config,
        source,
        namespace: init.namespace,
        log: init.log,
        counters: init.counters,
        sink: {
          listed: (items) => this.#listedAll(source.kind, items),
          put: (item) => this.#put(source.kind, item),
          removed: (item) => this.#removed(source.kind, item),
          failed: (message) => {
            this.#failure ??= message;
            this.#markListed(source.kind);
          },
        },
      });
      this.#watches.push(watch);
      watch.start();
    }
  }

  /** Resolves once every kind has been listed once (or has failed). */
  ready(): Promise<void> {
    if (this.#listed.size === SOURCES.length) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Why the feed cannot show the namespace, if it cannot. */
  get failure(): string | undefined {
    return this.#failure;
  }

  snapshot(namespace: string): { objects: ClusterObject[]; events: ClusterEvent[] } {
    const state = this.#namespaces.get(namespace);
    return {
      objects: [...(state?.objects.values() ?? [])],
      events: newestFirst([...(state?.events.values() ?? [])]),
    };
  }

  listen(namespace: string, listener: FeedListener): () => void {
    const state = this.#state(namespace);
    state.listeners.add(listener);
    return () => {
      state.listeners.delete(listener);
      // A namespace nobody listens to keeps its objects: the next subscribe shows them at once.
    };
  }

  get listeners(): number {
    let n = 0;
    for (const state of this.#namespaces.values()) n += state.listeners.size;
    return n;
  }

  #state(namespace: string): NamespaceState {
    let state = this.#namespaces.get(namespace);
    if (!state) {
      state = { objects: new Map(), events: new Map(), listeners: new Set() };
      this.#namespaces.set(namespace, state);
    }
    return state;
  }

  #markListed(kind: string): void {
    this.#listed.add(kind);
    if (this.#listed.size < SOURCES.length) return;
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
  }

  #namespaceOf(item: Json): string | undefined {
    const namespace = item?.metadata?.namespace;
    return typeof namespace === 'string' && this.#accepts(namespace) ? namespace : undefined;
  }

  /** A (re-)list: what is new or changed is put, what is gone is deleted. */
  #listedAll(kind: ObjectKind | 'Event', items: Json[]): void {
    if (kind === 'Event') {
      for (const state of this.#namespaces.values()) state.events.clear();
      for (const item of items) this.#put(kind, item);
    } else {
      const seen = new Set<string>();
      for (const item of items) {
        const namespace = this.#namespaceOf(item);
        if (!namespace) continue;
        seen.add(`${namespace}/${kind}/${item.metadata?.uid}`);
        this.#put(kind, item);
      }
      for (const [namespace, state] of this.#namespaces) {
        for (const [key, object] of state.objects) {
          if (object.kind === kind && !seen.has(`${namespace}/${key}`)) {
            state.objects.delete(key);
            for (const l of state.listeners) l.changed({ op: 'delete', kind, uid: object.uid });
          }
        }
      }
    }
    this.#failure = undefined;
    this.#markListed(kind);
  }

  #put(kind: ObjectKind | 'Event', item: Json): void {
    const namespace = this.#namespaceOf(item);
    if (!namespace) return;
    const state = this.#state(namespace);
    if (kind === 'Event') {
      const event = projectEvent(item);
      state.events.set(event.uid, event);
      if (state.events.size > EVENTS_KEPT) {
        const oldest = newestFirst([...state.events.values()]).slice(EVENTS_KEPT);
        for (const old of oldest) state.events.delete(old.uid);
        if (oldest.some((o) => o.uid === event.uid)) return;
      }
      for (const l of state.listeners) l.event(event);
      return;
    }
    const object = project(kind, item);
    const key = `${kind}/${object.uid}`;
    const before = state.objects.get(key);
    // Most updates touch fields the view does not show (managedFields, conditions' times).
    if (before && JSON.stringify(before) === JSON.stringify(object)) return;
    state.objects.set(key, object);
    for (const l of state.listeners) l.changed({ op: 'put', object });
  }

  #removed(kind: ObjectKind | 'Event', item: Json): void {
    // Not `accepts`: an ended session's namespace is emptied as the API server deletes it.
    const namespace = item?.metadata?.namespace;
    const state = typeof namespace === 'string' ? this.#namespaces.get(namespace) : undefined;
    if (!state) return;
    const uid = String(item.metadata?.uid ?? '');
    if (kind === 'Event') {
      state.events.delete(uid);
      return;
    }
    if (!state.objects.delete(`${kind}/${uid}`)) return;
    for (const l of state.listeners) l.changed({ op: 'delete', kind, uid });
  }

  /** Forgets the namespaces nobody listens to that are no longer accepted (sessions ended). */
  prune(): void {
    for (const [namespace, state] of this.#namespaces) {
      if (state.listeners.size === 0 && !this.#accepts(namespace)) {
        this.#namespaces.delete(namespace);
      }
    }
  }

  /** How many namespaces the feed holds objects of. */
  get namespaces(): number {
    return this.#namespaces.size;
  }

  dispose(): void {
    for (const watch of this.#watches) watch.dispose();
    this.#namespaces.clear();
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
  }
}

function newestFirst(events: ClusterEvent[]): ClusterEvent[] {
  return events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
