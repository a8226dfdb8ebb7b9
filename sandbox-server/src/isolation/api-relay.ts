/**
 * The one way out of a workshop shell's network: its Kubernetes API server.
 *
 * Workshop shells get a network namespace of their own (sandboxed-shell.ts): a loopback and
 * nothing else, so the host's loopback services (the test cluster's etcd without auth, a Docker
 * daemon on TCP, this server's own port, a cloud's metadata endpoint) are out of reach, while
 * `kubectl port-forward` and `curl localhost` still meet inside the sandbox. kubectl reaches the
 * cluster through a relay:
 *
 *   kubectl → 127.0.0.1:6443 in the sandbox → socat (as the participant) → this unix socket,
 *   bound read-only into the sandbox → this server → the API server's host and port
 *
 * The relay passes bytes only: TLS runs end to end between kubectl and the API server (the
 * session's kubeconfig names the API server's own host as `tls-server-name`), and every
 * request carries the session's own token, so the relay adds no authority of its own.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../telemetry/log.ts';
import { type ApiProxy, type Endpoint, openTunnel, parseProxyUrl } from './proxy-tunnel.ts';

/** Where the relay listens inside every sandbox. */
export const SANDBOX_API_PORT = 6443;
/** Where the relay's socket appears inside every sandbox. */
export const SANDBOX_API_SOCKET = '/run/kubenotes/api.sock';

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

export class ApiRelay {
  /** the unix socket on the host, to bind into sandboxes */
  readonly socket: string;
  readonly #server: Server;
  readonly #dir: string;
  readonly #open = new Set<Socket>();
  #disposed = false;

  private constructor(dir: string, server: Server) {
    this.#dir = dir;
    this.socket = join(dir, 'api.sock');
    this.#server = server;
  }

  /**
   * Listens on `<stateDir>/api-relay/api.sock` and relays each connection to `server`, through
   * `proxyUrl` when the cluster's kubeconfig names one.
   */
  static async start(
    stateDir: string,
    server: string,
    log: Logger,
    proxyUrl?: string,
  ): Promise<ApiRelay> {
    const target: Target = {
      ...apiEndpoint(server),
      tls: server.startsWith('https:'),
      proxy: proxyUrl ? parseProxyUrl(proxyUrl) : undefined,
    };
    const dir = join(stateDir, 'api-relay');
    rmSync(dir, { recursive: true, force: true });
    // Readable by all: every session uid must reach the socket (and nothing else is in here).
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    const relay: ApiRelay = new ApiRelay(
      dir,
      createServer((inside) => relay.#relay(inside, target, log)),
    );
    await new Promise<void>((resolve, reject) => {
      relay.#server.once('error', reject);
      relay.#server.listen(relay.socket, () => {
        relay.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(relay.socket, 0o666);
    log.log('info', 'api_relay_listening', {
      target: `${target.host}:${target.port}`,
      ...(target.proxy
        ? { proxy: `${target.proxy.kind}://${target.proxy.host}:${target.proxy.port}` }
        : {}),
    });
    return relay;
  }

  #track(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }

  #relay(inside: Socket, target: Target, log: Logger): void {
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

  /** Stops listening and cuts every relayed connection; idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const socket of this.#open) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
