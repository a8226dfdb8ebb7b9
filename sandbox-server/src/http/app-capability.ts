/**
 * App links: a short-lived capability in the URL of the app route, so a new tab or the dock's
 * pane (neither can send an Authorization header) can open what the reader deployed. A link
 * is an expiry and an HMAC over the session id, the target and that expiry, under a key this
 * server process made at start: it opens that one target of that one session, until it
 * expires or the session ends, and nothing else. It is not the session token, so a link that
 * leaks (history, a screenshot) cannot reach the terminal or the API.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppTarget } from '../shared/app-target.ts';

/** How long a link works. Pressing Open again makes a new one. */
export const APP_LINK_SECONDS = 15 * 60;

/** `<expiry in seconds, base 36>.<32 characters of HMAC-SHA256, base64url>` */
const SHAPE = /^([0-9a-z]{1,10})\.([A-Za-z0-9_-]{32})$/;

export type LinkCheck = 'ok' | 'expired' | 'invalid';

export class AppCapabilities {
  readonly #key = randomBytes(32);

  /** Whether a path segment has the shape of a link (as opposed to `svc` / `pod`). */
  static looksLike(segment: string): boolean {
    return SHAPE.test(segment);
  }

  mint(
    sessionId: string,
    target: AppTarget,
    now = Date.now(),
  ): { capability: string; expiresAt: number } {
    const expires = Math.floor(now / 1000) + APP_LINK_SECONDS;
    const stamp = expires.toString(36);
    return {
      capability: `${stamp}.${this.#mac(sessionId, target, stamp)}`,
      expiresAt: expires * 1000,
    };
  }

  check(capability: string, sessionId: string, target: AppTarget, now = Date.now()): LinkCheck {
    const match = SHAPE.exec(capability);
    if (!match) return 'invalid';
    const stamp = match[1] ?? '';
    const expected = Buffer.from(this.#mac(sessionId, target, stamp));
    const given = Buffer.from(match[2] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number.parseInt(stamp, 36) * 1000 > now ? 'ok' : 'expired';
  }

  #mac(sessionId: string, target: AppTarget, stamp: string): string {
    return createHmac('sha256', this.#key)
      .update(
        ['kubenotes-app-link', sessionId, target.kind, target.name, target.port, stamp].join('\n'),
      )
      .digest('base64url')
      .slice(0, 32);
  }
}
