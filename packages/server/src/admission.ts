import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a browser page at `origin` may open a signaling connection. Checked at the Engine.IO
 * handshake for both polling and websocket (CORS alone does not stop a websocket).
 *
 * - No Origin: not a browser page (or a same-origin GET, which some browsers send without one).
 * - Same origin as the request's Host, or a localhost page: allowed.
 * - Otherwise only origins on the configured allow-list.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowList: readonly string[],
): boolean {
  if (origin === undefined) {
    return true;
  }
  if (allowList.includes(origin)) {
    return true;
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null"
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return false;
  }
  if (host !== undefined && url.host === host.toLowerCase()) {
    return true;
  }
  return LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The client's address. Behind a reverse proxy that we trust, the proxy appends the address it saw
 * to X-Forwarded-For, so the last entry is the one nobody but the proxy could write.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers['x-forwarded-for'];
    const value = Array.isArray(forwarded) ? forwarded.at(-1) : forwarded;
    const last = value?.split(',').at(-1)?.trim();
    if (last) {
      return last;
    }
  }
  return request.socket.remoteAddress ?? 'unknown';
}

/**
 * /metrics: with a token, only a request bearing it (compared in constant time); without one, only a
 * client on this host (a Prometheus beside Duet, an operator's curl), never the internet.
 */
export function mayReadMetrics(
  request: IncomingMessage,
  token: string | undefined,
  trustProxy: boolean,
): boolean {
  if (token) {
    const presented = Buffer.from(request.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${token}`);
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  }
  return isLoopback(clientAddress(request, trustProxy));
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Concurrent connections per client address. */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limit: number) {}

  hasRoom(address: string): boolean {
    return (this.counts.get(address) ?? 0) < this.limit;
  }

  add(address: string): void {
    this.counts.set(address, (this.counts.get(address) ?? 0) + 1);
  }

  remove(address: string): void {
    const next = (this.counts.get(address) ?? 1) - 1;
    if (next <= 0) {
      this.counts.delete(address);
    } else {
      this.counts.set(address, next);
    }
  }
}
