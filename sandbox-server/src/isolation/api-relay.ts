/**
 * The one way out of a workshop shell's network: its Kubernetes API server.
 *
 * Workshop shells get a network namespace of their own, one per participant, shared by their
 * terminals (participant-network.ts, sandboxed-shell.ts): a loopback and nothing else, so the
 * host's loopback services (the test cluster's etcd without auth, a Docker daemon on TCP, this
 * server's own port, a cloud's metadata endpoint) are out of reach, while `kubectl
 * port-forward` and `curl localhost` still meet inside, from either terminal. kubectl reaches
 * the cluster through a relay:
 *
 *   kubectl → 127.0.0.1:6443 in the sandbox (6444 for the participant's second terminal) →
 *   socat (as the participant) → the session's own unix socket (its entrance), bound read-only
 *   into the sandbox → this server → the API server's host and port
 *
 * Each session has an entrance of its own, `<uid>.sock`, owned by the session's uid and closed
 * to every other (0600): the kernel admits only that uid to it, so the relay knows whose
 * connection it holds as surely as from the socket's peer credentials (SO_PEERCRED, which Node
 * does not expose), and caps each session's relayed connections. One participant opening
 * connections in a loop once held ~10,500 of them, two descriptors each, and the server ran
 * out of descriptors for everyone (reliability suite, relay-flood).
 *
 * The relay passes bytes only: TLS runs end to end between kubectl and the API server (the
 * session's kubeconfig names the API server's own host as `tls-server-name`), and every
 * request carries the session's own token, so the relay adds no authority of its own.
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../telemetry/log.ts';
import { type ApiProxy, type Endpoint, openTunnel, parseProxyUrl } from './proxy-tunnel.ts';

/** Where the relay listens inside a participant's network: their first terminal's port. */
export const SANDBOX_API_PORT = 6443;
/** Where the relay's socket appears inside every sandbox. */
export const SANDBOX_API_SOCKET = '/run/kubenotes/api.sock';

/**
 * Relayed connections a session may hold at once: kubectl speaks HTTP/2, one connection for
 * all its requests and watches; port-forwards and parallel kubectl take a few more.
 */
export const DEFAULT_CONNECTIONS_PER_SESSION = 64;

/** How long the relay waits for the API server to take a connection. */
const CONNECT_TIMEOUT_MS = 10_000;

/** A fatal TLS alert, internal_error (RFC 8446, 6.2): record type 21, TLS 1.2 framing. */
const TLS_INTERNAL_ERROR_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]);

interface Target extends Endpoint {
  /** whether clients speak TLS to it (https) */
  tls: boolean;
  /** the proxy the cluster's kubeconfig names, if any */
  proxy: ApiProxy | undefined;
}

/** A socket to the API server, straight or through its proxy, once it is connected. */
function reach(target: Target): Promise<Socket> {
  if (target.proxy) return openTunnel(target.proxy, target, CONNECT_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, timeout: CONNECT_TIMEOUT_MS });
    socket.once('timeout', () => socket.destroy(new Error('connect timed out')));
    socket.once('error', reject);
    socket.once('connect', () => {
      // `reject` stays on 'error' (a no-op from now on) until the relay has added its own.
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}

/** Host and port of an API server URL (`https://host:port`, the port defaulting to 443). */
export function apiEndpoint(server: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`The cluster's server address ${JSON.stringify(server)} is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`The cluster's server address ${server} is not http(s).`);
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // An IPv6 literal comes bracketed in a URL, and without brackets to connect().
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** One session's way into the relay: its socket, to bind into its sandbox. */
export interface RelayEntrance {
  /** the unix socket on the host */
  readonly socket: string;
  /** Stops listening and cuts the session's relayed connections; idempotent. */
  dispose(): Promise<void>;
}

/** What a sandbox needs of the relay (ApiRelay, or a stand-in in tests). */
export interface RelayEntrances {
  open(uid: number): Promise<RelayEntrance>;
}

export class ApiRelay implements RelayEntrances {
  readonly #dir: string;
  readonly #target: Target;
  readonly #log: Logger;
  readonly #perSession: number;
  readonly #entrances = new Set<RelayEntrance>();
  readonly #open = new Set<Socket>();
  #disposed = false;

  private constructor(dir: string, target: Target, log: Logger, perSession: number) {
    this.#dir = dir;
    this.#target = target;
    this.#log = log;
    this.#perSession = perSession;
  }

  /**
   * Relays connections to `server`, through `proxyUrl` when the cluster's kubeconfig names
   * one, from the entrances it opens in `<stateDir>/api-relay/`, at most `perSession`
   * connections each at a time.
   */
  static async start(
    stateDir: string,
    server: string,
    log: Logger,
    proxyUrl?: string,
    perSession = DEFAULT_CONNECTIONS_PER_SESSION,
  ): Promise<ApiRelay> {
    const target: Target = {
      ...apiEndpoint(server),
      tls: server.startsWith('https:'),
      proxy: proxyUrl ? parseProxyUrl(proxyUrl) : undefined,
    };
    const dir = join(stateDir, 'api-relay');
    rmSync(dir, { recursive: true, force: true });
    // Searchable by all: bwrap binds each entrance as its session's uid sees it.
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    log.log('info', 'api_relay_listening', {
      target: `${target.host}:${target.port}`,
      perSession,
      ...(target.proxy
        ? { proxy: `${target.proxy.kind}://${target.proxy.host}:${target.proxy.port}` }
        : {}),
    });
    return new ApiRelay(dir, target, log, perSession);
  }

  /** The entrance of the session whose shells run as `uid`: `<uid>.sock`, that uid's alone. */
  async open(uid: number): Promise<RelayEntrance> {
    if (this.#disposed) throw new Error('The API relay is disposed.');
    const socket = join(this.#dir, `${uid}.sock`);
    rmSync(socket, { force: true });
    const held = new Set<Socket>();
    let refused = 0;
    const server: Server = createServer((inside) => {
      if (held.size >= this.#perSession) {
        // Closed at once: the descriptor is back before the next connection is taken.
        inside.destroy();
        // Logged once per burst, not once per connection.
        if (refused++ === 0) {
          this.#log.log('warn', 'api_relay_session_full', { uid, connections: held.size });
        }
        return;
      }
      refused = 0;
      held.add(inside);
      inside.once('close', () => held.delete(inside));
      this.#relay(inside);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Only the session's uid may connect (connecting needs write permission on the socket).
    if (process.getuid?.() === 0) chownSync(socket, uid, uid);
    chmodSync(socket, 0o600);
    let disposed: Promise<void> | undefined;
    const entrance: RelayEntrance = {
      socket,
      dispose: () => {
        disposed ??= (async () => {
          this.#entrances.delete(entrance);
          for (const inside of held) inside.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          rmSync(socket, { force: true });
        })();
        return disposed;
      },
    };
    this.#entrances.add(entrance);
    return entrance;
  }

  #track(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }

  #relay(inside: Socket): void {
    const target = this.#target;
    const log = this.#log;
    if (this.#disposed) {
      inside.destroy();
      return;
    }
    this.#track(inside);
    // kubectl's first bytes wait in the socket until the other end is there.
    inside.pause();
    inside.on('error', () => inside.destroy());
    reach(target).then(
      (outside) => {
        if (this.#disposed || inside.destroyed) {
          outside.destroy();
          return;
        }
        this.#track(outside);
        inside.pipe(outside);
        outside.pipe(inside);
        inside.on('close', () => outside.destroy());
        outside.on('error', (error) => {
          log.log('warn', 'api_relay_failed', { message: error.message });
          inside.destroy();
        });
      },
      (error: Error) => {
        log.log('warn', 'api_relay_failed', { message: error.message });
        if (inside.destroyed) return;
        // The API server cannot be reached. kubectl's connection (to the sandbox's end of the
        // relay) is already open, so it cannot be refused any more; closed, kubectl took it
        // for a dropped connection, retried for its whole timeout and said only "EOF". A TLS
        // alert ends its handshake at once: "Unable to connect to the server: remote error:
        // tls: internal error".
        if (target.tls) inside.end(TLS_INTERNAL_ERROR_ALERT);
        else inside.destroy();
      },
    );
  }

  /** Closes every entrance and cuts every relayed connection; idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const socket of this.#open) socket.destroy();
    await Promise.all([...this.#entrances].map((entrance) => entrance.dispose()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
