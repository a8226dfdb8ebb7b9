import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe. Tokens are bearer credentials: never logged, never in a URL. */
export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A session id: random (80 bits), not secret, safe in URLs and logs, and a valid part of a
 * Kubernetes name (lowercase letters and digits), so a session's namespace can carry it.
 */
export function createSessionId(): string {
  const bytes = randomBytes(16);
  let id = '';
  for (let i = 0; i < 16; i++) id += BASE32[(bytes[i] ?? 0) & 31];
  return id;
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
