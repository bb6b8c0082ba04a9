/**
 * `startDuetServer`: the parts of a Duet server put together, in the order they need each other.
 * Each part's rules live in its own module; this one only wires them.
 */
import type { Server as HttpServer } from 'node:http';
import { DEFAULTS } from '@duet/protocol';
import type { AddressInfo } from 'node:net';
import { mayReadMetrics } from './admission.js';
import { parseConfig, type ServerConfig, type ServerConfigInput } from './config.js';
import { ConnectionGate } from './handshake.js';
import { createWebServer, listen, localUrl } from './http-server.js';
import { setUpTurn } from './turn/setup.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { shutDown } from './shutdown.js';
import { createSocketServer, serveSockets } from './socket-server.js';
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
  const cluster = createCluster(config, nodeName, logger);
  const store = options.store ?? cluster?.store ?? new MemoryStore();
  const metrics = new Metrics(nodeName);
  let state: 'starting' | 'ready' | 'closing' = 'starting';

  const { http, scheme } = await createWebServer(
    config,
    {
      isLive: () => true,
      isReady: async () => state === 'ready' && (cluster?.healthy() ?? true),
      metrics: async () => {
        await service.refreshMetrics();
        return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
      },
      mayReadMetrics: (request) => mayReadMetrics(request, config.metricsToken, config.trustProxy),
    },
    logger,
  );
  const gate = new ConnectionGate({ config, metrics, logger, isClosing: () => state === 'closing' });
  const io = createSocketServer(http, { config, adapter: cluster?.adapter, allowRequest: gate.allowRequest });
  gate.attach(io);

  const turn = await setUpTurn(config, logger);
  const service = new SignalingService(
    io,
    store,
    {
      ...config,
      ice: turn.settings,
      lobby: {
        openRooms: config.openRooms,
        knockTimeoutMs: config.knockTimeoutMs,
        passwordAttempts: {
          perIp: config.passwordAttemptsPerIp,
          perRoom: config.passwordAttemptsPerRoom,
          windowMs: DEFAULTS.passwordAttemptWindowMs,
        },
      },
    },
    logger.child({ part: 'signaling' }),
    metrics,
    cluster?.scheduler,
  );
  const dispatcher = new Dispatcher(service.handlers, { ...config, logger, metrics });
  serveSockets(io, { dispatcher, service, metrics, logger });

  if (cluster) {
    const reconciler = new Reconciler(io, cluster.store, service, logger.child({ part: 'cluster' }));
    await cluster.start({ reconcile: (urgent) => reconciler.reconcile(urgent) });
    logger.info({ nodeId: cluster.nodeId, adapter: config.redisAdapter }, 'sharing state through Redis');
  }

  await listen(http, config.port, config.host);
  state = 'ready';

  const address = (): AddressInfo => http.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    state = 'closing';
    const turnSupervisor = turn.supervisor;
    const timeoutMs = config.shutdownTimeoutMs;
    return shutDown({ io, http, service, dispatcher, cluster, turnSupervisor, logger, timeoutMs });
  };
  return {
    config,
    io,
    http,
    metrics,
    nodeName,
    address,
    url: () => localUrl(scheme, address()),
    close: () => (closed ??= shutdown()),
  };
}

/** Without a Redis URL nothing touches Redis: one process, state in memory. */
function createCluster(
  config: ServerConfig,
  nodeName: string | undefined,
  logger: Logger,
): RedisCluster | undefined {
  if (!config.redisUrl) {
    return undefined;
  }
  return new RedisCluster(
    {
      redisUrl: config.redisUrl,
      adapter: config.redisAdapter,
      nodeName: nodeName ?? defaultNodeName(),
      nodeTimeoutMs: config.nodeTimeoutMs,
      reconnectGraceMs: config.reconnectGraceMs,
    },
    logger.child({ part: 'cluster' }),
  );
}
