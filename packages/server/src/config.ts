import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { DEFAULTS, IceServerSchema } from '@duet/protocol';

const booleanFromText = z.union([
  z.boolean(),
  z
    .enum(['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'])
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
]);

/** A whole number from an env variable or flag, with a message people understand. */
const wholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const commaList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0));

/** Web origins as the browser sends them in `Origin`: scheme://host[:port], nothing else. */
const OriginSchema = z.string().regex(/^https?:\/\/[^/\s]+$/, 'must look like https://example.com[:port]');

const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** The server's configuration, validated. Every field has an env variable and a CLI flag. */
export const ConfigSchema = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  port: wholeNumber(0, 65535).default(DEFAULTS.port),
  roomCapacity: wholeNumber(2, DEFAULTS.maxRoomCapacity).default(DEFAULTS.roomCapacity),
  ringTimeoutMs: wholeNumber(100, 600_000).default(DEFAULTS.ringTimeoutMs),
  reconnectGraceMs: wholeNumber(0, 600_000).default(DEFAULTS.reconnectGraceMs),
  eventsPerSecond: wholeNumber(1, 10_000).default(DEFAULTS.eventsPerSecond),
  eventBurst: wholeNumber(1, 100_000).default(DEFAULTS.eventBurst),
  maxConnectionsPerIp: wholeNumber(1, 100_000).default(DEFAULTS.maxConnectionsPerIp),
  /** Extra origins allowed to connect; same origin and localhost are always allowed. */
  allowedOrigins: commaList.pipe(z.array(OriginSchema)).default([]),
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy: booleanFromText.default(false),
  /**
   * Bearer token for /metrics. Without one, /metrics answers only clients on this host (loopback),
   * so an internet-facing server does not publish its counts.
   */
  metricsToken: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  shutdownTimeoutMs: wholeNumber(0, 120_000).default(DEFAULTS.shutdownTimeoutMs),
  /** Where the built web app lives; served at / when the folder exists. */
  webRoot: z.string().min(1).default(DEFAULT_WEB_ROOT),
  /** Serve HTTPS (LAN use: cameras need a secure origin). Without cert/key, a self-signed one is made. */
  https: booleanFromText.default(false),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** `relay`: clients connect only through TURN, so peers never learn each other's addresses. */
  iceTransportPolicy: z.enum(['all', 'relay']).default('all'),
  /** STUN URLs handed to clients (e.g. stun:turn.example.org:3478). */
  stunUrls: commaList.pipe(z.array(z.string().regex(/^stuns?:\S+$/, 'must be a stun: URL'))).default([]),
  /** TURN URLs handed to clients with per-user credentials (turn:/turns:, ?transport=udp|tcp). */
  turnUrls: commaList
    .pipe(z.array(z.string().regex(/^turns?:\S+$/, 'must be a turn: or turns: URL')))
    .default([]),
  /** coturn's static-auth-secret (use-auth-secret); never sent to clients. */
  turnSecret: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters')
    .optional(),
  /** A file holding the secret (keeps it out of the environment and process list). */
  turnSecretFile: z.string().min(1).optional(),
  /** Lifetime of issued TURN credentials; clients refresh them before they expire. */
  turnTtlSeconds: wholeNumber(60, 86_400).default(DEFAULTS.turnTtlSeconds),
  /** `local`: start and supervise a turnserver on this host with Duet's hardened configuration. */
  turnServer: z.enum(['off', 'local']).default('off'),
  turnRealm: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name')
    .default('duet'),
  turnPort: wholeNumber(1, 65535).default(3478),
  turnListenIps: commaList.default([]),
  /** The address relayed traffic leaves from (required with --turn-server local). */
  turnRelayIp: z.string().min(1).optional(),
  /** `public` or `public/private` when the host is behind 1:1 NAT. */
  turnExternalIp: z.string().min(1).optional(),
  turnMinPort: wholeNumber(1024, 65535).default(49152),
  turnMaxPort: wholeNumber(1024, 65535).default(65535),
  /** STUN/TURN servers handed to clients on join (JSON array of RTCIceServer). None by default. */
  iceServers: z.preprocess(parseJsonText, z.array(IceServerSchema)).default([]),
  /**
   * Redis for running several Duet processes together (rooms, presence, calls and the Socket.IO
   * adapter shared). Unset: one process, state in memory.
   */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Which official Socket.IO Redis adapter carries events between the processes. */
  redisAdapter: z.enum(['sharded', 'streams']).default('sharded'),
  /** This process's name in logs and metrics (with Redis); default host name and process id. */
  nodeName: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores')
    .optional(),
  /** With Redis: a process silent this long is dead, and its users lose their connection. */
  nodeTimeoutMs: wholeNumber(1000, 60_000).default(5000),
});

export type ServerConfig = z.output<typeof ConfigSchema>;

/** Rules that span several settings. */
const CheckedConfigSchema = ConfigSchema.refine(
  (c) => (c.tlsCert === undefined) === (c.tlsKey === undefined),
  {
    message: 'give both a certificate and a key, or neither',
    path: ['tlsCert'],
  },
)
  .refine((c) => c.turnUrls.length === 0 || c.turnServer === 'local' || c.turnSecret || c.turnSecretFile, {
    message: 'TURN URLs need the shared secret (--turn-secret or --turn-secret-file) to issue credentials',
    path: ['turnUrls'],
  })
  .refine((c) => c.turnServer !== 'local' || c.turnRelayIp !== undefined, {
    message: 'a local turnserver needs the address relayed traffic leaves from (--turn-relay-ip)',
    path: ['turnRelayIp'],
  })
  .refine((c) => c.turnMinPort <= c.turnMaxPort, {
    message: 'must not exceed --turn-max-port',
    path: ['turnMinPort'],
  })
  .refine((c) => c.iceTransportPolicy === 'all' || c.turnUrls.length > 0 || c.turnServer === 'local', {
    message: 'relay-only calls need a TURN server (--turn-urls or --turn-server local)',
    path: ['iceTransportPolicy'],
  });
export type ServerConfigInput = z.input<typeof ConfigSchema>;

/** Env variables and flags arrive as text; the ICE server list is JSON in that text. */
function parseJsonText(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'must be JSON (an array of RTCIceServer objects)',
      input: value,
    });
    return z.NEVER;
  }
}

/** One row per option: flag, env variable, help text. The README's configuration table mirrors it. */
const OPTIONS: ReadonlyArray<{ key: keyof ServerConfig; flag: string; env: string; help: string }> = [
  { key: 'host', flag: '--host <address>', env: 'DUET_HOST', help: 'address to listen on' },
  {
    key: 'port',
    flag: '--port <n>',
    env: 'DUET_PORT',
    help: 'port for HTTP and Socket.IO (0 = any free port)',
  },
  { key: 'roomCapacity', flag: '--room-capacity <n>', env: 'DUET_ROOM_CAPACITY', help: 'people per room' },
  {
    key: 'ringTimeoutMs',
    flag: '--ring-timeout-ms <ms>',
    env: 'DUET_RING_TIMEOUT_MS',
    help: 'unanswered call ends after',
  },
  {
    key: 'reconnectGraceMs',
    flag: '--reconnect-grace-ms <ms>',
    env: 'DUET_RECONNECT_GRACE_MS',
    help: 'a dropped user keeps their seat for',
  },
  {
    key: 'eventsPerSecond',
    flag: '--events-per-second <n>',
    env: 'DUET_EVENTS_PER_SECOND',
    help: 'sustained events per socket',
  },
  {
    key: 'eventBurst',
    flag: '--event-burst <n>',
    env: 'DUET_EVENT_BURST',
    help: 'burst of events per socket',
  },
  {
    key: 'maxConnectionsPerIp',
    flag: '--max-connections-per-ip <n>',
    env: 'DUET_MAX_CONNECTIONS_PER_IP',
    help: 'concurrent connections per client address',
  },
  {
    key: 'allowedOrigins',
    flag: '--allowed-origins <list>',
    env: 'DUET_ALLOWED_ORIGINS',
    help: 'comma-separated extra origins (same origin and localhost are always allowed)',
  },
  {
    key: 'trustProxy',
    flag: '--trust-proxy <bool>',
    env: 'DUET_TRUST_PROXY',
    help: 'use X-Forwarded-For for client addresses',
  },
  {
    key: 'metricsToken',
    flag: '--metrics-token <token>',
    env: 'DUET_METRICS_TOKEN',
    help: 'bearer token for /metrics (without it: loopback clients only)',
  },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'DUET_LOG_LEVEL',
    help: 'fatal|error|warn|info|debug|trace|silent',
  },
  {
    key: 'shutdownTimeoutMs',
    flag: '--shutdown-timeout-ms <ms>',
    env: 'DUET_SHUTDOWN_TIMEOUT_MS',
    help: 'graceful shutdown bound',
  },
  { key: 'webRoot', flag: '--web-root <dir>', env: 'DUET_WEB_ROOT', help: 'built web app to serve' },
  {
    key: 'iceServers',
    flag: '--ice-servers <json>',
    env: 'DUET_ICE_SERVERS',
    help: 'JSON array of RTCIceServer',
  },
  {
    key: 'iceTransportPolicy',
    flag: '--ice-transport-policy <policy>',
    env: 'DUET_ICE_TRANSPORT_POLICY',
    help: 'all|relay (relay: connect only through TURN, hiding addresses)',
  },
  {
    key: 'https',
    flag: '--https [bool]',
    env: 'DUET_HTTPS',
    help: 'serve HTTPS (self-signed unless --tls-cert/--tls-key)',
  },
  {
    key: 'tlsCert',
    flag: '--tls-cert <path>',
    env: 'DUET_TLS_CERT',
    help: 'PEM certificate (chain) for --https',
  },
  { key: 'tlsKey', flag: '--tls-key <path>', env: 'DUET_TLS_KEY', help: 'PEM private key for --https' },
  { key: 'stunUrls', flag: '--stun-urls <list>', env: 'DUET_STUN_URLS', help: 'comma-separated stun: URLs' },
  {
    key: 'turnUrls',
    flag: '--turn-urls <list>',
    env: 'DUET_TURN_URLS',
    help: 'comma-separated turn:/turns: URLs',
  },
  {
    key: 'turnSecret',
    flag: '--turn-secret <secret>',
    env: 'DUET_TURN_SECRET',
    help: "coturn's static-auth-secret",
  },
  {
    key: 'turnSecretFile',
    flag: '--turn-secret-file <path>',
    env: 'DUET_TURN_SECRET_FILE',
    help: 'file holding the TURN secret',
  },
  {
    key: 'turnTtlSeconds',
    flag: '--turn-ttl-seconds <s>',
    env: 'DUET_TURN_TTL_SECONDS',
    help: 'lifetime of issued TURN credentials',
  },
  {
    key: 'turnServer',
    flag: '--turn-server <mode>',
    env: 'DUET_TURN_SERVER',
    help: 'off|local (run and supervise a local turnserver)',
  },
  {
    key: 'turnRealm',
    flag: '--turn-realm <domain>',
    env: 'DUET_TURN_REALM',
    help: 'realm of the local turnserver',
  },
  { key: 'turnPort', flag: '--turn-port <n>', env: 'DUET_TURN_PORT', help: 'port of the local turnserver' },
  {
    key: 'turnListenIps',
    flag: '--turn-listen-ips <list>',
    env: 'DUET_TURN_LISTEN_IPS',
    help: 'addresses the local turnserver listens on (default: all)',
  },
  {
    key: 'turnRelayIp',
    flag: '--turn-relay-ip <ip>',
    env: 'DUET_TURN_RELAY_IP',
    help: 'address relayed traffic leaves from (local turnserver)',
  },
  {
    key: 'turnExternalIp',
    flag: '--turn-external-ip <ip>',
    env: 'DUET_TURN_EXTERNAL_IP',
    help: 'public[/private] address behind 1:1 NAT (local turnserver)',
  },
  { key: 'turnMinPort', flag: '--turn-min-port <n>', env: 'DUET_TURN_MIN_PORT', help: 'lowest relay port' },
  { key: 'turnMaxPort', flag: '--turn-max-port <n>', env: 'DUET_TURN_MAX_PORT', help: 'highest relay port' },
  {
    key: 'redisUrl',
    flag: '--redis-url <url>',
    env: 'DUET_REDIS_URL',
    help: 'redis:// URL: share state with other Duet processes (unset: one process, in memory)',
  },
  {
    key: 'redisAdapter',
    flag: '--redis-adapter <kind>',
    env: 'DUET_REDIS_ADAPTER',
    help: 'sharded|streams (Socket.IO Redis adapter)',
  },
  {
    key: 'nodeName',
    flag: '--node-name <name>',
    env: 'DUET_NODE_NAME',
    help: 'name of this process in logs and metrics (default: host-pid)',
  },
  {
    key: 'nodeTimeoutMs',
    flag: '--node-timeout-ms <ms>',
    env: 'DUET_NODE_TIMEOUT_MS',
    help: 'a process whose heartbeat is older is dead (with Redis)',
  },
];

/** For the README and its test: every option's flag and environment variable. */
export const CONFIG_OPTIONS: ReadonlyArray<{ key: string; flag: string; env: string }> = OPTIONS;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse config from CLI arguments (highest precedence), then environment, then defaults. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServerConfig {
  const program = new Command('duet-server')
    .description('Duet signaling server: rooms, presence, call control, SDP/ICE relay')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const option of OPTIONS) {
    program.addOption(new Option(option.flag, `${option.help} [env ${option.env}]`));
  }
  program.parse([...argv], { from: 'user' });
  const flags = program.opts<Record<string, unknown>>();

  const raw: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const fromEnv = env[option.env];
    const value = flags[option.key] ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
    if (value !== undefined) raw[option.key] = value;
  }
  // PORT is the conventional variable of PaaS hosts.
  if (raw.port === undefined && env.PORT) raw.port = env.PORT;
  return parseConfig(raw);
}

/** Validate a config object; throws ConfigError naming every bad field. */
export function parseConfig(raw: ServerConfigInput | Record<string, unknown>): ServerConfig {
  const result = CheckedConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const option = OPTIONS.find((o) => o.key === issue.path[0]);
      const where = option ? `${option.flag.split(' ')[0]} / ${option.env}` : issue.path.join('.');
      return `  ${where}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The config as printed at start-up: secrets (TURN credentials) masked. */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    turnSecret: config.turnSecret ? '***' : undefined,
    metricsToken: config.metricsToken ? '***' : undefined,
    redisUrl: config.redisUrl?.replace(/\/\/([^@/]*)@/, '//***@'),
    iceServers: config.iceServers.map((s) => ({ ...s, credential: s.credential ? '***' : undefined })),
  };
}
