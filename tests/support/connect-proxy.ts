/**
 * An HTTP proxy that opens CONNECT tunnels (RFC 9110, 9.3.6), for tests of what goes through a
 * kubeconfig's `proxy-url`. Plain, or over TLS with the given certificate.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface ConnectProxyOptions {
  /** answer every CONNECT with this status (`407 Proxy Authentication Required`) */
  refuse?: string;
  /** where to really connect for a requested host (a name only the proxy knows) */
  resolve?: (host: string) => string;
  /** serve over TLS */
  tls?: { key: string; cert: string };
}

export interface ConnectProxy {
  port: number;
  /** each request's head (request line and headers), in order */
  readonly requests: string[];
  /** `host:port` of each CONNECT, in order */
  targets(): string[];
  close(): void;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const requests: string[] = [];
  const handle = (client: Socket) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      requests.push(head.slice(0, end));
      if (options.refuse) {
        client.end(`HTTP/1.1 ${options.refuse}\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const [host = '', port = '0'] = /^CONNECT (\S+):(\d+) /.exec(head)?.slice(1) ?? [];
      const upstream = connect(Number(port), options.resolve?.(host) ?? host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    client.on('data', onData);
  };
  const server: Server = options.tls ? createTlsServer(options.tls, handle) : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    targets: () => requests.map((head) => /^CONNECT (\S+) /.exec(head)?.[1] ?? ''),
    close: () => server.close(),
  };
}
