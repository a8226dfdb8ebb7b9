/**
 * The one check of a bearer credential (a session's token, the admin token): compared in
 * constant time, and every wrong one taken from its client's budget of guesses per minute, so
 * guessing is slowed down. Only wrong tokens count: a participant with the right one is never
 * locked out by someone guessing from the same venue's address.
 */
import type { IncomingMessage } from 'node:http';
import { RateLimiter } from '../limits/rate-limiter.ts';
import { tokensEqual } from '../session/tokens.ts';
import { HttpError } from './http-error.ts';
import { clientAddress } from './rate-limit.ts';

export type TokenCheck =
  | { ok: true /** which of the expected tokens was given */; matched: number }
  | { ok: false; code: 'bad_token' }
  | { ok: false; code: 'rate_limited'; retryAfterSeconds: number };

export class TokenGuard {
  readonly #wrong: RateLimiter;
  readonly #trustProxy: boolean;

  constructor(init: { wrongPerMinute: number; trustProxy: boolean }) {
    this.#wrong = new RateLimiter(init.wrongPerMinute);
    this.#trustProxy = init.trustProxy;
  }

  /** The address a request's guesses are counted against. */
  client(req: IncomingMessage): string {
    return clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      this.#trustProxy,
    );
  }

  /**
   * Which of `expected` (unset ones skipped) `given` is. Every one is compared, always, so the
   * time taken does not tell which was close; a miss takes one guess from the client's budget.
   */
  check(
    client: string,
    given: string | undefined,
    expected: readonly (string | undefined)[],
  ): TokenCheck {
    const matches = expected.map(
      (token) => given !== undefined && token !== undefined && tokensEqual(given, token),
    );
    const matched = matches.indexOf(true);
    if (matched >= 0) return { ok: true, matched };
    const budget = this.#wrong.take(client);
    if (!budget.ok) {
      return { ok: false, code: 'rate_limited', retryAfterSeconds: budget.retryAfterSeconds };
    }
    return { ok: false, code: 'bad_token' };
  }

  /**
   * An HTTP request's `Authorization: Bearer` token must be `expected`; otherwise 401
   * `bad_token`, or 429 `rate_limited` with Retry-After past the client's budget.
   */
  authorize(req: IncomingMessage, expected: string, what: 'session' | 'admin'): void {
    const result = this.check(this.client(req), bearer(req.headers.authorization), [expected]);
    if (result.ok) return;
    if (result.code === 'rate_limited') {
      throw new HttpError(
        429,
        'rate_limited',
        `Too many wrong ${what} tokens from your address; try again in ${result.retryAfterSeconds} s.`,
        { 'retry-after': String(result.retryAfterSeconds) },
      );
    }
    throw new HttpError(
      401,
      'bad_token',
      `The ${what} token is missing or wrong: send it as "Authorization: Bearer <token>".`,
    );
  }
}

export function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
