import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SESSION_ID_ALPHABET, SESSION_ID_LENGTH } from '../shared/protocol.ts';

/** 256 random bits, URL-safe. Tokens are bearer credentials: never logged, never in a URL. */
export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A session id (see isSessionId): random, not secret. */
export function createSessionId(): string {
  const bytes = randomBytes(SESSION_ID_LENGTH);
  let id = '';
  for (const byte of bytes) id += SESSION_ID_ALPHABET[byte & 31];
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
