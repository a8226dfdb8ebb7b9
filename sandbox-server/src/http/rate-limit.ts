/**
 * A per-client budget of requests per minute (a token bucket), for session creation and for
 * wrong-token guesses. Buckets of clients that went quiet are dropped, so memory stays bounded.
 */
export class RateLimiter {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #sweptAt = Date.now();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one request from the client's budget; returns seconds to wait when over it. */
  take(client: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.#sweep(now);
    const rate = this.#perMinute / 60_000;
    const bucket = this.#buckets.get(client) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.#buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.ceil((1 - bucket.tokens) / rate / 1000) };
  }

  /** Whether the client's budget is spent, without taking from it; seconds to wait if so. */
  spent(client: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const bucket = this.#buckets.get(client);
    if (!bucket) return { ok: true };
    const rate = this.#perMinute / 60_000;
    const tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.at) * rate);
    if (tokens >= 1) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.ceil((1 - tokens) / rate / 1000) };
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [client, bucket] of this.#buckets) {
      if (now - bucket.at > 60_000) this.#buckets.delete(client);
    }
  }
}

/** The client's address; behind a trusted reverse proxy, the one it forwarded. */
export function clientAddress(
  remote: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy && forwardedFor) {
    const first = (Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor)?.split(',')[0];
    if (first?.trim()) return first.trim();
  }
  return remote ?? 'unknown';
}

/**
 * Wrong session tokens a client may send per minute, over HTTP (401) and terminal attaches
 * (4001) together; past that it gets 429 / 4001 `rate_limited` until its budget refills. Only
 * wrong tokens count, so a participant with the right one is never locked out by someone
 * guessing from the same venue's address.
 */
export const WRONG_TOKENS_PER_MINUTE = 10;
