/**
 * Which browser origins may use the API and the terminal socket. A request without an Origin
 * header comes from a non-browser client and is allowed (docs/protocol.md); a browser always sends
 * one, so a foreign page cannot hijack a session through the reader's browser.
 */
import type { IncomingHttpHeaders } from 'node:http';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isOriginAllowed(headers: IncomingHttpHeaders, allowed: readonly string[]): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // The server's own origin: the page was served from this host.
  if (headers.host !== undefined && url.host === headers.host) return true;
  // By default, any page on this machine (the authors' dev server on another port).
  return allowed.length === 0 && LOOPBACK.has(url.hostname);
}

export function corsHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const origin = headers.origin;
  if (origin === undefined) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, DELETE',
    'access-control-allow-headers': 'content-type, authorization',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}
