/**
 * Serves the built guide from the same origin as the API, so the browser talks to one origin.
 * Paths are resolved inside the site folder only; HTML gets a Content-Security-Policy that
 * allows its own inline scripts by hash (no 'unsafe-inline' for scripts), and text is gzipped
 * once and kept.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HttpError } from './http-error.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.wasm': 'application/wasm',
  '.pf_meta': 'application/octet-stream',
  '.pf_index': 'application/octet-stream',
  '.pf_fragment': 'application/octet-stream',
};

const COMPRESSIBLE = /^(text\/|application\/(json|xml|javascript)|image\/svg)/;

export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

interface Prepared {
  body: Buffer;
  gzipped: Buffer | undefined;
  type: string;
  csp: string | undefined;
  mtimeMs: number;
}

export class StaticSite {
  readonly #root: string;
  readonly #cache = new Map<string, Prepared>();
  /** origins the pages may frame besides their own: readers' apps (--apps-origin) */
  readonly #frameOrigins: readonly string[];

  constructor(root: string, frameOrigins: readonly string[] = []) {
    this.#root = resolve(root);
    this.#frameOrigins = frameOrigins;
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, 'method_not_allowed', 'The site answers GET and HEAD only.', {
        allow: 'GET, HEAD',
      });
    }
    const file = await this.#locate(path);
    if (!file) {
      const notFound = await this.#prepare(join(this.#root, '404.html')).catch(() => undefined);
      return this.#send(req, res, 404, notFound);
    }
    return this.#send(req, res, 200, await this.#prepare(file));
  }

  /** Maps a URL path to a file inside the root, or null. Never escapes the root. */
  async #locate(path: string): Promise<string | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    const candidate = resolve(this.#root, `.${normalize(`/${decoded}`)}`);
    if (candidate !== this.#root && !candidate.startsWith(this.#root + sep)) return null;
    for (const option of [candidate, join(candidate, 'index.html'), `${candidate}.html`]) {
      try {
        if ((await stat(option)).isFile()) return option;
      } catch {
        // try the next form
      }
    }
    return null;
  }

  async #prepare(file: string): Promise<Prepared> {
    const info = await stat(file);
    const cached = this.#cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs) return cached;
    const body = await readFile(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const prepared: Prepared = {
      body,
      type,
      gzipped: COMPRESSIBLE.test(type) && body.length > 512 ? gzipSync(body) : undefined,
      csp: type.startsWith('text/html')
        ? contentSecurityPolicy(body.toString('utf8'), this.#frameOrigins)
        : undefined,
      mtimeMs: info.mtimeMs,
    };
    this.#cache.set(file, prepared);
    return prepared;
  }

  #send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    file: Prepared | undefined,
  ): void {
    if (!file) {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end('Not found');
      return;
    }
    const gzip = file.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzipped! : file.body;
    const headers: Record<string, string> = {
      'content-type': file.type,
      'content-length': String(body.length),
      'cache-control': file.type.startsWith('text/html')
        ? 'no-cache'
        : 'public, max-age=31536000, immutable',
      vary: 'Accept-Encoding',
      ...SECURITY_HEADERS,
    };
    if (gzip) headers['content-encoding'] = 'gzip';
    if (file.csp) headers['content-security-policy'] = file.csp;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

const INLINE_SCRIPT = /<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi;

/** A CSP for one page: its own inline scripts allowed by hash, everything else same-origin. */
export function contentSecurityPolicy(html: string, frameOrigins: readonly string[] = []): string {
  const hashes = new Set<string>();
  for (const match of html.matchAll(INLINE_SCRIPT)) {
    const tag = match[0].slice(0, match[0].indexOf('>'));
    // JSON data blocks are not executed, so they need no hash.
    if (/type\s*=\s*["']?application\/(ld\+)?json/i.test(tag)) continue;
    const digest = createHash('sha256')
      .update(match[1] ?? '')
      .digest('base64');
    hashes.add(`'sha256-${digest}'`);
  }
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${[...hashes].join(' ')}`.trim(),
    // xterm.js and Starlight set element styles at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    // The dock's app pane (app-open.ts) frames readers' apps, on their own origin if set.
    `frame-src 'self' ${frameOrigins.join(' ')}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}
