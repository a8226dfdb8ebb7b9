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
