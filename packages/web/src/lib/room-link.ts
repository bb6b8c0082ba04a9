/**
 * A room's link: `/?room=<name>#k=<secret>`. The secret of a private room lives in the fragment
 * because browsers never send the fragment to a server (not in the request, not in `Referer`), so
 * it stays out of every access log; the app hands it to the server only inside the WebSocket.
 */

export interface RoomLink {
  room: string;
  /** The private room's secret; null for a link by plain name (an open room). */
  secret: string | null;
}

const SECRET = /^[A-Za-z0-9_-]{22,86}$/;

/** The room link of the current address; '' and null where absent (or a malformed secret). */
export function roomLinkFromAddress(address: Pick<Location, 'search' | 'hash'> = window.location): RoomLink {
  const room = new URLSearchParams(address.search).get('room')?.trim() ?? '';
  const secret = new URLSearchParams(address.hash.slice(1)).get('k');
  return { room, secret: secret !== null && SECRET.test(secret) ? secret : null };
}

/** The link that opens `room` (with its secret, when private) on this origin. */
export function roomLink(room: string, secret: string | null, origin = window.location.origin): string {
  const url = new URL('/', origin);
  url.searchParams.set('room', room);
  if (secret !== null) {
    url.hash = new URLSearchParams({ k: secret }).toString();
  }
  return url.href;
}

/** Put the room (and its secret) in the address bar without a navigation, so a reload comes back. */
export function showRoomLinkInAddress(room: string, secret: string | null): void {
  const link = roomLink(room, secret);
  if (window.location.href !== link) {
    window.history.replaceState(window.history.state, '', link);
  }
}

/** A fresh room secret: 128 random bits, base64url (what the server requires at least). */
export function newRoomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}
