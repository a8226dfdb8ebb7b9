/**
 * The app route's side towards the API server: one request with a session's credentials
 * (its kubeconfig's address, CA, token and proxy), and the bounded ways its answer is read or
 * passed on to the reader.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** The largest response passed on; HTML is read whole (to rewrite its links) up to this. */
export const APP_MAX_BYTES = 16 * 1024 * 1024;

/** The app (or the API server) did not answer within the time given. */
export class TimeoutError extends Error {}
/** A body over the bound it was read with. */
export class TooLarge extends Error {}

/**
 * One request to the API server with these credentials; resolves with the response once its
 * headers came (within `timeoutMs`). Abandoned when the reader's response closes first.
 */
export async function apiRequest(
  access: KubeConfig,
  method: string,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
  res?: ServerResponse,
): Promise<IncomingMessage> {
  const cluster = access.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in the credentials');
  const server = new URL(cluster.server);
  const options: https.RequestOptions = {
    method,
    hostname: server.hostname.replace(/^\[|\]$/g, ''),
    port: server.port || (server.protocol === 'http:' ? 80 : 443),
    path: `${server.pathname.replace(/\/$/, '')}${path}`,
    headers: { ...headers },
  };
  await access.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = (server.protocol === 'http:' ? http : https).request(options, (response) => {
      clearTimeout(timer);
      resolve(response);
    });
    const timer = setTimeout(() => request.destroy(new TimeoutError('timeout')), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    res?.on('close', () => request.destroy());
    request.end();
  });
}

export async function readAll(from: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of from) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      from.destroy();
      throw new TooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Streams the app's body to the reader; cuts it off past `limit` bytes. */
export function stream(from: IncomingMessage, to: ServerResponse, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    from.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        from.destroy();
        to.destroy();
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => {
      if (!from.readableEnded) to.destroy();
    });
    to.on('close', () => {
      from.destroy();
      resolve();
    });
  });
}

export function send(
  res: ServerResponse,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: Buffer,
  req: IncomingMessage,
): void {
  // A HEAD's answer has no body, but says how long the GET's would be when the app did.
  res.writeHead(
    status,
    req.method === 'HEAD' ? headers : { ...headers, 'content-length': body.length },
  );
  res.end(req.method === 'HEAD' ? undefined : body);
}
