import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { baselinePage } from './baseline-page.js';
import { transpileFile } from './transpile.js';

const BENCH = fileURLToPath(new URL('../', import.meta.url));
const MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/** What the baseline pages load, by URL path. Page scripts are TypeScript, transpiled on first use. */
const ASSETS: Record<string, () => string | Buffer> = {
  '/raw/index.html': () =>
    baselinePage({
      title: 'Raw WebRTC (tutorial baseline)',
      heading: 'Raw WebRTC',
      scripts: `    <!-- The Socket.IO client bundle (socket.io-client/dist), as in the tutorials. -->
    <script src="/vendor/socket.io.min.js"></script>
    <script type="module" src="/raw/page.js"></script>`,
    }),
  '/raw/page.js': () => transpileFile(`${BENCH}baselines/raw/page.ts`),
  '/peerjs/index.html': () =>
    baselinePage({
      title: 'PeerJS (baseline)',
      heading: 'PeerJS',
      scripts: `    <!-- PeerJS's browser bundle (node_modules/peerjs/dist/peerjs.min.js): window.peerjs.Peer -->
    <script src="/vendor/peerjs.min.js"></script>
    <script type="module" src="/peerjs/page.js"></script>`,
    }),
  '/peerjs/page.js': () => transpileFile(`${BENCH}baselines/peerjs/page.ts`),
  '/page-kit.js': () => transpileFile(`${BENCH}baselines/page-kit.ts`),
  '/vendor/peerjs.min.js': () => readFileSync(`${MODULES}peerjs/dist/peerjs.min.js`),
  '/vendor/socket.io.min.js': () => readFileSync(`${MODULES}socket.io-client/dist/socket.io.min.js`),
};

export interface StaticServer {
  /** http://localhost:PORT (a secure context, and the same loopback address space as the servers). */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Serves the baseline pages from this process on a free loopback port. The signaling servers under
 * test serve nothing but signaling, so their memory and CPU figures hold only that.
 */
export async function startStaticServer(): Promise<StaticServer> {
  const cache = new Map<string, string | Buffer>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const load = ASSETS[path];
    if (!load) {
      res.writeHead(404).end('not found');
      return;
    }
    let body = cache.get(path);
    try {
      body ??= load();
    } catch (error) {
      res.writeHead(500).end(String(error));
      return;
    }
    cache.set(path, body);
    const type = path.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
