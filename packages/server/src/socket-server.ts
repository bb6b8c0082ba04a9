/**
 * The Socket.IO server: its options in one place (frame size, heartbeat, and Socket.IO's own
 * connection-state recovery, which depends on the Redis adapter), and what becomes of each socket
 * it accepts. Who may connect at all is handshake.ts's job.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { LIMITS } from '@duet/protocol';
import type { ServerConfig } from './config.js';
import type { AllowRequest } from './handshake.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Dispatcher } from './signaling/dispatcher.js';
import type { SignalingService } from './signaling/service.js';
import type { DuetIo } from './signaling/types.js';

export interface SocketServerOptions {
  config: Pick<ServerConfig, 'reconnectGraceMs' | 'redisAdapter'>;
  /** The Redis adapter that carries events between processes; none in a single process. */
  adapter: ServerOptions['adapter'] | undefined;
  allowRequest: AllowRequest;
}

/** A Socket.IO server on `http` (whose request handler must already be installed). */
export function createSocketServer(http: HttpServer, options: SocketServerOptions): DuetIo {
  const { config, adapter, allowRequest } = options;
  return new Server(http, {
    serveClient: false,
    ...(adapter ? { adapter } : {}),
    maxHttpBufferSize: LIMITS.maxSignalingPayloadBytes,
    pingInterval: 15_000,
    pingTimeout: 10_000,
    // Socket.IO replays what a briefly disconnected client missed (events, rooms, data); a longer
    // absence falls back to our own session resume within the reconnect grace. Across processes
    // only the Streams adapter can replay (it keeps sessions in Redis); the pub/sub adapter cannot,
    // and with it every emit to a socket would wait for a Redis round trip for nothing.
    ...(adapter && config.redisAdapter !== 'streams'
      ? {}
      : {
          connectionStateRecovery: {
            maxDisconnectionDuration: Math.min(config.reconnectGraceMs, 120_000),
            skipMiddlewares: true,
          },
        }),
    allowRequest,
  });
}

export interface SocketHandling {
  dispatcher: Dispatcher;
  service: SignalingService;
  metrics: Metrics;
  logger: Logger;
}

/** Each socket: counted while connected, its events dispatched, its session resumed if recovered. */
export function serveSockets(io: DuetIo, { dispatcher, service, metrics, logger }: SocketHandling): void {
  io.on('connection', (socket) => {
    metrics.sockets.inc();
    dispatcher.attach(socket, (reason) => service.disconnected(socket, reason));
    socket.on('disconnect', () => metrics.sockets.dec());
    if (socket.recovered) {
      void service
        .recovered(socket)
        .catch((error: unknown) => logger.error({ err: error }, 'recovery failed'));
    }
  });
}
