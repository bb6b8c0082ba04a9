import WebSocket from 'ws';
import type { Server } from './processes.js';

/**
 * A full garbage collection in a Node process of ours started with `--inspect=127.0.0.1:0`, through
 * its inspector (CDP `HeapProfiler.collectGarbage`): what its heap holds afterwards is what it
 * keeps, not what it has not collected yet. The inspector's address is the one Node printed on
 * stderr (kept in the server's log). Loopback only; bounded.
 */
export async function collectGarbage(server: Server, timeoutMs = 10_000): Promise<void> {
  const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(server.log())?.[1];
  if (!url) {
    throw new Error(`${server.name} has no inspector: start it with --inspect=127.0.0.1:0`);
  }
  const socket = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no GC from ${server.name} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('open', () =>
        socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })),
      );
      socket.on('message', (data: WebSocket.RawData) => {
        // Text frames arrive as one Buffer (ws's default).
        const reply = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : '{}') as {
          id?: number;
          error?: { message: string };
        };
        if (reply.id !== 1) {
          return;
        }
        clearTimeout(timer);
        if (reply.error) {
          reject(new Error(`HeapProfiler.collectGarbage: ${reply.error.message}`));
        } else {
          resolve();
        }
      });
    });
  } finally {
    socket.close();
  }
}

/** The inspector's own lines on stderr: not problems of the server. */
export function isInspectorLine(line: string): boolean {
  return /Debugger (listening on|attached|ending)|For help, see: https:\/\/nodejs\.org|Waiting for the debugger to disconnect/.test(
    line,
  );
}
