import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';

export interface HttpRoutes {
  /** Liveness: the process answers. */
  isLive(): boolean;
  /** Readiness: the server accepts new work (false while starting or shutting down). */
  isReady(): Promise<boolean>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Whether this request may read the metrics (a bearer token, or a client on this host). */
  mayReadMetrics(request: IncomingMessage): boolean;
}

/**
 * Headers on every response. The web app needs the camera, microphone and screen capture of its own
 * origin only; nothing may frame it. 'wasm-unsafe-eval' lets it compile WebAssembly (the file hash
 * worker's SHA-256, bundled with the app), and nothing else: no eval, no inline or foreign scripts.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(self), microphone=(self), display-capture=(self), geolocation=()',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const NOT_BUILT_PAGE =
  'Duet signaling server is running, but the web app is not built here (npm run build).\n';

/** The HTTP side: health, readiness, metrics and the built web app (Socket.IO takes /socket.io/). */
export function createRequestHandler(routes: HttpRoutes, webRoot: string) {
  const serveApp = existsSync(webRoot)
    ? sirv(webRoot, { single: true, etag: true, gzip: false, brotli: false, dotfiles: false })
    : undefined;

  return (request: IncomingMessage, response: ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      response.setHeader(name, value);
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      send(response, routes.isLive() ? 200 : 503, 'application/json', JSON.stringify({ status: 'ok' }));
      return;
    }
    if (path === '/readyz') {
      void routes.isReady().then(
        (ready) =>
          send(
            response,
            ready ? 200 : 503,
            'application/json',
            JSON.stringify({ status: ready ? 'ready' : 'not_ready' }),
          ),
        () => send(response, 503, 'application/json', JSON.stringify({ status: 'not_ready' })),
      );
      return;
    }
    if (path === '/metrics') {
      if (!routes.mayReadMetrics(request)) {
        send(response, 403, 'text/plain; charset=utf-8', 'Forbidden: /metrics needs the metrics token\n');
        return;
      }
      void routes.metrics().then(
        ({ contentType, body }) => send(response, 200, contentType, body),
        () => send(response, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n'),
      );
      return;
    }
    if (serveApp) {
      serveApp(request, response, () => send(response, 404, 'text/plain; charset=utf-8', 'Not found\n'));
      return;
    }
    if (path === '/') {
      send(response, 200, 'text/plain; charset=utf-8', NOT_BUILT_PAGE);
    } else {
      send(response, 404, 'text/plain; charset=utf-8', 'Not found\n');
    }
  };
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', ...headers });
  response.end(body);
}
