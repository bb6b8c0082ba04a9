import { createHash, randomBytes } from 'node:crypto';

/** A 128-bit random id, base64url (22 characters): unguessable, so ids cannot be hijacked. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The session token of a join sent with a join key: a hash of the key, so that the same join sent
 * again finds the seat the first one took. Only the client knows the key; the token does not reveal it.
 */
export function sessionTokenForJoinKey(joinKey: string): string {
  return createHash('sha256').update(`duet-join-key:${joinKey}`).digest('base64url');
}

/** A 256-bit session token, base64url (43 characters): proves ownership of a user on resume. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}
