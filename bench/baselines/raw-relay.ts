/*
 * Baseline: the bare Socket.IO relay of every WebRTC tutorial. Join a room by name, and whatever
 * one socket sends as `signal` goes to the others in its room. No validation, no ids, no state
 * beyond Socket.IO's own rooms, no rate limits: the least a relay can do, so that Duet's figures
 * show what its checks and bookkeeping cost.
 *
 * Run by the benchmarks (transpiled to plain JS, see bench/lib/processes.ts):
 *   node raw-relay.mjs [--port N]      prints `listening on PORT`
 * The pages come from the benchmark's static server on another port, hence CORS (as in a tutorial
 * whose page is served by a dev server).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;

const http = createServer((_req, res) => {
  res.writeHead(404).end();
});
const io = new Server(http, { cors: { origin: true } });

io.on('connection', (socket) => {
  let room: string | null = null;
  socket.on('join', (name: unknown, ack?: unknown) => {
    if (typeof name !== 'string') {
      return;
    }
    room = name;
    void socket.join(name);
    if (typeof ack === 'function') {
      (ack as () => void)();
    }
  });
  socket.on('signal', (message: unknown) => {
    if (room !== null) {
      socket.to(room).emit('signal', message);
    }
  });
});

http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening on ${typeof address === 'object' && address ? address.port : port}`);
});

// Stop on SIGTERM like a well-behaved server (the benchmark stops us that way).
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
