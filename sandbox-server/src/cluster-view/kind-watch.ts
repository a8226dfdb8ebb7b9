/**
 * One kind of object followed through the API server: a list, then a watch from the list's
 * resourceVersion. When a watch ends (the server's timeout, a dropped connection) the next
 * one resumes from the last resourceVersion seen (bookmarks included), so nothing is listed
 * again; only when the API server answers 410 Gone (that version is too old) does it list
 * again, and the sink gets the whole list to compare with what it had.
 */
import { type KubeConfig, KubernetesObjectApi, Watch } from '@kubernetes/client-node';
import type { Logger } from '../telemetry/log.ts';

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON; project.ts reads it
type Json = any;

export interface KindSource {
  kind: string;
  apiVersion: string;
  /** the collection's path: one namespace's, or every namespace's */
  path(namespace: string | undefined): string;
}

export interface WatchSink {
  /** everything of the kind (after a first list or a re-list) */
  listed(items: Json[]): void;
  put(item: Json): void;
  removed(item: Json): void;
  /** the API server refused (forbidden, not found); retried later */
  failed(message: string): void;
}

export interface WatchCounters {
  lists: number;
  watches: number;
}

/** Ask the API server to end each watch before client-node's 30 s inactivity timeout would. */
const WATCH_SECONDS = 25;
const BACKOFF_MS = [250, 1000, 3000, 10_000];

export class KindWatch {
  readonly #config: KubeConfig;
  readonly #source: KindSource;
  readonly #namespace: string | undefined;
  readonly #sink: WatchSink;
  readonly #log: Logger;
  readonly #counters: WatchCounters;
  #resourceVersion: string | undefined;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #disposed = false;

  constructor(init: {
    config: KubeConfig;
    source: KindSource;
    namespace: string | undefined;
    sink: WatchSink;
    log: Logger;
    counters: WatchCounters;
  }) {
    this.#config = init.config;
    this.#source = init.source;
    this.#namespace = init.namespace;
    this.#sink = init.sink;
    this.#log = init.log;
    this.#counters = init.counters;
  }

  start(): void {
    void this.#list();
  }

  async #list(): Promise<void> {
    if (this.#disposed) return;
    this.#counters.lists++;
    try {
      const api = KubernetesObjectApi.makeApiClient(this.#config);
      const list = await api.list(this.#source.apiVersion, this.#source.kind, this.#namespace);
      if (this.#disposed) return;
      this.#resourceVersion = list.metadata?.resourceVersion;
      this.#failures = 0;
      this.#sink.listed(list.items ?? []);
      void this.#watch();
    } catch (error) {
      this.#retry(error, () => this.#list());
    }
  }

  async #watch(): Promise<void> {
    if (this.#disposed) return;
    this.#counters.watches++;
    let gone = false;
    const ended = (error: unknown) => {
      this.#counters.watches--;
      this.#abort = undefined;
      if (this.#disposed) return;
      if (gone || statusOf(error) === 410) {
        this.#log.log('info', 'cluster_view_relist', { kind: this.#source.kind });
        void this.#list();
      } else if (error) {
        this.#retry(error, () => this.#watch());
      } else {
        this.#failures = 0;
        void this.#watch();
      }
    };
    try {
      this.#abort = await new Watch(this.#config).watch(
        this.#source.path(this.#namespace),
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: WATCH_SECONDS,
        },
        (phase, object) => {
          if (phase === 'ERROR') {
            if (object?.code === 410) gone = true;
            return;
          }
          const version = object?.metadata?.resourceVersion;
          if (version) this.#resourceVersion = version;
          if (phase === 'ADDED' || phase === 'MODIFIED') this.#sink.put(object);
          else if (phase === 'DELETED') this.#sink.removed(object);
        },
        ended,
      );
      if (this.#disposed) this.#abort?.abort();
    } catch (error) {
      ended(error);
    }
  }

  #retry(error: unknown, again: () => Promise<void>): void {
    if (this.#disposed) return;
    const status = statusOf(error);
    const message = (error as Error)?.message ?? String(error);
    if (status === 403 || status === 401 || status === 404) {
      this.#sink.failed(
        `The cluster view may not follow ${this.#source.kind}s here (${status}): ${message}`,
      );
    }
    const delay = BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)] ?? 10_000;
    this.#failures++;
    this.#log.log('warn', 'cluster_view_watch_failed', {
      kind: this.#source.kind,
      status,
      message,
      retryMs: delay,
    });
    this.#timer = setTimeout(() => void again(), delay);
    this.#timer.unref();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }
}

function statusOf(error: unknown): number | undefined {
  const e = error as { statusCode?: unknown; code?: unknown } | null;
  const code = e?.statusCode ?? e?.code;
  return typeof code === 'number' ? code : undefined;
}
