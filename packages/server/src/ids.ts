import { randomBytes } from 'node:crypto';

/** A 128-bit random id, base64url (22 characters): unguessable, so ids cannot be hijacked. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** A 256-bit session token, base64url (43 characters): proves ownership of a user on resume. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}
