/** What the operator knows about their TURN host. */
export interface CoturnOptions {
  realm: string;
  secret: string;
  /** Addresses coturn listens on (default: all). */
  listeningIps?: string[];
  /** Addresses relayed traffic leaves from; each one is allowed as a peer, so relay-to-relay works. */
  relayIps: string[];
  /** `public` or `public/private` when coturn sits behind 1:1 NAT (cloud VMs). */
  externalIp?: string;
  listeningPort?: number;
  /** TURN over TLS (turns:) on this port, with the certificate and key below. */
  tlsPort?: number;
  certPath?: string;
  keyPath?: string;
  minPort?: number;
  maxPort?: number;
  /** Concurrent allocations per user and in total. */
  userQuota?: number;
  totalQuota?: number;
  /** Bytes per second per allocation (0 = unlimited). */
  maxBps?: number;
  logFile?: string;
  pidFile?: string;
}

/**
 * Peers a relay must never reach: this host and its neighbours (loopback, private, link-local
 * including the cloud metadata address 169.254.169.254, CGNAT, multicast, reserved, the
 * unspecified address) in IPv4 and IPv6. The IPv4-mapped IPv6 range is listed on its own because
 * coturn 4.6.1 (Debian 12) otherwise lets an IPv6 allocation reach ::ffff:127.0.0.1 (CVE-2026-27624).
 */
export const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.0.2.0-192.0.2.255',
  '192.88.99.0-192.88.99.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '198.51.100.0-198.51.100.255',
  '203.0.113.0-203.0.113.255',
  '224.0.0.0-255.255.255.255',
  '::-::',
  '::1',
  '::ffff:0.0.0.0-::ffff:255.255.255.255',
  '64:ff9b::-64:ff9b::ffff:ffff',
  '100::-100::ffff:ffff:ffff:ffff',
  '2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff',
  '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/** A hardened turnserver.conf for Duet (TURN REST API auth, no relay into private space). */
export function renderCoturnConfig(options: CoturnOptions): string {
  if (!/^[\x21-\x7e]{16,}$/.test(options.secret)) {
    throw new Error('the TURN secret must be at least 16 printable ASCII characters without spaces');
  }
  if (!/^[A-Za-z0-9.-]+$/.test(options.realm)) throw new Error('the realm must be a domain name');
  if (
    (options.certPath === undefined) !== (options.keyPath === undefined) ||
    (options.tlsPort && !options.certPath)
  ) {
    throw new Error('TURN over TLS needs both a certificate and a key');
  }
  const lines: string[] = [
    '# turnserver.conf for Duet, generated. Keep it private: it holds the shared secret.',
    '',
    '# Addresses and ports',
    ...(options.listeningIps ?? []).map((ip) => `listening-ip=${ip}`),
    ...options.relayIps.map((ip) => `relay-ip=${ip}`),
    ...(options.externalIp ? [`external-ip=${options.externalIp}`] : []),
    `listening-port=${options.listeningPort ?? 3478}`,
    ...(options.tlsPort ? [`tls-listening-port=${options.tlsPort}`] : []),
    `min-port=${options.minPort ?? 49152}`,
    `max-port=${options.maxPort ?? 65535}`,
    '',
    '# Authentication: short-lived TURN REST API credentials signed with the secret Duet shares.',
    'use-auth-secret',
    `static-auth-secret=${options.secret}`,
    `realm=${options.realm}`,
    'fingerprint',
    'no-auth-pings',
    '',
    '# TLS',
    ...(options.certPath && options.keyPath
      ? [`cert=${options.certPath}`, `pkey=${options.keyPath}`, 'no-tlsv1', 'no-tlsv1_1']
      : ['no-tls', 'no-dtls']),
    '',
    '# Attack surface: no admin CLI or web page, no version banner, no legacy or unused protocols.',
    'no-cli',
    'no-software-attribute',
    'no-rfc5780',
    'no-stun-backward-compatibility',
    'response-origin-only-with-rfc5780',
    'no-tcp-relay',
    'no-multicast-peers',
    'no-dynamic-ip-list',
    'no-dynamic-realms',
    'stale-nonce=600',
    '',
    '# Quotas',
    `user-quota=${options.userQuota ?? 12}`,
    `total-quota=${options.totalQuota ?? 1200}`,
    ...(options.maxBps ? [`max-bps=${options.maxBps}`] : []),
    '',
    '# Never relay into this host or private space...',
    ...DENIED_PEER_RANGES.map((range) => `denied-peer-ip=${range}`),
    '# ...but let two allocations of this server reach each other (both peers behind hard NATs).',
    ...options.relayIps.map((ip) => `allowed-peer-ip=${ip}`),
  ];
  if (options.relayIps.some(isLoopback)) {
    // A relay address on loopback (a test or lab setup) can only be allowed as a peer when coturn's
    // blanket loopback ban is lifted; the explicit denials above still refuse every other loopback peer.
    lines.push('allow-loopback-peers');
  }
  lines.push(
    '',
    '# Logging',
    `log-file=${options.logFile ?? 'stdout'}`,
    'simple-log',
    ...(options.pidFile ? [`pidfile=${options.pidFile}`] : []),
    '',
  );
  return lines.join('\n');
}
