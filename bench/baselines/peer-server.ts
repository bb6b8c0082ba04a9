/*
 * Baseline: PeerJS's own signaling server (`peer`, peerjs-server 1.x) with its defaults, except:
 * - `concurrent_limit`: its default of 5000 clients would refuse most of the 10k-client run;
 * - `host`: loopback only;
 * - `port`: a free one.
 * Clients connect with their own ids (PeerJS lets clients choose them).
 *
 *   node peer-server.mjs [--port N] [--concurrent-limit N]      prints `listening on PORT`
 */
import type { Server as HttpServer } from 'node:http';
import { PeerServer } from 'peer';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

PeerServer(
  {
    host: '127.0.0.1',
    port: arg('--port', 0),
    path: '/',
    concurrent_limit: arg('--concurrent-limit', 100_000),
  },
  (server: HttpServer | { address(): unknown }) => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? (address as { port: number }).port : 0;
    console.log(`listening on ${port}`);
  },
);

process.on('SIGTERM', () => process.exit(0));
