/**
 * Which browser origins may use the API and the terminal socket. A request without an Origin
 * header comes from a non-browser client and is allowed (docs/protocol.md); a browser always sends
 * one, so a foreign page cannot hijack a session through the reader's browser.
 *
 * Allowed: the configured origins (`--allowed-origin`), and the server's own origin — the page
 * came from the Host it asked, and that Host is one of the server's names. The names matter:
 * a page on a domain its owner points at 127.0.0.1 (DNS rebinding) asks the server as that
 * domain, Origin and Host alike, and is refused. In local mode with no list, pages on this
 * machine (localhost, any port: the authors' dev server) are allowed too; never in a workshop.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]', '::1'];

export interface OriginPolicy {
  /** `--allowed-origin` values; `*` allows every page */
  allowed: readonly string[];
  /** host names and addresses this server answers to (no port) */
  names: ReadonlySet<string>;
  /** whether any page on this machine (localhost, any port) may use the API */
  loopbackPages: boolean;
}

/** The policy of a server listening on `host` in `mode`, with `allowed` origins configured. */
export function originPolicy(config: {
  allowedOrigins: readonly string[];
  host: string;
  mode: 'local' | 'workshop';
}): OriginPolicy {
  const names = new Set<string>(LOOPBACK);
  const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
  if (!wildcard) names.add(bare(config.host));
  // Listening everywhere, it is reached by this machine's names and addresses.
  const machine = hostname();
  names.add(machine.toLowerCase());
  names.add(`${machine.toLowerCase()}.local`);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) names.add(bare(address.address));
  }
  // A name behind a reverse proxy is given as an allowed origin.
  for (const origin of config.allowedOrigins) {
    try {
      names.add(bare(new URL(origin).hostname));
    } catch {
      // '*' and the like name no host
    }
  }
  return {
    allowed: config.allowedOrigins,
    names,
    loopbackPages: config.mode === 'local' && config.allowedOrigins.length === 0,
  };
}

/** A host name or address without IPv6 brackets, lower-case. */
function bare(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

export function isOriginAllowed(headers: IncomingHttpHeaders, policy: OriginPolicy): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (policy.allowed.includes('*') || policy.allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // The server's own origin: the page came from this Host, which is one of its names.
  if (headers.host !== undefined && url.host === headers.host) {
    return policy.names.has(bare(url.hostname));
  }
  return policy.loopbackPages && LOOPBACK.includes(url.hostname);
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
