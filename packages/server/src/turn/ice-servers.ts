import type { IceServer } from '@duet/protocol';
import { issueTurnCredentials } from './credentials.js';

export interface IceServerSettings {
  /** Servers given to every client as they are (e.g. a public STUN server). */
  staticServers: IceServer[];
  stunUrls: string[];
  turnUrls: string[];
  turnSecret: string | undefined;
  turnTtlSeconds: number;
}

export interface IssuedIceServers {
  iceServers: IceServer[];
  /** When the TURN credentials in `iceServers` expire (null: nothing expires). */
  expiresAt: number | null;
}

/** The ICE servers one user gets: STUN as configured, TURN with credentials of their own. */
export function iceServersFor(
  settings: IceServerSettings,
  userId: string,
  now = Date.now(),
): IssuedIceServers {
  const iceServers: IceServer[] = [...settings.staticServers];
  if (settings.stunUrls.length > 0) {
    iceServers.push({ urls: settings.stunUrls });
  }
  let expiresAt: number | null = null;
  if (settings.turnUrls.length > 0 && settings.turnSecret) {
    const issued = issueTurnCredentials(settings.turnSecret, userId, settings.turnTtlSeconds, now);
    iceServers.push({ urls: settings.turnUrls, username: issued.username, credential: issued.credential });
    expiresAt = issued.expiresAt;
  }
  return { iceServers, expiresAt };
}
