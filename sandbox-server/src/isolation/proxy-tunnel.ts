/**
 * A connection to the API server through the proxy the cluster's kubeconfig names
 * (`proxy-url`), as kubectl itself would open it: HTTP CONNECT for `http://` and `https://`
 * proxies, SOCKS5 for `socks5://` (the host name resolved by the proxy, as kubectl does).
 *
 * The relay (api-relay.ts) needs this because a shell with a network of its own cannot reach
 * the proxy any more than the API server: the server, on the host, has to go through it.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ApiProxy extends Endpoint {
  kind: 'http' | 'https' | 'socks5';
  username?: string | undefined;
  password?: string | undefined;
}

const KINDS: Record<string, ApiProxy['kind']> = {
  'http:': 'http',
  'https:': 'https',
  'socks5:': 'socks5',
  'socks5h:': 'socks5',
};
const DEFAULT_PORTS: Record<ApiProxy['kind'], number> = { http: 80, https: 443, socks5: 1080 };

/** An HTTP proxy's answer to CONNECT is a status line and headers; more is not an answer. */
const MAX_CONNECT_ANSWER = 16 * 1024;

/** What a kubeconfig's `proxy-url` says, or a message naming what is wrong with it. */
export function parseProxyUrl(proxyUrl: string): ApiProxy {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    throw new Error(`The cluster's proxy-url ${JSON.stringify(proxyUrl)} is not a URL.`);
  }
  const kind = KINDS[url.protocol];
  if (!kind) {
    throw new Error(
      `The cluster's proxy-url ${proxyUrl} is a ${url.protocol.slice(0, -1)} proxy; the relay to the API server speaks http, https and socks5 proxies.`,
    );
  }
  return {
    kind,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : DEFAULT_PORTS[kind],
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** The bytes of an HTTP CONNECT request for `target`. */
export function connectRequest(proxy: ApiProxy, target: Endpoint): string {
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.username !== undefined) {
    const credentials = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64');
    lines.push(`Proxy-Authorization: Basic ${credentials}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** SOCKS5 reply codes (RFC 1928, 6), in words. */
const SOCKS_REPLIES: Record<number, string> = {
  1: 'general failure',
  2: 'not allowed by its rules',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** Reads a socket's bytes as a conversation: so many bytes, or up to a delimiter. */
class Answers {
  readonly #socket: Socket;
  #buffered = Buffer.alloc(0);
  #waiting: (() => void) | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    this.#waiting?.();
  };

  async #until(enough: () => number | undefined): Promise<Buffer> {
    for (;;) {
      const length = enough();
      if (length !== undefined) {
        const answer = this.#buffered.subarray(0, length);
        this.#buffered = this.#buffered.subarray(length);
        return answer;
      }
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
      this.#waiting = undefined;
    }
  }

  bytes(count: number): Promise<Buffer> {
    return this.#until(() => (this.#buffered.length >= count ? count : undefined));
  }

  upTo(delimiter: string, max: number): Promise<Buffer> {
    return this.#until(() => {
      const at = this.#buffered.indexOf(delimiter);
      if (at >= 0) return at + delimiter.length;
      if (this.#buffered.length > max) throw new Error('the proxy answered with too much');
      return undefined;
    });
  }

  /** Stops reading, and gives back what came after the conversation to the socket. */
  finish(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.pause();
    if (this.#buffered.length > 0) this.#socket.unshift(this.#buffered);
  }
}

async function httpConnect(socket: Socket, proxy: ApiProxy, target: Endpoint): Promise<void> {
  const answers = new Answers(socket);
  socket.write(connectRequest(proxy, target));
  const head = (await answers.upTo('\r\n\r\n', MAX_CONNECT_ANSWER)).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})([^\r\n]*)/.exec(head);
  if (!status) throw new Error('the proxy did not answer CONNECT in HTTP');
  if (!status[1]!.startsWith('2')) {
    throw new Error(`the proxy refused the tunnel: ${status[1]}${status[2]}`);
  }
  answers.finish();
}

/** The address part of a SOCKS5 request: IPv4, IPv6, or a name for the proxy to resolve. */
export function socksAddress(host: string): Buffer {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) return Buffer.from([1, ...v4.slice(1).map(Number)]);
  if (host.includes(':')) {
    // Expand `::` and write the eight groups.
    const [left = '', right = ''] = host.split('::');
    const head = left ? left.split(':') : [];
    const tail = host.includes('::') ? (right ? right.split(':') : []) : [];
    const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
    const address = Buffer.alloc(17);
    address[0] = 4;
    for (const [i, group] of groups.entries()) {
      address.writeUInt16BE(Number.parseInt(group, 16), 1 + 2 * i);
    }
    return address;
  }
  const name = Buffer.from(host);
  return Buffer.concat([Buffer.from([3, name.length]), name]);
}

async function socks5Connect(socket: Socket, proxy: ApiProxy, target: Endpoint): Promise<void> {
  const answers = new Answers(socket);
  const withPassword = proxy.username !== undefined;
  socket.write(Buffer.from(withPassword ? [5, 2, 0, 2] : [5, 1, 0]));
  const [version, method] = await answers.bytes(2);
  if (version !== 5) throw new Error('the proxy does not speak SOCKS5');
  if (method === 2 && withPassword) {
    const user = Buffer.from(proxy.username ?? '');
    const password = Buffer.from(proxy.password ?? '');
    socket.write(
      Buffer.concat([
        Buffer.from([1, user.length]),
        user,
        Buffer.from([password.length]),
        password,
      ]),
    );
    const [, status] = await answers.bytes(2);
    if (status !== 0) throw new Error('the proxy refused the user name and password');
  } else if (method !== 0) {
    throw new Error(
      withPassword
        ? 'the proxy accepts none of our ways to log in'
        : 'the proxy wants a user name and password; put them in proxy-url',
    );
  }
  const port = Buffer.alloc(2);
  port.writeUInt16BE(target.port);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0]), socksAddress(target.host), port]));
  const [, reply, , type] = await answers.bytes(4);
  if (reply !== 0) {
    throw new Error(`the proxy could not connect: ${SOCKS_REPLIES[reply!] ?? `error ${reply}`}`);
  }
  const addressLength = type === 1 ? 4 : type === 4 ? 16 : (await answers.bytes(1))[0]!;
  await answers.bytes(addressLength + 2);
  answers.finish();
}

/**
 * A socket to `target` through `proxy`, once the proxy has opened the tunnel; rejects with what
 * went wrong (the proxy cannot be reached, refused, or took longer than `timeoutMs`).
 */
export function openTunnel(proxy: ApiProxy, target: Endpoint, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      proxy.kind === 'https'
        ? connectTls({
            host: proxy.host,
            port: proxy.port,
            // SNI carries names only (RFC 6066); an address is checked against the certificate.
            ...(isIP(proxy.host) ? {} : { servername: proxy.host }),
          })
        : connect({ host: proxy.host, port: proxy.port });
    const fail = (error: Error) => {
      socket.destroy();
      reject(new Error(`proxy ${proxy.host}:${proxy.port}: ${error.message}`));
    };
    // The proxy hung up mid-conversation.
    const hungUp = () => fail(new Error('the proxy closed the connection'));
    const tooSlow = () => fail(new Error('no tunnel within the timeout'));
    socket.setTimeout(timeoutMs, tooSlow);
    socket.once('error', fail);
    socket.once('end', hungUp);
    socket.once(proxy.kind === 'https' ? 'secureConnect' : 'connect', () => {
      const talk = proxy.kind === 'socks5' ? socks5Connect : httpConnect;
      talk(socket, proxy, target).then(() => {
        socket.setTimeout(0);
        socket.off('timeout', tooSlow);
        // `fail` stays on 'error' until the caller has added its own (the same turn), so an
        // error in between cannot go unhandled; rejecting then is a no-op.
        socket.off('end', hungUp);
        resolve(socket);
      }, fail);
    });
  });
}
