/**
 * The browser's side of docs/protocol.md: creates a session (or resumes the one this browser has),
 * attaches its terminal socket, reconnects with backoff when the network drops, and starts a
 * new session when the old one has ended. Loaded with the terminal, on the first Run.
 */
import {
  AppLinkBody,
  appLinksPath,
  type ClientMessage,
  CloseCode,
  decodeServerMessage,
  encode,
  type ServerMessage,
  SessionCreatedBody,
  terminalPath,
} from '../../sandbox-server/src/shared/protocol.ts';
import { AckBatcher } from './ack-batcher.ts';

export type ConnectionStatus =
  | { state: 'connecting' }
  | { state: 'connected'; resumed: boolean; sessionId: string; namespace: string }
  | { state: 'reconnecting'; inSeconds: number; why: string }
  | { state: 'ended'; why: string }
  | { state: 'needs-join-code'; why: string }
  | { state: 'failed'; why: string };

export interface ConnectionEvents {
  output(bytes: Uint8Array): void;
  message(message: ServerMessage): void;
  status(status: ConnectionStatus): void;
}

interface StoredSession {
  id: string;
  token: string;
  namespace: string;
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export interface ConnectionOptions {
  /** which of the dock's terminals (1, 2): each keeps its own session, resumed on reload */
  terminal?: number;
  /**
   * A live session of this reader's other terminal, if any: a new session joins its
   * namespace (`with`, docs/protocol.md). The second terminal waits for the first's here.
   */
  companion?: () => Promise<{ id: string; token: string } | undefined>;
}

export class SandboxConnection {
  readonly #base: string;
  readonly #events: ConnectionEvents;
  readonly #storageKey: string;
  #ws: WebSocket | undefined;
  #size = { cols: 80, rows: 24 };
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  #pendingInput: Uint8Array<ArrayBuffer>[] = [];
  /** control messages (a task check) asked for before the socket was attached */
  #pendingMessages: ClientMessage[] = [];
  /** the socket the server last said `ready` on (see `connected`) */
  #attached: WebSocket | undefined;
  #joinCode: string | undefined;
  #connecting: Promise<void> | undefined;
  /** acks for the current socket, sent in batches */
  #acks: { ws: WebSocket; batcher: AckBatcher } | undefined;
  /** an instructor watching someone else's session: that session only, read-only */
  readonly #watch: StoredSession | undefined;
  /** the cluster view is open: subscribed again on every (re)attach (docs/cluster-view.md) */
  #clusterView = false;
  readonly #companion: ConnectionOptions['companion'];

  constructor(
    base: string,
    events: ConnectionEvents,
    watch?: { id: string; token: string },
    options: ConnectionOptions = {},
  ) {
    this.#base = base;
    this.#events = events;
    this.#watch = watch ? { ...watch, namespace: '' } : undefined;
    const terminal = options.terminal ?? 1;
    // The first terminal keeps the key it always had, so a page updated mid-session resumes.
    this.#storageKey = `kubenotes:session:${base}${terminal === 1 ? '' : `:${terminal}`}`;
    this.#companion = options.companion;
    this.#joinCode =
      new URLSearchParams(location.search).get('join') ??
      sessionStorage.getItem('kubenotes:join') ??
      undefined;
  }

  /**
   * Attached: the server said `ready` on the current socket. Not merely open: keys typed between
   * the socket opening and `ready` went out at once while those kept from before went out at
   * `ready`, after them (`3echo typed-$((2+))`, dock.spec.ts on a fresh terminal).
   */
  get connected(): boolean {
    const ws = this.#ws;
    return ws !== undefined && ws === this.#attached && ws.readyState === WebSocket.OPEN;
  }

  get session(): StoredSession | undefined {
    if (this.#watch) return this.#watch;
    try {
      const stored = JSON.parse(localStorage.getItem(this.#storageKey) ?? 'null');
      return stored?.id && stored?.token ? stored : undefined;
    } catch {
      return undefined;
    }
  }

  #forget(): void {
    if (this.#watch) return;
    localStorage.removeItem(this.#storageKey);
  }

  setJoinCode(code: string): void {
    this.#joinCode = code;
    sessionStorage.setItem('kubenotes:join', code);
  }

  /** Connects (creating a session when needed). Safe to call again; it never opens two. */
  connect(cols: number, rows: number): Promise<void> {
    this.#size = { cols, rows };
    if (this.#disposed || this.#ws) return Promise.resolve();
    // Calls while a session is being created share that one attempt.
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#events.status({ state: 'connecting' });
    let session = this.session;
    if (!session && this.#watch) return;
    if (!session) {
      try {
        session = await this.#create();
      } catch (error) {
        if (error instanceof RetryLater) return this.#retry(error.message, error.seconds);
        if (error instanceof NeedsJoinCode) {
          return this.#events.status({ state: 'needs-join-code', why: error.message });
        }
        if (error instanceof Refused)
          return this.#events.status({ state: 'failed', why: error.message });
        return this.#retry(`Cannot reach the sandbox: ${(error as Error).message}`);
      }
      if (!session) return;
    }
    this.#open(session);
  }

  async #create(): Promise<StoredSession | undefined> {
    const companion = await this.#companion?.();
    let res = companion ? await this.#post({ with: companion }) : undefined;
    // The other terminal's session has ended (or is not this reader's): a session of its own.
    if (!res || res.status === 404 || res.status === 401) {
      res = await this.#post(this.#joinCode ? { joinCode: this.#joinCode } : {});
    }
    if (res.status === 201) {
      const body = SessionCreatedBody.parse(await res.json());
      const stored = { id: body.id, token: body.token, namespace: body.namespace };
      localStorage.setItem(this.#storageKey, JSON.stringify(stored));
      return stored;
    }
    const message = await errorMessage(res);
    if (res.status === 401) throw new NeedsJoinCode(message);
    if (res.status === 409) throw new Refused(message);
    if (res.status === 429 || res.status === 503) {
      throw new RetryLater(message, Number(res.headers.get('retry-after')) || 30);
    }
    throw new Error(message);
  }

  #post(body: Record<string, unknown>): Promise<Response> {
    return fetch(`${this.#base}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  #open(session: StoredSession): void {
    const url = this.#base.replace(/^http/, 'ws') + terminalPath(session.id);
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    let attachedSize = this.#size;
    ws.onopen = () => {
      attachedSize = this.#size;
      ws.send(
        encode({
          type: 'attach',
          token: session.token,
          ...this.#size,
          ...(this.#watch ? { readOnly: true } : {}),
        }),
      );
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') {
        this.#events.output(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const decoded = decodeServerMessage(event.data);
      if (!decoded.ok) return; // A newer server's message: ignore what we do not know.
      const message = decoded.message;
      if (message.type === 'ready') {
        this.#attached = ws;
        this.#attempt = 0;
        this.#events.status({
          state: 'connected',
          resumed: message.resumed,
          sessionId: session.id,
          namespace: session.namespace,
        });
        // A resize while attaching was not sent (not attached yet): the last size goes now.
        const { cols, rows } = this.#size;
        if (cols !== attachedSize.cols || rows !== attachedSize.rows) {
          ws.send(encode({ type: 'resize', cols, rows }));
        }
        for (const bytes of this.#pendingInput) ws.send(bytes);
        this.#pendingInput = [];
        for (const pending of this.#pendingMessages) ws.send(encode(pending));
        this.#pendingMessages = [];
        if (this.#clusterView) ws.send(encode({ type: 'cluster-subscribe' }));
      }
      this.#events.message(message);
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (this.#disposed) return;
      void this.#afterClose(event.code, event.reason, this.#attached === ws, session);
    };
  }

  /** Decides, from the close code, whether to reattach, start over, or wait. */
  async #afterClose(
    code: number,
    reason: string,
    wasReady: boolean,
    session: StoredSession,
  ): Promise<void> {
    const endedCodes: number[] = [
      CloseCode.normal,
      CloseCode.badToken,
      CloseCode.noSession,
      CloseCode.timeout,
    ];
    if (this.#watch && reason !== 'too_slow' && endedCodes.includes(code)) {
      return this.#events.status({
        state: 'ended',
        why: `This session has ended (${reason || code}).`,
      });
    }
    switch (code) {
      case CloseCode.timeout:
        if (reason === 'too_slow') return this.connect(this.#size.cols, this.#size.rows);
        this.#forget();
        return this.#events.status({
          state: 'ended',
          why:
            reason === 'idle_timeout'
              ? 'Your session ended after a while without input. The next Run starts a new one.'
              : 'Your session reached its time limit. The next Run starts a new one.',
        });
      case CloseCode.normal:
        this.#forget();
        return this.#events.status({
          state: 'ended',
          why: 'The session was ended. The next Run starts a new one.',
        });
      case CloseCode.badToken:
      case CloseCode.noSession:
        this.#forget();
        return this.connect(this.#size.cols, this.#size.rows);
      case CloseCode.badAttach:
      case CloseCode.tooLarge:
        return this.#events.status({
          state: 'failed',
          why: `The sandbox refused this terminal (${reason}). Reload the page.`,
        });
    }
    // The network, a restart (going away), or a refused upgrade, which browsers cannot tell apart:
    // ask whether the session still exists.
    if (!wasReady) {
      const exists = await this.#sessionExists(session);
      if (exists === false) {
        this.#forget();
        return this.connect(this.#size.cols, this.#size.rows);
      }
    }
    this.#retry(
      code === CloseCode.goingAway
        ? 'The sandbox is restarting.'
        : 'The connection to the sandbox was lost.',
    );
  }

  async #sessionExists(session: StoredSession): Promise<boolean | undefined> {
    try {
      const res = await fetch(`${this.#base}/api/sessions/${encodeURIComponent(session.id)}`, {
        headers: { authorization: `Bearer ${session.token}` },
      });
      if (res.status === 404 || res.status === 401) return false;
      return res.ok ? true : undefined;
    } catch {
      return undefined;
    }
  }

  #retry(why: string, seconds?: number): void {
    if (this.#disposed) return;
    const delay =
      seconds !== undefined
        ? seconds * 1000
        : (BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)] ?? 15000);
    this.#attempt++;
    this.#events.status({ state: 'reconnecting', inSeconds: Math.ceil(delay / 1000), why });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.connect(this.#size.cols, this.#size.rows), delay);
  }

  /** Typed input. While (re)connecting it is kept, up to a bound, and sent once attached. */
  input(bytes: Uint8Array<ArrayBuffer>): void {
    if (this.connected) {
      this.#ws?.send(bytes);
      return;
    }
    const kept = this.#pendingInput.reduce((n, b) => n + b.length, 0);
    if (kept + bytes.length <= 64 * 1024) this.#pendingInput.push(bytes);
    if (!this.#ws) void this.connect(this.#size.cols, this.#size.rows);
  }

  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    if (this.connected) this.#ws?.send(encode({ type: 'resize', cols, rows }));
  }

  /** Streams the session's namespace (cluster-* messages) while on, across reconnects. */
  setClusterView(on: boolean): void {
    if (this.#clusterView === on) return;
    this.#clusterView = on;
    if (this.connected) {
      this.#ws?.send(encode({ type: on ? 'cluster-subscribe' : 'cluster-unsubscribe' }));
    }
  }

  /** The terminal rendered `bytes` more of the output. */
  ack(bytes: number): void {
    const ws = this.#ws;
    if (!ws || !this.connected) return;
    // Bytes that came on an earlier socket are not this attachment's to acknowledge.
    if (this.#acks?.ws !== ws) {
      this.#acks?.batcher.dispose();
      const batcher = new AckBatcher((n) => {
        if (ws === this.#ws && this.connected) ws.send(encode({ type: 'ack', bytes: n }));
      });
      this.#acks = { ws, batcher };
    }
    this.#acks.batcher.rendered(bytes);
  }

  progress(snippet: string, state: 'running' | 'succeeded' | 'failed', code?: number): void {
    if (!this.connected) return;
    this.#ws?.send(
      encode({
        type: 'progress',
        page: location.pathname,
        snippet,
        state,
        ...(code === undefined ? {} : { code }),
      }),
    );
  }

  /** A control message; while (re)connecting the last few are kept and sent once attached. */
  send(message: ClientMessage): void {
    if (this.connected) {
      this.#ws?.send(encode(message));
      return;
    }
    this.#pendingMessages = [...this.#pendingMessages.slice(-7), message];
    if (!this.#ws) void this.connect(this.#size.cols, this.#size.rows);
  }

  /** Ends the session on the server and starts clean on the next connect. */
  /**
   * A link that opens one of this session's apps (`svc/web:80`) without the session token,
   * for the dock's pane and a new tab; the session is made first when there is none yet.
   */
  async appLink(target: string): Promise<string> {
    await this.connect(this.#size.cols, this.#size.rows);
    const session = this.session;
    if (!session)
      throw new Error('There is no sandbox session yet: join it in the terminal first.');
    const res = await fetch(`${this.#base}${appLinksPath(session.id)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target }),
    });
    if (res.status !== 201) throw new Error(await errorMessage(res));
    return new URL(AppLinkBody.parse(await res.json()).url, `${this.#base}/`).href;
  }

  async endSession(): Promise<void> {
    const session = this.session;
    this.#forget();
    this.#ws?.close();
    this.#ws = undefined;
    if (!session) return;
    await fetch(`${this.#base}/api/sessions/${encodeURIComponent(session.id)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.token}` },
    }).catch(() => undefined);
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#retryTimer);
    this.#acks?.batcher.dispose();
    this.#ws?.close();
    this.#ws = undefined;
  }
}

class RetryLater extends Error {
  readonly seconds: number;
  constructor(message: string, seconds: number) {
    super(message);
    this.seconds = seconds;
  }
}

class NeedsJoinCode extends Error {}
/** The server will not make this session, and trying again will not change that (409). */
class Refused extends Error {}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = await res.json();
    if (typeof body?.error?.message === 'string') return body.error.message;
  } catch {
    // not JSON
  }
  return `The sandbox answered ${res.status}.`;
}
