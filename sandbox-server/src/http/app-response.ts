/**
 * What the browser gets from the app route. Whatever the reader deployed is untrusted HTML and
 * JavaScript: every answer on the route (the app's, and our own error pages) carries the
 * isolation headers below, and of the app's own headers only those on an allow-list pass, so
 * nothing it sends can set a cookie, refresh to the API, clear or pin the sandbox's origin,
 * or register anything on it.
 */
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import type { HttpError } from './http-error.ts';

/**
 * `sandbox` gives every page an opaque origin of its own: its scripts run (apps need them)
 * but cannot read the sandbox's storage, cookies or session token, nor call its API as the
 * reader. No `allow-same-origin`, ever: with it the app would be the sandbox.
 */
export const APP_CSP = 'sandbox allow-scripts allow-forms allow-popups';

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': APP_CSP,
  'x-content-type-options': 'nosniff',
  // The link's capability is in the URL: never sent on to the app's outbound links.
  'referrer-policy': 'no-referrer',
  // A sandboxed page's origin is opaque, so its own images and styles are cross-origin loads.
  'cross-origin-resource-policy': 'cross-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), payment=()',
  'cache-control': 'no-store',
};

/** The app's response headers that reach the browser; every other one is dropped. */
const PASSED: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-range',
  'content-disposition',
  'accept-ranges',
  'etag',
  'last-modified',
  'vary',
  'date',
  'location',
]);

/** The reader's request headers passed to the app; cookies and credentials never are. */
const FORWARDED: readonly string[] = [
  'accept',
  'accept-language',
  'if-none-match',
  'if-modified-since',
  'range',
  'user-agent',
];

export function forwardedRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  // Identity, so links in HTML can be rewritten and sizes counted as they arrive.
  out['accept-encoding'] = 'identity';
  return out;
}

export function passedResponseHeaders(
  headers: IncomingHttpHeaders,
  rewriteLocation: (location: string) => string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!PASSED.has(name) || value === undefined) continue;
    out[name] = name === 'location' && typeof value === 'string' ? rewriteLocation(value) : value;
  }
  return { ...out, ...ISOLATION_HEADERS };
}

/**
 * An error on the app route: a small page a person can read (the pane, a new tab), or the
 * usual `{"error":{code,message}}` for API callers.
 */
export function sendAppError(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  const wantsHtml = /text\/html/.test(req.headers.accept ?? '');
  const body = wantsHtml
    ? errorPage(error)
    : JSON.stringify({ error: { code: error.code, message: error.message } });
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': wantsHtml ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...ISOLATION_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function errorPage(error: HttpError): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cannot open the app</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; max-width: 40rem; color: #1b1b1b; background: #fff; }
  @media (prefers-color-scheme: dark) { body { color: #eee; background: #17181c; } code { background: #2a2b31; } }
  h1 { font-size: 1.25rem; }
  code { background: #f0f0f0; padding: 0 .2em; border-radius: 3px; }
  .code { color: #666; font-size: .875rem; }
</style>
</head>
<body>
<h1>Cannot open the app</h1>
<p>${escapeHtml(error.message).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>
<p class="code">${error.status} · ${escapeHtml(error.code)}</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
