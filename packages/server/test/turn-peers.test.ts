/**
 * What the relay may reach, asked of a real coturn 4.6.1 running Duet's generated configuration and
 * relay guard inside a network namespace of the test's own (netns-support.ts): relay addresses
 * 198.18.0.1 and 2001:2::1, TURN on 198.18.0.1:3478, relay ports 40000-40099.
 *
 * The permission tables only ask for permissions: CreatePermission sends nothing to the peer, and the
 * namespace has no route out, so no packet goes toward any address in them. The datagrams the guard
 * tests do send go to a listener of the test's own on the relay address, inside the namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCoturnConfig } from '../src/turn/coturn-config.js';
import { issueTurnCredentials } from '../src/turn/credentials.js';
import { RELAY_GUARD_TABLE, renderRelayGuard } from '../src/turn/relay-guard.js';
import {
  createTestNetns,
  NETNS_IPV4,
  NETNS_IPV6,
  netnsUnavailableReason,
  type NetnsUdpSocket,
  type TestNetns,
} from './netns-support.js';
import { TurnClient, type TransportAddress } from './turn-client.js';

const SECRET = 'duet-test-secret-0123456789abcdef';
const TURN = { address: NETNS_IPV4, port: 3478 };
const RELAY_PORTS = { min: 40_000, max: 40_099 };
/** A port of the relay address outside the relay range, where the test listens. */
const OUTSIDE_PORT = 5000;
/** How long a datagram inside one namespace may take on a loaded machine before "it never came". */
const DELIVERY_WAIT_MS = 1500;
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const TURN_CONFIG_CLI = join(ROOT, 'packages/server/src/turn-config.ts');

const FORBIDDEN_IPV4: Array<[string, string]> = [
  ['unspecified', '0.0.0.0'],
  ['"this network"', '0.1.2.3'],
  ['loopback', '127.0.0.1'],
  ['loopback, other end of 127/8', '127.255.255.254'],
  ['private 10/8', '10.0.0.1'],
  ['private 172.16/12', '172.31.255.254'],
  ['private 192.168/16', '192.168.1.1'],
  ['CGNAT 100.64/10', '100.64.0.1'],
  ['CGNAT, top end', '100.127.255.254'],
  ['link-local', '169.254.0.1'],
  ['cloud metadata', '169.254.169.254'],
  ['IETF protocol assignments (DS-Lite)', '192.0.0.2'],
  ['documentation TEST-NET-1', '192.0.2.1'],
  ['documentation TEST-NET-2', '198.51.100.1'],
  ['documentation TEST-NET-3', '203.0.113.1'],
  ['6to4 relay anycast', '192.88.99.1'],
  ['benchmarking (not the relay itself)', '198.18.0.9'],
  ['benchmarking, top end', '198.19.255.254'],
  ['multicast', '224.0.0.1'],
  ['multicast SSDP', '239.255.255.250'],
  ['reserved 240/4', '240.0.0.1'],
  ['broadcast', '255.255.255.255'],
];

const PUBLIC_IPV4: Array<[string, string]> = [
  ['Google DNS', '8.8.8.8'],
  ['Cloudflare DNS', '1.1.1.1'],
  ['just above 0/8', '1.0.0.1'],
  ['just below 127/8', '126.255.255.255'],
  ['just above 127/8', '128.0.0.1'],
  ['just above 10/8', '11.0.0.1'],
  ['just above CGNAT', '100.128.0.1'],
  ['just above 172.16/12', '172.32.0.1'],
  ['just below multicast', '223.255.255.254'],
  ['this relay (relay-to-relay)', NETNS_IPV4],
];

const FORBIDDEN_IPV6: Array<[string, string]> = [
  ['unspecified', '::'],
  ['loopback', '::1'],
  ['IPv4-compatible loopback', '::7f00:1'],
  ['IPv4-mapped loopback (CVE-2026-27624)', '::ffff:127.0.0.1'],
  ['IPv4-mapped private', '::ffff:10.0.0.1'],
  ['IPv4-mapped metadata', '::ffff:169.254.169.254'],
  ['IPv4-mapped public (use an IPv4 allocation)', '::ffff:8.8.8.8'],
  ['IPv4-translated loopback', '::ffff:0:7f00:1'],
  ['NAT64 loopback', '64:ff9b::7f00:1'],
  ['NAT64 private', '64:ff9b::a00:1'],
  ['local-use NAT64', '64:ff9b:1::a00:1'],
  ['discard-only', '100::1'],
  ['Teredo', '2001::1'],
  ['benchmarking (not the relay itself)', '2001:2::9'],
  ['documentation', '2001:db8::1'],
  ['6to4 of 127.0.0.1', '2002:7f00:1::1'],
  ['documentation 3fff::/20', '3fff::1'],
  ['unique local', 'fc00::1'],
  ['unique local fd', 'fd12:3456::1'],
  ['link-local', 'fe80::1'],
  ['site-local (deprecated)', 'fec0::1'],
  ['multicast link-local', 'ff02::1'],
  ['multicast global', 'ff0e::1'],
];

const PUBLIC_IPV6: Array<[string, string]> = [
  ['Google DNS', '2001:4860:4860::8888'],
  ['Cloudflare DNS', '2606:4700:4700::1111'],
  ['WIDE (2001:200::/23, beside Teredo)', '2001:200::1'],
  ['a RIPE address', '2a00:1450:4001::1'],
  ['this relay (relay-to-relay)', NETNS_IPV6],
];

const unavailable = netnsUnavailableReason();

describe.skipIf(unavailable !== null)('the relay reaches public peers and never this host', () => {
  let netns: TestNetns;
  // Unset when beforeAll failed part way: afterAll cleans up what exists.
  let turnserver: ChildProcess | undefined;
  let started: TestNetns | undefined;
  let folder: string | undefined;
  const log: string[] = [];
  const sockets: NetnsUdpSocket[] = [];
  const clients: Record<4 | 6, TurnClient | undefined> = { 4: undefined, 6: undefined };

  const loadGuard = (): Promise<string> =>
    netns.exec(
      'nft',
      ['-f', '-'],
      renderRelayGuard({ user: 0, minPort: RELAY_PORTS.min, maxPort: RELAY_PORTS.max }),
    );

  /** A new allocation of `family` from a new client socket in the namespace. */
  async function allocation(family: 4 | 6): Promise<{ client: TurnClient; relayed: TransportAddress }> {
    const socket = await netns.udp(NETNS_IPV4);
    sockets.push(socket);
    const issued = issueTurnCredentials(SECRET, `user-${Math.random().toString(36).slice(2)}`, 600);
    const client = new TurnClient(socket, TURN, issued.username, issued.credential);
    return { client, relayed: await client.allocate(family) };
  }

  beforeAll(async () => {
    netns = started = await createTestNetns();
    folder = mkdtempSync(join(tmpdir(), 'duet-turn-peers-'));
    const config = renderCoturnConfig({
      realm: 'duet.test',
      secret: SECRET,
      listeningIps: [NETNS_IPV4],
      relayIps: [NETNS_IPV4, NETNS_IPV6],
      listeningPort: TURN.port,
      minPort: RELAY_PORTS.min,
      maxPort: RELAY_PORTS.max,
    });
    writeFileSync(join(folder, 'turnserver.conf'), config, { mode: 0o600 });
    // The guard for the namespace's root (the turnserver below runs as root): the namespace is ours.
    await loadGuard();
    const child = netns.spawn('turnserver', ['-c', join(folder, 'turnserver.conf')]);
    turnserver = child;
    child.stdout!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    // Ready when an allocation succeeds: bounded, 20 tries over ~10 s.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        clients[4] = (await allocation(4)).client;
        clients[6] = (await allocation(6)).client;
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    throw new Error(`turnserver did not come up:\n${log.join('')}`);
  }, 60_000);

  afterAll(() => {
    for (const socket of sockets) {
      socket.close();
    }
    turnserver?.kill('SIGKILL');
    started?.dispose();
    if (folder) {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  describe('CreatePermission from an IPv4 allocation', () => {
    it.each(FORBIDDEN_IPV4)('refuses %s (%s) with 403', async (_what, peer) => {
      expect(await clients[4]!.createPermission(peer)).toMatchObject({ ok: false, error: { code: 403 } });
    });
    it.each(PUBLIC_IPV4)('permits %s (%s)', async (_what, peer) => {
      expect(await clients[4]!.createPermission(peer)).toEqual({ ok: true });
    });
  });

  describe('CreatePermission from an IPv6 allocation', () => {
    it.each(FORBIDDEN_IPV6)('refuses %s (%s) with 403', async (_what, peer) => {
      expect(await clients[6]!.createPermission(peer)).toMatchObject({ ok: false, error: { code: 403 } });
    });
    it.each(PUBLIC_IPV6)('permits %s (%s)', async (_what, peer) => {
      expect(await clients[6]!.createPermission(peer)).toEqual({ ok: true });
    });
  });

  describe.each([
    [4, NETNS_IPV4],
    [6, NETNS_IPV6],
  ] as const)('IPv%i: the relay address, permitted for relay-to-relay', (family, relayIp) => {
    it('relays between two allocations of this server', async () => {
      const a = await allocation(family);
      const b = await allocation(family);
      expect(await a.client.createPermission(relayIp)).toEqual({ ok: true });
      expect(await b.client.createPermission(relayIp)).toEqual({ ok: true });
      const arrived = new Promise<string>((resolve) =>
        b.client.onData((_from, data) => resolve(data.toString())),
      );
      // Resent until it arrives (bounded by the test timeout): UDP on a loaded machine may drop one.
      const timer = setInterval(() => a.client.send(b.relayed, Buffer.from('relay-to-relay')), 200);
      try {
        expect(await arrived).toBe('relay-to-relay');
      } finally {
        clearInterval(timer);
      }
    });

    it('never delivers to its other ports: the guard drops them, and without it they would arrive', async () => {
      const listener = await netns.udp(relayIp, OUTSIDE_PORT);
      sockets.push(listener);
      const received: string[] = [];
      listener.onMessage(({ data }) => received.push(data.toString()));
      const sendThroughRelay = async (text: string): Promise<void> => {
        const { client } = await allocation(family);
        expect(await client.createPermission(relayIp)).toEqual({ ok: true });
        for (let copy = 0; copy < 3; copy++) {
          client.send({ address: relayIp, port: OUTSIDE_PORT }, Buffer.from(text));
        }
        await new Promise((resolve) => setTimeout(resolve, DELIVERY_WAIT_MS));
      };

      const droppedBefore = await guardDrops(netns);
      await sendThroughRelay('guarded');
      expect(received, 'nothing reached the port outside the relay range').toEqual([]);
      expect(await guardDrops(netns), 'the guard counted the drops').toBeGreaterThan(droppedBefore);

      // The control: the same send without the guard arrives, so the listener would have seen a leak.
      await netns.exec('nft', ['delete', 'table', 'inet', RELAY_GUARD_TABLE]);
      try {
        await sendThroughRelay('unguarded');
        expect(received).toContain('unguarded');
      } finally {
        await loadGuard();
      }
      expect(received).not.toContain('guarded');
    }, 30_000);

    it('`duet-turn-config --check-guard` tells a guarded relay address from an unguarded one', async () => {
      const check = (): Promise<string> =>
        netns.exec(TSX, [
          TURN_CONFIG_CLI,
          '--check-guard',
          '--relay-ip',
          relayIp,
          '--min-port',
          String(RELAY_PORTS.min),
          '--max-port',
          String(RELAY_PORTS.max),
        ]);
      expect(await check()).toMatch(/^guarded: /);
      await netns.exec('nft', ['delete', 'table', 'inet', RELAY_GUARD_TABLE]);
      try {
        await expect(check()).rejects.toThrow(/exit 1/);
      } finally {
        await loadGuard();
      }
    }, 30_000);
  });
});

/** Datagrams the guard has dropped so far (its rule's counter). */
async function guardDrops(netns: TestNetns): Promise<number> {
  const listed = await netns.exec('nft', ['list', 'table', 'inet', RELAY_GUARD_TABLE]);
  return [...listed.matchAll(/counter packets (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}
