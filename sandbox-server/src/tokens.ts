import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe. Tokens are bearer credentials: never logged, never in a URL. */
export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A session id: random, not secret, safe in URLs and logs. */
export function createSessionId(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * Constant-time comparison. Both sides are hashed first so their lengths match and the time
 * taken says nothing about the expected token's length either.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
