/**
 * Graceful shutdown, in the order that loses nothing: stop timers and ignore disconnects, tell
 * clients to come back shortly, close Socket.IO and HTTP within a bound, let queued socket tasks
 * finish, and only then close Redis and the supervised turnserver they may still need.
 */
import type { Server as HttpServer } from 'node:http';
import type { RedisCluster } from './cluster/cluster.js';
import type { Logger } from './logger.js';
import type { Dispatcher } from './signaling/dispatcher.js';
import type { SignalingService } from './signaling/service.js';
import type { DuetIo } from './signaling/types.js';
import type { TurnSupervisor } from './turn/supervisor.js';

/** How long clients are told to wait before reconnecting to a restarting server. */
const RESTART_RETRY_AFTER_MS = 1000;
/** How long a shutdown waits for queued socket tasks before closing the store. */
const SOCKET_TASKS_DRAIN_MS = 2000;

/** Everything a shutdown closes, in the server it belongs to. */
export interface RunningParts {
  io: DuetIo;
  http: HttpServer;
  service: SignalingService;
  dispatcher: Dispatcher;
  cluster: RedisCluster | undefined;
  turnSupervisor: TurnSupervisor | undefined;
  logger: Logger;
  /** Bound on waiting for Socket.IO and HTTP to close by themselves. */
  timeoutMs: number;
}

/** Close the server's parts, in the order above. */
export async function shutDown(parts: RunningParts): Promise<void> {
  const { io, http, service, dispatcher, cluster, turnSupervisor, logger, timeoutMs } = parts;
  service.close();
  logger.info('shutting down');
  io.emit('server:shutdown', { retryAfterMs: RESTART_RETRY_AFTER_MS });
  const graceful = new Promise<void>((resolve) => {
    // io.close() disconnects every socket and closes the HTTP server. With Redis it also
    // unsubscribes the adapter, which fails while Redis is away: the bound below still holds.
    io.close(() => resolve()).catch((error: unknown) => {
      logger.warn({ err: error }, 'closing Socket.IO failed');
      resolve();
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([graceful, bound]);
  clearTimeout(timer);
  http.closeAllConnections();
  // Socket tasks still queued (a disconnect's cleanup, a last relay) need the store: let them
  // finish, briefly, before Redis goes.
  await dispatcher.drained(SOCKET_TASKS_DRAIN_MS);
  await cluster?.close();
  await turnSupervisor?.stop();
  logger.info('closed');
}
