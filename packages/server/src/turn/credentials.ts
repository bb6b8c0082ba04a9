import { createHmac } from 'node:crypto';

export interface TurnCredentials {
  username: string;
  credential: string;
  /** ms since epoch when coturn stops accepting them. */
  expiresAt: number;
}

/**
 * TURN REST API credentials (coturn `use-auth-secret`): the username is `<unix expiry>:<user id>` and
 * the password is base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC and checks the
 * expiry, so nothing is stored anywhere and a leaked credential dies by itself.
 */
export function issueTurnCredentials(
  secret: string,
  userId: string,
  ttlSeconds: number,
  now = Date.now(),
): TurnCredentials {
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  const username = `${expiry}:${userId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: expiry * 1000 };
}
