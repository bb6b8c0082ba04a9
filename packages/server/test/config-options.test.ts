import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { CONFIG_OPTIONS, loadConfig, type ServerConfig } from '@duet/server';

/**
 * Every flag (with its value placeholder) and env variable as operators know them, in `--help` order.
 * Written out by hand on purpose: the names are derived from the config keys, and this list is what
 * proves the derivation gives the names deployments already use. Renaming one breaks someone's setup.
 */
const PUBLISHED: ReadonlyArray<[key: string, flag: string, env: string]> = [
  ['host', '--host <address>', 'DUET_HOST'],
  ['port', '--port <n>', 'DUET_PORT'],
  ['roomCapacity', '--room-capacity <n>', 'DUET_ROOM_CAPACITY'],
  ['ringTimeoutMs', '--ring-timeout-ms <ms>', 'DUET_RING_TIMEOUT_MS'],
  ['reconnectGraceMs', '--reconnect-grace-ms <ms>', 'DUET_RECONNECT_GRACE_MS'],
  ['eventsPerSecond', '--events-per-second <n>', 'DUET_EVENTS_PER_SECOND'],
  ['eventBurst', '--event-burst <n>', 'DUET_EVENT_BURST'],
  ['maxConnectionsPerIp', '--max-connections-per-ip <n>', 'DUET_MAX_CONNECTIONS_PER_IP'],
  ['openRooms', '--open-rooms <bool>', 'DUET_OPEN_ROOMS'],
  ['knockTimeoutMs', '--knock-timeout-ms <ms>', 'DUET_KNOCK_TIMEOUT_MS'],
  ['passwordAttemptsPerIp', '--password-attempts-per-ip <n>', 'DUET_PASSWORD_ATTEMPTS_PER_IP'],
  ['passwordAttemptsPerRoom', '--password-attempts-per-room <n>', 'DUET_PASSWORD_ATTEMPTS_PER_ROOM'],
  ['allowedOrigins', '--allowed-origins <list>', 'DUET_ALLOWED_ORIGINS'],
  ['trustProxy', '--trust-proxy <bool>', 'DUET_TRUST_PROXY'],
  ['metricsToken', '--metrics-token <token>', 'DUET_METRICS_TOKEN'],
  ['logLevel', '--log-level <level>', 'DUET_LOG_LEVEL'],
  ['shutdownTimeoutMs', '--shutdown-timeout-ms <ms>', 'DUET_SHUTDOWN_TIMEOUT_MS'],
  ['webRoot', '--web-root <dir>', 'DUET_WEB_ROOT'],
  ['iceServers', '--ice-servers <json>', 'DUET_ICE_SERVERS'],
  ['iceTransportPolicy', '--ice-transport-policy <policy>', 'DUET_ICE_TRANSPORT_POLICY'],
  ['https', '--https [bool]', 'DUET_HTTPS'],
  ['tlsCert', '--tls-cert <path>', 'DUET_TLS_CERT'],
  ['tlsKey', '--tls-key <path>', 'DUET_TLS_KEY'],
  ['stunUrls', '--stun-urls <list>', 'DUET_STUN_URLS'],
  ['turnUrls', '--turn-urls <list>', 'DUET_TURN_URLS'],
  ['turnSecret', '--turn-secret <secret>', 'DUET_TURN_SECRET'],
  ['turnSecretFile', '--turn-secret-file <path>', 'DUET_TURN_SECRET_FILE'],
  ['turnTtlSeconds', '--turn-ttl-seconds <s>', 'DUET_TURN_TTL_SECONDS'],
  ['turnServer', '--turn-server <mode>', 'DUET_TURN_SERVER'],
  ['turnRealm', '--turn-realm <domain>', 'DUET_TURN_REALM'],
  ['turnPort', '--turn-port <n>', 'DUET_TURN_PORT'],
  ['turnListenIps', '--turn-listen-ips <list>', 'DUET_TURN_LISTEN_IPS'],
  ['turnRelayIp', '--turn-relay-ip <ip>', 'DUET_TURN_RELAY_IP'],
  ['turnExternalIp', '--turn-external-ip <ip>', 'DUET_TURN_EXTERNAL_IP'],
  ['turnMinPort', '--turn-min-port <n>', 'DUET_TURN_MIN_PORT'],
  ['turnMaxPort', '--turn-max-port <n>', 'DUET_TURN_MAX_PORT'],
  ['redisUrl', '--redis-url <url>', 'DUET_REDIS_URL'],
  ['redisAdapter', '--redis-adapter <kind>', 'DUET_REDIS_ADAPTER'],
  ['nodeName', '--node-name <name>', 'DUET_NODE_NAME'],
  ['nodeTimeoutMs', '--node-timeout-ms <ms>', 'DUET_NODE_TIMEOUT_MS'],
];

/** What `duet-server --help` prints, with line wrapping undone. */
function helpText(): string {
  let text = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    text += String(chunk);
    return true;
  });
  try {
    expect(() => loadConfig(['--help'], {})).toThrow(CommanderError);
  } finally {
    write.mockRestore();
  }
  return text.replace(/\s+/g, ' ');
}

describe('published option names', () => {
  it('are exactly the flags and env variables deployments already use', () => {
    expect(CONFIG_OPTIONS.map((o) => [o.key, o.flag, o.env])).toEqual(PUBLISHED);
  });

  it('are what --help offers, in the same order', () => {
    const help = helpText();
    const at: number[] = [];
    for (const [, flag] of PUBLISHED) {
      const found = help.indexOf(`${flag} `, at.at(-1) ?? 0);
      expect(found, `--help lacks ${flag} (or lists it out of order)`).toBeGreaterThanOrEqual(0);
      at.push(found);
    }
    PUBLISHED.forEach(([, flag, env], i) => {
      expect(help.slice(at[i], at[i + 1]), `--help lacks [env ${env}] for ${flag}`).toContain(`[env ${env}]`);
    });
  });

  it('are read from the command line and the environment under those names', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(PUBLISHED.map(([key]) => key).sort());
    for (const [key, flag, env] of PUBLISHED) {
      const [text, parsed] = SAMPLES[key]!;
      const name = flag.split(' ')[0]!;
      expect(loadConfig([name, text], CONSISTENT_ENV)[key as keyof ServerConfig], name).toEqual(parsed);
      const fromEnv = loadConfig([], { ...CONSISTENT_ENV, [env]: text });
      expect(fromEnv[key as keyof ServerConfig], env).toEqual(parsed);
    }
  });

  it('all appear in the README configuration table', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const [, flag, env] of PUBLISHED) {
      expect(readme, `README lacks ${flag}`).toContain(`\`${flag.split(' ')[0]!}\``);
      expect(readme, `README lacks ${env}`).toContain(`\`${env}\``);
    }
  });
});

/**
 * A value for every option, as text and as parsed, unlike its default and unlike CONSISTENT_ENV: a
 * setting that arrives proves the name it was given under.
 */
const SAMPLES: Record<string, [text: string, parsed: unknown]> = {
  host: ['127.0.0.2', '127.0.0.2'],
  port: ['4321', 4321],
  roomCapacity: ['3', 3],
  ringTimeoutMs: ['1234', 1234],
  reconnectGraceMs: ['2345', 2345],
  eventsPerSecond: ['7', 7],
  eventBurst: ['8', 8],
  maxConnectionsPerIp: ['9', 9],
  openRooms: ['on', true],
  knockTimeoutMs: ['4567', 4567],
  passwordAttemptsPerIp: ['11', 11],
  passwordAttemptsPerRoom: ['12', 12],
  allowedOrigins: ['https://a.example', ['https://a.example']],
  trustProxy: ['yes', true],
  metricsToken: ['metrics-token-0123456789', 'metrics-token-0123456789'],
  logLevel: ['warn', 'warn'],
  shutdownTimeoutMs: ['3456', 3456],
  webRoot: ['/srv/duet', '/srv/duet'],
  iceServers: ['[{"urls":"stun:s.example"}]', [{ urls: 'stun:s.example' }]],
  iceTransportPolicy: ['relay', 'relay'],
  https: ['true', true],
  tlsCert: ['/etc/duet/cert.pem', '/etc/duet/cert.pem'],
  tlsKey: ['/etc/duet/key.pem', '/etc/duet/key.pem'],
  stunUrls: ['stun:s.example', ['stun:s.example']],
  turnUrls: ['turn:t.example', ['turn:t.example']],
  turnSecret: ['sample-secret-0123456789', 'sample-secret-0123456789'],
  turnSecretFile: ['/run/duet/secret', '/run/duet/secret'],
  turnTtlSeconds: ['600', 600],
  turnServer: ['local', 'local'],
  turnRealm: ['example.org', 'example.org'],
  turnPort: ['3479', 3479],
  turnListenIps: ['10.0.0.1', ['10.0.0.1']],
  turnRelayIp: ['10.0.0.2', '10.0.0.2'],
  turnExternalIp: ['203.0.113.1', '203.0.113.1'],
  turnMinPort: ['50000', 50000],
  turnMaxPort: ['60000', 60000],
  redisUrl: ['redis://r.example:6379', 'redis://r.example:6379'],
  redisAdapter: ['streams', 'streams'],
  nodeName: ['node-x', 'node-x'],
  nodeTimeoutMs: ['7000', 7000],
};

/** Settings that keep every sample above consistent with the rules that span several options. */
const CONSISTENT_ENV = {
  DUET_TLS_CERT: '/base/cert.pem',
  DUET_TLS_KEY: '/base/key.pem',
  DUET_TURN_URLS: 'turn:base.example',
  DUET_TURN_SECRET: 'base-secret-0123456789',
  DUET_TURN_RELAY_IP: '10.9.9.9',
};
