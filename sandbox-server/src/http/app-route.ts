/**
 * The app route's URL, checked before anything is looked up:
 *
 *     /apps/<session>/<kind>/<name>:<port>/<path>?<query>            (Authorization: Bearer)
 *     /apps/<session>/<link>/<kind>/<name>:<port>/<path>?<query>     (a capability, app-capability.ts)
 *
 * The request to the API server is built from these validated parts only; `<path>` and the
 * query are passed on to the app, and anything that could be read as another object or
 * namespace on the way (dot segments, encoded slashes or dots, backslashes, empty segments,
 * control characters) is refused rather than cleaned. Pure; unit-tested and fuzzed.
 */
import { APP_RESOURCE, type AppTarget, parseAppTarget } from '../shared/app-target.ts';
import { AppCapabilities } from './app-capability.ts';

export const APPS_PREFIX = '/apps/';

export interface AppRoute {
  sessionId: string;
  /** the link's capability, when the URL carries one */
  capability: string | undefined;
  target: AppTarget;
  /** the path below the target, raw (percent-encoded as sent), without its leading `/` */
  path: string;
  /** the raw query, without `?`; '' when none */
  query: string;
  /** the URL's part up to the target, for rewriting the app's links */
  base: string;
  /** the target was given without a trailing `/`: redirect there, so relative links work */
  needsSlash: boolean;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** RFC 3986 pchar and `/`; `%` only as a valid escape, checked below. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
/** escapes that decode to `/`, `\`, `.`, NUL or another control character */
const DANGEROUS_ESCAPE = /%(2f|5c|2e|[01][0-9a-f]|7f)/i;
const MAX_PATH = 2048;
const MAX_QUERY = 4096;

export function parseAppRoute(
  url: string,
): { ok: true; route: AppRoute } | { ok: false; error: string } {
  if (!url.startsWith(APPS_PREFIX)) return fail('The app route starts with /apps/.');
  const hash = url.indexOf('#');
  const withoutHash = hash >= 0 ? url.slice(0, hash) : url;
  const q = withoutHash.indexOf('?');
  const pathPart = q >= 0 ? withoutHash.slice(0, q) : withoutHash;
  const query = q >= 0 ? withoutHash.slice(q + 1) : '';
  if (pathPart.length > MAX_PATH) return fail(`The path is longer than ${MAX_PATH} characters.`);
  if (query.length > MAX_QUERY) return fail(`The query is longer than ${MAX_QUERY} characters.`);
  if (!PATH_CHARS.test(pathPart) || !QUERY_CHARS.test(query)) {
    return fail('The address holds characters that must be percent-encoded.');
  }
  if (!validEscapes(pathPart) || !validEscapes(query) || /%(00|0a|0d)/i.test(query)) {
    return fail('The address holds a broken or forbidden percent-escape.');
  }

  const segments = pathPart.slice(APPS_PREFIX.length).split('/');
  const sessionId = segments.shift() ?? '';
  if (!SESSION_ID.test(sessionId)) return fail('That is not a session id.');
  let capability: string | undefined;
  if (segments[0] !== 'svc' && segments[0] !== 'pod') {
    capability = segments.shift() ?? '';
    if (!AppCapabilities.looksLike(capability)) {
      return fail('Expected svc/NAME:PORT or pod/NAME:PORT (or an app link) after the session id.');
    }
  }
  const kind = segments.shift() ?? '';
  const namePort = segments.shift();
  if (namePort === undefined) return fail('Expected svc/NAME:PORT or pod/NAME:PORT.');
  const parsed = parseAppTarget(`${kind}/${namePort}`);
  if (!parsed.ok) return fail(`${parsed.error}.`);

  const needsSlash = segments.length === 0;
  const rest = segments;
  // `a//b`, `.`, `..`: the API server or the app could resolve them above the target.
  for (let i = 0; i < rest.length; i++) {
    const segment = rest[i] ?? '';
    if (segment === '.' || segment === '..') return fail('The path may not hold . or .. segments.');
    if (segment === '' && i < rest.length - 1)
      return fail('The path may not hold empty segments (//).');
  }
  if (DANGEROUS_ESCAPE.test(pathPart)) {
    return fail('The path may not hold encoded slashes, backslashes, dots or control characters.');
  }
  const base = `${APPS_PREFIX}${sessionId}/${capability ? `${capability}/` : ''}${kind}/${namePort}`;
  return {
    ok: true,
    route: {
      sessionId,
      capability,
      target: parsed.target,
      path: rest.join('/'),
      query,
      base,
      needsSlash,
    },
  };
}

/** The API server's proxy path for a route, in a namespace; built from validated parts only. */
export function proxyPath(namespace: string, target: AppTarget): string {
  return `/api/v1/namespaces/${namespace}/${APP_RESOURCE[target.kind]}/${target.name}:${target.port}/proxy`;
}

function validEscapes(text: string): boolean {
  return !/%(?![0-9A-Fa-f]{2})/.test(text);
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
