/**
 * The one listening server, HTTP or HTTPS (the operator's certificate, or one made for this run),
 * carrying the HTTP routes of http.ts; Socket.IO attaches to it afterwards. Kept apart from the
 * routes, which know nothing of TLS or ports.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config.js';
import { createRequestHandler, type HttpRoutes } from './http.js';
import type { Logger } from './logger.js';
import { loadTls } from './tls.js';

export interface WebServer {
  http: HttpServer;
  scheme: 'http' | 'https';
}

/**
 * The server with its request handler installed at creation: Socket.IO wraps the listeners present
 * when it attaches, so a handler added later would never see /socket.io/ requests go past it.
 */
export async function createWebServer(
  config: Pick<ServerConfig, 'https' | 'tlsCert' | 'tlsKey' | 'webRoot'>,
  routes: HttpRoutes,
  logger: Logger,
): Promise<WebServer> {
  const tls = config.https ? await loadTls({ certPath: config.tlsCert, keyPath: config.tlsKey }) : undefined;
  if (tls?.generated) {
    logger.warn(
      { fingerprint: tls.fingerprint },
      'HTTPS with a self-signed certificate made for this run: browsers will ask to trust it once',
    );
  }
  const handler = createRequestHandler(routes, config.webRoot);
  const http = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
  return { http, scheme: tls ? 'https' : 'http' };
}

/** Bind to `port` on `host`; fails (e.g. address in use) instead of emitting an unhandled error. */
export function listen(http: HttpServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** scheme://host:port of a bound address, for clients on this machine (any-address → localhost). */
export function localUrl(scheme: WebServer['scheme'], { address, port, family }: AddressInfo): string {
  const printable =
    address === '0.0.0.0' || address === '::' ? 'localhost' : family === 'IPv6' ? `[${address}]` : address;
  return `${scheme}://${printable}:${port}`;
}
