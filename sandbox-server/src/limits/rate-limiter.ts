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
