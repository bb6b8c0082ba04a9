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
  /**
   * Allow rooms by plain name, without a secret in the link (labelled open): anyone who knows or
   * guesses the name can enter. Off: every room is private.
   */
  openRooms: booleanFromText.default(false),
  /** A knock nobody answers is refused after this long. */
  knockTimeoutMs: wholeNumber(100, 600_000).default(DEFAULTS.knockTimeoutMs),
  /** Room password attempts per client address per minute (right or wrong). */
  passwordAttemptsPerIp: wholeNumber(1, 10_000).default(DEFAULTS.passwordAttemptsPerIp),
  /** Room password attempts per room per minute, from all addresses together. */
  passwordAttemptsPerRoom: wholeNumber(1, 100_000).default(DEFAULTS.passwordAttemptsPerRoom),
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
  if (typeof value !== 'string') {
    return value;
  }
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

/** How a setting is offered besides its names: the flag's value placeholder and the help text. */
interface OptionRow {
  /** Commander's placeholder: `<x>` takes a value, `[x]` may stand alone (`--https`). */
  value: string;
  help: string;
}

/**
 * One row per setting, keyed by the schema: a setting without a row, or a row for no setting, does
 * not compile. The flag and env variable are not written here but derived from the key
 * (`roomCapacity` → `--room-capacity`, `DUET_ROOM_CAPACITY`), so they cannot drift from it; every
 * published name follows that rule, so none needs an override. The order is the order of `--help`.
 * The README's configuration table mirrors it (a test checks every name is there).
 */
const OPTION_ROWS = {
  host: { value: '<address>', help: 'address to listen on' },
  port: { value: '<n>', help: 'port for HTTP and Socket.IO (0 = any free port)' },
  roomCapacity: { value: '<n>', help: 'people per room' },
  ringTimeoutMs: { value: '<ms>', help: 'unanswered call ends after' },
  reconnectGraceMs: { value: '<ms>', help: 'a dropped user keeps their seat for' },
  eventsPerSecond: { value: '<n>', help: 'sustained events per socket' },
  eventBurst: { value: '<n>', help: 'burst of events per socket' },
  maxConnectionsPerIp: { value: '<n>', help: 'concurrent connections per client address' },
  openRooms: { value: '<bool>', help: 'allow rooms by plain name, without a secret (labelled open)' },
  knockTimeoutMs: { value: '<ms>', help: 'an unanswered knock is refused after' },
  passwordAttemptsPerIp: { value: '<n>', help: 'room password attempts per address per minute' },
  passwordAttemptsPerRoom: { value: '<n>', help: 'room password attempts per room per minute' },
  allowedOrigins: {
    value: '<list>',
    help: 'comma-separated extra origins (same origin and localhost are always allowed)',
  },
  trustProxy: { value: '<bool>', help: 'use X-Forwarded-For for client addresses' },
  metricsToken: { value: '<token>', help: 'bearer token for /metrics (without it: loopback clients only)' },
  logLevel: { value: '<level>', help: 'fatal|error|warn|info|debug|trace|silent' },
  shutdownTimeoutMs: { value: '<ms>', help: 'graceful shutdown bound' },
  webRoot: { value: '<dir>', help: 'built web app to serve' },
  iceServers: { value: '<json>', help: 'JSON array of RTCIceServer' },
  iceTransportPolicy: {
    value: '<policy>',
    help: 'all|relay (relay: connect only through TURN, hiding addresses)',
  },
  https: { value: '[bool]', help: 'serve HTTPS (self-signed unless --tls-cert/--tls-key)' },
  tlsCert: { value: '<path>', help: 'PEM certificate (chain) for --https' },
  tlsKey: { value: '<path>', help: 'PEM private key for --https' },
  stunUrls: { value: '<list>', help: 'comma-separated stun: URLs' },
  turnUrls: { value: '<list>', help: 'comma-separated turn:/turns: URLs' },
  turnSecret: { value: '<secret>', help: "coturn's static-auth-secret" },
  turnSecretFile: { value: '<path>', help: 'file holding the TURN secret' },
  turnTtlSeconds: { value: '<s>', help: 'lifetime of issued TURN credentials' },
  turnServer: { value: '<mode>', help: 'off|local (run and supervise a local turnserver)' },
  turnRealm: { value: '<domain>', help: 'realm of the local turnserver' },
  turnPort: { value: '<n>', help: 'port of the local turnserver' },
  turnListenIps: { value: '<list>', help: 'addresses the local turnserver listens on (default: all)' },
  turnRelayIp: { value: '<ip>', help: 'address relayed traffic leaves from (local turnserver)' },
  turnExternalIp: { value: '<ip>', help: 'public[/private] address behind 1:1 NAT (local turnserver)' },
  turnMinPort: { value: '<n>', help: 'lowest relay port' },
  turnMaxPort: { value: '<n>', help: 'highest relay port' },
  redisUrl: {
    value: '<url>',
    help: 'redis:// URL: share state with other Duet processes (unset: one process, in memory)',
  },
  redisAdapter: { value: '<kind>', help: 'sharded|streams (Socket.IO Redis adapter)' },
  nodeName: { value: '<name>', help: 'name of this process in logs and metrics (default: host-pid)' },
  nodeTimeoutMs: { value: '<ms>', help: 'a process whose heartbeat is older is dead (with Redis)' },
} satisfies Record<keyof ServerConfig, OptionRow>;

/** `roomCapacity` → `room-capacity`. Commander reads `--room-capacity` back as `roomCapacity`. */
const kebabCase = (key: string): string => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** `roomCapacity` → `--room-capacity`. */
const flagName = (key: string): string => `--${kebabCase(key)}`;

/** `roomCapacity` → `DUET_ROOM_CAPACITY`: prefixed, so Duet never reads another program's settings. */
const envName = (key: string): string => `DUET_${kebabCase(key).replaceAll('-', '_').toUpperCase()}`;

const OPTIONS = (Object.keys(OPTION_ROWS) as Array<keyof ServerConfig>).map((key) => ({
  key,
  name: flagName(key),
  flag: `${flagName(key)} ${OPTION_ROWS[key].value}`,
  env: envName(key),
  help: OPTION_ROWS[key].help,
}));

/** For the README and its test: every option's flag (with its placeholder) and environment variable. */
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
    if (value !== undefined) {
      raw[option.key] = value;
    }
  }
  // PORT is the conventional variable of PaaS hosts.
  if (raw.port === undefined && env.PORT) {
    raw.port = env.PORT;
  }
  return parseConfig(raw);
}

/** Validate a config object; throws ConfigError naming every bad field. */
export function parseConfig(raw: ServerConfigInput | Record<string, unknown>): ServerConfig {
  const result = CheckedConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const option = OPTIONS.find((o) => o.key === issue.path[0]);
      const where = option ? `${option.name} / ${option.env}` : issue.path.join('.');
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
