/**
 * Who may open a signaling connection, decided before any event handler runs; kept out of the
 * server's composition so the admission rules read in one place. A connection meets three gates:
 *
 * 1. The Engine.IO handshake (`allowRequest`, for polling and websocket alike): refused while the
 *    server shuts down, from a foreign origin (CORS alone does not stop a websocket), and from an
 *    address already at its connection limit.
 * 2. Each accepted Engine.IO connection counts against its address until it closes.
 * 3. The Socket.IO middleware: the client must speak this server's protocol version (else a
 *    `connect_error` that tells it to reload); the socket then records its client address.
 */
import type { IncomingMessage } from 'node:http';
import type { ExtendedError, ServerOptions } from 'socket.io';
import { ConnectErrorDataSchema, HandshakeAuthSchema, PROTOCOL_VERSION } from '@duet/protocol';
import { ConnectionCounter, clientAddress, isOriginAllowed } from './admission.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { DuetIo, DuetSocket } from './signaling/types.js';

/** Engine.IO's handshake check, as the Socket.IO server's options take it. */
export type AllowRequest = NonNullable<ServerOptions['allowRequest']>;

export interface ConnectionGateOptions {
  config: Pick<ServerConfig, 'allowedOrigins' | 'trustProxy' | 'maxConnectionsPerIp'>;
  metrics: Metrics;
  logger: Logger;
  /** Whether shutdown has begun: from then on every new connection is refused. */
  isClosing(): boolean;
}

/** The three gates above: `allowRequest` goes into the server's options, `attach` adds the rest. */
export class ConnectionGate {
  private readonly connections: ConnectionCounter;

  constructor(private readonly options: ConnectionGateOptions) {
    this.connections = new ConnectionCounter(options.config.maxConnectionsPerIp);
  }

  /** Gate 1: the Engine.IO handshake. */
  readonly allowRequest: AllowRequest = (request, callback) => {
    const { config, metrics, logger } = this.options;
    if (this.options.isClosing()) {
      return callback('server_shutting_down', false);
    }
    if (!isOriginAllowed(request.headers.origin, request.headers.host, config.allowedOrigins)) {
      metrics.refused.inc({ code: 'origin_not_allowed' });
      logger.warn({ origin: request.headers.origin }, 'connection from a foreign origin refused');
      return callback('origin_not_allowed', false);
    }
    if (!this.connections.hasRoom(clientAddress(request, config.trustProxy))) {
      metrics.refused.inc({ code: 'too_many_connections' });
      return callback('too_many_connections', false);
    }
    callback(null, true);
  };

  /** Gates 2 and 3, on the server that `allowRequest` was given to. */
  attach(io: DuetIo): void {
    io.engine.on('connection', (raw: { request: IncomingMessage; once(e: 'close', f: () => void): void }) => {
      const address = clientAddress(raw.request, this.options.config.trustProxy);
      this.connections.add(address);
      raw.once('close', () => this.connections.remove(address));
    });
    io.use((socket, next) => this.checkProtocol(socket, next));
  }

  /** Gate 3: the protocol version the client speaks, then the socket's client address. */
  private checkProtocol(socket: DuetSocket, next: (error?: ExtendedError) => void): void {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success || auth.data.protocolVersion !== PROTOCOL_VERSION) {
      this.options.metrics.refused.inc({ code: 'unsupported_protocol_version' });
      const error = new Error('unsupported_protocol_version') as Error & { data?: unknown };
      error.data = ConnectErrorDataSchema.parse({
        code: 'unsupported_protocol_version',
        message: `This server speaks Duet protocol ${PROTOCOL_VERSION}; reload the page to get the matching app.`,
        serverProtocolVersion: PROTOCOL_VERSION,
      });
      return next(error);
    }
    socket.data.ip = clientAddress(socket.request, this.options.config.trustProxy);
    next();
  }
}
