/** What the operator knows about their TURN host. */
export interface CoturnOptions {
  realm: string;
  secret: string;
  /** Addresses coturn listens on (default: all). */
  listeningIps?: string[];
  /**
   * Addresses relayed traffic leaves from; each one is allowed as a peer, so relay-to-relay works.
   * Only safe with the relay guard loaded (relay-guard.ts): it keeps their other ports closed.
   */
  relayIps: string[];
  /**
   * Extra `allowed-peer-ip` ranges punched into the deny list (a lab's stand-in internet inside
   * 198.18.0.0/15, a LAN whose peers the relay must reach). None by default.
   */
  allowedPeers?: string[];
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

/** One `denied-peer-ip` range of coturn (`first-last`, or one address) and why it is there. */
export interface PeerRange {
  range: string;
  why: string;
}

/**
 * Peers a relay must never reach: this host, its networks and address space that is not the public
 * internet, in both families, and the IPv6 forms that carry an IPv4 address (coturn would otherwise
 * reach the IPv4 address they embed around the IPv4 list). Everything else — public IPv4 and IPv6 —
 * is a legitimate peer: a caller's server-reflexive or host address on the internet.
 *
 * Written as coturn reads it, checked against coturn 4.6.1 by test/turn-peers.test.ts. Two rules of
 * coturn shape the spelling:
 * - a bound that is all zeros means "no bound": `::-::`, `::` and `0.0.0.0-…` match every address
 *   (and an IPv6 range with no lower bound also matches every IPv4 address). No range here starts
 *   at zero; the unspecified addresses `0.0.0.0` and `::` are refused by coturn itself (tested).
 * - `allowed-peer-ip` is checked before this list, so the relay's own address stays reachable
 *   for relay-to-relay (its other ports are closed by the relay guard, see relay-guard.ts).
 */
export const DENIED_PEER_RANGES: readonly PeerRange[] = [
  // IPv4 (RFC 6890 special-purpose registry)
  {
    range: '0.0.0.1-0.255.255.255',
    why: '"this network" (0.0.0.0/8): never a peer (0.0.0.0 itself, which Linux delivers to this host, coturn refuses)',
  },
  { range: '10.0.0.0-10.255.255.255', why: 'private (RFC 1918)' },
  {
    range: '100.64.0.0-100.127.255.255',
    why: 'shared address space: the carrier-grade NAT network (RFC 6598)',
  },
  { range: '127.0.0.0-127.255.255.255', why: 'loopback: the services of this host' },
  {
    range: '169.254.0.0-169.254.255.255',
    why: 'link-local, including the cloud metadata service 169.254.169.254',
  },
  { range: '172.16.0.0-172.31.255.255', why: 'private (RFC 1918)' },
  {
    range: '192.0.0.0-192.0.0.255',
    why: 'IETF protocol assignments: DS-Lite tunnel ends of this host (RFC 6333)',
  },
  { range: '192.0.2.0-192.0.2.255', why: 'documentation TEST-NET-1: never a real peer' },
  { range: '192.88.99.0-192.88.99.255', why: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { range: '192.168.0.0-192.168.255.255', why: 'private (RFC 1918)' },
  {
    range: '198.18.0.0-198.19.255.255',
    why: 'benchmarking (RFC 2544): not on the internet, used inside labs and by proxies for fake-IP DNS',
  },
  { range: '198.51.100.0-198.51.100.255', why: 'documentation TEST-NET-2: never a real peer' },
  { range: '203.0.113.0-203.0.113.255', why: 'documentation TEST-NET-3: never a real peer' },
  { range: '224.0.0.0-255.255.255.255', why: 'multicast, reserved (240/4) and the broadcast address' },
  // IPv6 (RFC 6890 and the IANA IPv6 special-purpose registry)
  { range: '::1-::ffff:ffff', why: 'loopback ::1, and the deprecated IPv4-compatible ::/96 (RFC 4291)' },
  {
    range: '::ffff:0.0.0.0-::ffff:255.255.255.255',
    why: 'IPv4-mapped: the IPv4 address itself (coturn 4.6.1 reaches ::ffff:127.0.0.1 otherwise, CVE-2026-27624)',
  },
  {
    range: '::ffff:0:0:0-::ffff:0:ffff:ffff',
    why: 'IPv4-translated (SIIT, RFC 2765): an embedded IPv4 address',
  },
  {
    range: '64:ff9b::-64:ff9b::ffff:ffff',
    why: 'NAT64 well-known prefix: a gateway turns it into the IPv4 address',
  },
  { range: '64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff', why: 'local-use NAT64 prefix (RFC 8215)' },
  { range: '100::-100::ffff:ffff:ffff:ffff', why: 'discard-only (RFC 6666)' },
  {
    range: '2001::-2001::ffff:ffff:ffff:ffff:ffff:ffff',
    why: 'Teredo: embeds an IPv4 server and client address',
  },
  { range: '2001:2::-2001:2:0:ffff:ffff:ffff:ffff:ffff', why: 'benchmarking (RFC 5180)' },
  { range: '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', why: 'documentation: never a real peer' },
  {
    range: '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    why: '6to4: embeds an IPv4 address (2002:7f00:1:: is 127.0.0.1)',
  },
  {
    range: '3fff::-3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff',
    why: 'documentation (RFC 9637): never a real peer',
  },
  {
    range: 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    why: 'unique local addresses: private (RFC 4193)',
  },
  {
    range: 'fe80::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    why: 'link-local, and the deprecated site-local fec0::/10',
  },
  { range: 'ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', why: 'multicast' },
];

/**
 * A bound coturn would read as "no bound" (all zeros): a range with one matches far more than it
 * says. Refused for every range Duet writes.
 */
export function hasZeroBound(range: string): boolean {
  return range.split('-').some((bound) => /^[0.:]*$/.test(bound.trim()));
}

/** 127.0.0.0/8 or ::1: coturn refuses such peers unless `allow-loopback-peers` is set. */
export const isLoopbackIp = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

/** Refuse options that would make a weak or broken turnserver.conf, before any line is written. */
function checkCoturnOptions(options: CoturnOptions): void {
  if (!/^[\x21-\x7e]{16,}$/.test(options.secret)) {
    throw new Error('the TURN secret must be at least 16 printable ASCII characters without spaces');
  }
  if (!/^[A-Za-z0-9.-]+$/.test(options.realm)) {
    throw new Error('the realm must be a domain name');
  }
  if (
    (options.certPath === undefined) !== (options.keyPath === undefined) ||
    (options.tlsPort && !options.certPath)
  ) {
    throw new Error('TURN over TLS needs both a certificate and a key');
  }
  const allowedPeers = options.allowedPeers ?? [];
  for (const range of [...options.relayIps, ...allowedPeers]) {
    if (hasZeroBound(range)) {
      throw new Error(
        `${range}: coturn reads an all-zero bound as "no bound" (every address); name real ones`,
      );
    }
  }
}

/** A hardened turnserver.conf for Duet (TURN REST API auth, no relay into private space). */
export function renderCoturnConfig(options: CoturnOptions): string {
  checkCoturnOptions(options);
  const allowedPeers = options.allowedPeers ?? [];
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
    '# Never relay into this host, its networks or space that is not the public internet...',
    ...DENIED_PEER_RANGES.flatMap(({ range, why }) => [`# ${why}`, `denied-peer-ip=${range}`]),
    '# ...but let two allocations of this server reach each other (both peers behind hard NATs);',
    '# the relay guard (nftables, generated beside this file) keeps every other port of it closed.',
    ...options.relayIps.map((ip) => `allowed-peer-ip=${ip}`),
    ...(allowedPeers.length > 0 ? ['# Peers the operator allows on purpose (a lab or a LAN).'] : []),
    ...allowedPeers.map((range) => `allowed-peer-ip=${range}`),
  ];
  if (options.relayIps.some(isLoopbackIp)) {
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
