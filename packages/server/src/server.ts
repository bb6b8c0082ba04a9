import { createServer, type Server as HttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ConnectErrorDataSchema, HandshakeAuthSchema, LIMITS, PROTOCOL_VERSION } from '@duet/protocol';
import { ConnectionCounter, clientAddress, isOriginAllowed, mayReadMetrics } from './admission.js';
import { parseConfig, type ServerConfig, type ServerConfigInput } from './config.js';
import { createRequestHandler } from './http.js';
import { loadTls } from './tls.js';
import { setUpTurn } from './turn/setup.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Dispatcher } from './signaling/dispatcher.js';
import { SignalingService } from './signaling/service.js';
import type { DuetIo } from './signaling/types.js';
import { RedisCluster, defaultNodeName } from './cluster/cluster.js';
import { Reconciler } from './cluster/reconcile.js';
import { MemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';

export interface DuetServer {
  readonly config: ServerConfig;
  readonly io: DuetIo;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  /** This process's name in logs and metrics when it shares state through Redis. */
  readonly nodeName: string | undefined;
  /** The bound address (after start). */
  address(): AddressInfo;
  /** http(s)://host:port of the bound address, for clients on this machine. */
  url(): string;
  /** Graceful shutdown: refuse new connections, tell clients, close within `shutdownTimeoutMs`. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  store?: Store;
}

/** How long clients are told to wait before reconnecting to a restarting server. */
const RESTART_RETRY_AFTER_MS = 1000;
/** How long a shutdown waits for queued socket tasks before closing the store. */
const SOCKET_TASKS_DRAIN_MS = 2000;

/** Start a Duet server: HTTP and Socket.IO on one port. */
export async function startDuetServer(
  input: ServerConfigInput = {},
  options: StartOptions = {},
): Promise<DuetServer> {
  const config = parseConfig(input);
  const nodeName = config.redisUrl ? (config.nodeName ?? defaultNodeName()) : undefined;
  // With several processes, every log line says which one wrote it.
  const baseLogger = options.logger ?? createLogger(config.logLevel);
  const logger = nodeName === undefined ? baseLogger : baseLogger.child({ node: nodeName });
  // Without a Redis URL nothing below touches Redis: one process, state in memory.
  const cluster = config.redisUrl
    ? new RedisCluster(
        {
          redisUrl: config.redisUrl,
          adapter: config.redisAdapter,
          nodeName: nodeName ?? defaultNodeName(),
          nodeTimeoutMs: config.nodeTimeoutMs,
          reconnectGraceMs: config.reconnectGraceMs,
        },
        logger.child({ part: 'cluster' }),
      )
    : undefined;
  const store = options.store ?? cluster?.store ?? new MemoryStore();
  const metrics = new Metrics(nodeName);
  const connections = new ConnectionCounter(config.maxConnectionsPerIp);
  let state: 'starting' | 'ready' | 'closing' = 'starting';

  // The request handler must exist before Socket.IO attaches: Socket.IO wraps the listeners present
  // then, so /socket.io/ requests never reach ours.
  const tls = config.https ? await loadTls({ certPath: config.tlsCert, keyPath: config.tlsKey }) : undefined;
  if (tls?.generated) {
    logger.warn(
      { fingerprint: tls.fingerprint },
      'HTTPS with a self-signed certificate made for this run: browsers will ask to trust it once',
    );
  }
  const createHttp = (handler: RequestListener): HttpServer =>
    tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
  const http = createHttp(
    createRequestHandler(
      {
        isLive: () => true,
        isReady: async () => state === 'ready' && (cluster?.healthy() ?? true),
        metrics: async () => {
          await service.refreshMetrics();
          return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
        },
        mayReadMetrics: (request) => mayReadMetrics(request, config.metricsToken, config.trustProxy),
      },
      config.webRoot,
    ),
  );
  const io: DuetIo = new Server(http, {
    serveClient: false,
    ...(cluster ? { adapter: cluster.adapter } : {}),
    maxHttpBufferSize: LIMITS.maxSignalingPayloadBytes,
    pingInterval: 15_000,
    pingTimeout: 10_000,
    // Socket.IO replays what a briefly disconnected client missed (events, rooms, data); a longer
    // absence falls back to our own session resume within the reconnect grace. Across processes
    // only the Streams adapter can replay (it keeps sessions in Redis); the pub/sub adapter cannot,
    // and with it every emit to a socket would wait for a Redis round trip for nothing.
    ...(cluster && config.redisAdapter !== 'streams'
      ? {}
      : {
          connectionStateRecovery: {
            maxDisconnectionDuration: Math.min(config.reconnectGraceMs, 120_000),
            skipMiddlewares: true,
          },
        }),
    allowRequest: (request, callback) => {
      if (state === 'closing') return callback('server_shutting_down', false);
      if (!isOriginAllowed(request.headers.origin, request.headers.host, config.allowedOrigins)) {
        metrics.refused.inc({ code: 'origin_not_allowed' });
        logger.warn({ origin: request.headers.origin }, 'connection from a foreign origin refused');
        return callback('origin_not_allowed', false);
      }
      if (!connections.hasRoom(clientAddress(request, config.trustProxy))) {
        metrics.refused.inc({ code: 'too_many_connections' });
        return callback('too_many_connections', false);
      }
      callback(null, true);
    },
  });

  io.engine.on(
    'connection',
    (raw: { request: import('node:http').IncomingMessage; once(e: 'close', f: () => void): void }) => {
      const address = clientAddress(raw.request, config.trustProxy);
      connections.add(address);
      raw.once('close', () => connections.remove(address));
    },
  );

  const turn = await setUpTurn(config, logger);
  const service = new SignalingService(
    io,
    store,
    { ...config, ice: turn.settings },
    logger.child({ part: 'signaling' }),
    metrics,
    cluster?.scheduler,
  );
  const dispatcher = new Dispatcher(service.handlers, { ...config, logger, metrics });

  io.use((socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success || auth.data.protocolVersion !== PROTOCOL_VERSION) {
      metrics.refused.inc({ code: 'unsupported_protocol_version' });
      const error = new Error('unsupported_protocol_version') as Error & { data?: unknown };
      error.data = ConnectErrorDataSchema.parse({
        code: 'unsupported_protocol_version',
        message: `This server speaks Duet protocol ${PROTOCOL_VERSION}; reload the page to get the matching app.`,
        serverProtocolVersion: PROTOCOL_VERSION,
      });
      return next(error);
    }
    socket.data.ip = clientAddress(socket.request, config.trustProxy);
    next();
  });

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

  if (cluster) {
    const reconciler = new Reconciler(io, cluster.store, service, logger.child({ part: 'cluster' }));
    await cluster.start({ reconcile: (urgent) => reconciler.reconcile(urgent) });
    logger.info({ nodeId: cluster.nodeId, adapter: config.redisAdapter }, 'sharing state through Redis');
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  state = 'ready';

  const address = (): AddressInfo => http.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    config,
    io,
    http,
    metrics,
    nodeName,
    address,
    url: () => {
      const { address: host, port, family } = address();
      const printable =
        host === '0.0.0.0' || host === '::' ? 'localhost' : family === 'IPv6' ? `[${host}]` : host;
      return `${tls ? 'https' : 'http'}://${printable}:${port}`;
    },
    close: () => {
      closed ??= shutdown();
      return closed;
    },
  };

  async function shutdown(): Promise<void> {
    state = 'closing';
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
      timer = setTimeout(resolve, config.shutdownTimeoutMs);
    });
    await Promise.race([graceful, bound]);
    clearTimeout(timer);
    http.closeAllConnections();
    // Socket tasks still queued (a disconnect's cleanup, a last relay) need the store: let them
    // finish, briefly, before Redis goes.
    await dispatcher.drained(SOCKET_TASKS_DRAIN_MS);
    await cluster?.close();
    await turn.supervisor?.stop();
    logger.info('closed');
  }
}
