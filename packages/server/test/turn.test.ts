import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DuetServer } from '@duet/server';
import { renderCoturnConfig } from '../src/turn/coturn-config.js';
import { issueTurnCredentials } from '../src/turn/credentials.js';
import { joinedClient, startTestServer, type TestClient } from './support.js';
import { ALLOCATION_REFUSED, FORBIDDEN_IP, freePort, relayPortRange, uclient } from './turn-support.js';

const SECRET = 'duet-test-secret-0123456789abcdef';
const RELAY_RUN_MS = 15_000;

describe('TURN credentials', () => {
  it('are `<expiry>:<user>` with base64(HMAC-SHA1(secret, username)), expiring after the TTL', () => {
    const now = Date.UTC(2026, 10, 21, 12, 0, 0);
    const issued = issueTurnCredentials(SECRET, 'q3Vb0c2VhR1iYQ9kZ8xT4w', 3600, now);
    expect(issued.username).toBe(`${now / 1000 + 3600}:q3Vb0c2VhR1iYQ9kZ8xT4w`);
    expect(issued.credential).toBe(createHmac('sha1', SECRET).update(issued.username).digest('base64'));
    expect(issued.expiresAt).toBe(now + 3_600_000);
  });
});

describe('generated coturn configuration', () => {
  const config = renderCoturnConfig({
    realm: 'turn.example.org',
    secret: SECRET,
    relayIps: ['198.51.100.20'],
  });

  it('is hardened: REST API auth, no CLI, no multicast, denied private ranges, relay-to-relay allowed', () => {
    for (const line of [
      'use-auth-secret',
      `static-auth-secret=${SECRET}`,
      'realm=turn.example.org',
      'fingerprint',
      'no-cli',
      'no-multicast-peers',
      'no-tcp-relay',
      'user-quota=12',
      'total-quota=1200',
      'denied-peer-ip=127.0.0.0-127.255.255.255',
      'denied-peer-ip=::1',
      'denied-peer-ip=::-::',
      'denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255',
      'denied-peer-ip=10.0.0.0-10.255.255.255',
      'denied-peer-ip=169.254.0.0-169.254.255.255',
      'denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      'allowed-peer-ip=198.51.100.20',
    ]) {
      expect(config.split('\n')).toContain(line);
    }
    // A public relay address needs no exception to coturn's loopback ban.
    expect(config).not.toContain('allow-loopback-peers');
  });

  it('refuses a weak secret and TLS without a key', () => {
    expect(() =>
      renderCoturnConfig({ realm: 'x.org', secret: 'short', relayIps: ['198.51.100.20'] }),
    ).toThrow(/16/);
    expect(() =>
      renderCoturnConfig({
        realm: 'x.org',
        secret: SECRET,
        relayIps: ['198.51.100.20'],
        tlsPort: 5349,
        certPath: '/c.pem',
      }),
    ).toThrow(/certificate and a key/);
  });
});

/**
 * The generated configuration in a real coturn on loopback. The relay leaves from 127.0.0.2 (allowed
 * as a peer, for relay-to-relay), and, as one extra lab line, also from ::1, so that IPv6 allocations
 * exist: the IPv4-mapped loopback bypass only shows through an IPv6 allocation.
 */
describe('coturn with the generated configuration', () => {
  let turnserver: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const relay = relayPortRange();
    const folder = mkdtempSync(join(tmpdir(), 'duet-turn-test-'));
    const config = renderCoturnConfig({
      realm: 'duet.test',
      secret: SECRET,
      listeningIps: ['127.0.0.1', '::1'],
      relayIps: ['127.0.0.2'],
      listeningPort: port,
      minPort: relay.min,
      maxPort: relay.max,
    });
    writeFileSync(join(folder, 'turnserver.conf'), `${config}relay-ip=::1\n`, { mode: 0o600 });
    turnserver = spawn('turnserver', ['-c', join(folder, 'turnserver.conf')], { stdio: 'ignore' });
    // Ready when an allocation succeeds (bounded: 20 tries).
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await allocate(credentialsFor('ready'))).output.includes('Total connect time')) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('turnserver did not come up');
  });
  afterAll(() => {
    turnserver.kill('SIGKILL');
  });

  const credentialsFor = (user: string, secret = SECRET, ttl = 600) => {
    const issued = issueTurnCredentials(secret, `${user}-${Math.random().toString(36).slice(2)}`, ttl);
    return { username: issued.username, credential: issued.credential };
  };
  const auth = (c: { username: string; credential: string }) => [
    '-p',
    String(port),
    '-u',
    c.username,
    '-w',
    c.credential,
  ];
  /** Two allocations that send to each other through the relay (client-to-client, relay-to-relay). */
  // A passing run takes ~5 s (the client paces its messages); a loaded CI machine needs more room.
  const allocate = (c: { username: string; credential: string }) =>
    uclient(['-X', '-y', '-c', '-n', '5', ...auth(c), '127.0.0.1'], RELAY_RUN_MS);

  it('allocates with valid credentials and relays between two allocations', async () => {
    const result = await allocate(credentialsFor('valid'));
    expect(result.output).toContain('Total lost packets 0 (0.000000%)');
    expect(result.code).toBe(0);
  }, 30_000);

  it.each([
    ['expired', () => credentialsFor('expired', SECRET, -60)],
    ['signed with another secret', () => credentialsFor('other', 'another-secret-0123456789abcdef')],
    [
      'forged: a valid password under another user id',
      () => {
        const real = credentialsFor('victim');
        const [expiry] = real.username.split(':');
        return { username: `${expiry}:attacker`, credential: real.credential };
      },
    ],
  ])('refuses credentials that are %s', async (_name, make) => {
    const result = await allocate(make());
    expect(result.output).toContain(ALLOCATION_REFUSED);
    expect(result.output).not.toContain('Total connect time');
  });

  it.each([
    ['127.0.0.1', '-X'],
    ['0.0.0.0', '-X'],
    ['10.0.0.1', '-X'],
    ['169.254.169.254', '-X'],
    ['224.0.0.1', '-X'],
    ['::1', '-x'],
    ['::ffff:127.0.0.1', '-x'],
  ])('refuses permissions and channel binds toward %s (403)', async (peer, family) => {
    const result = await uclient([
      family,
      '-c',
      '-n',
      '1',
      '-e',
      peer,
      '-r',
      '3480',
      ...auth(credentialsFor('peer')),
      '127.0.0.1',
    ]);
    expect(result.output).toContain(FORBIDDEN_IP);
  });
});

describe('Duet with a supervised local turnserver', () => {
  let server: DuetServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('hands each user their own short-lived TURN credentials that coturn accepts, and refreshes them', async () => {
    const turnPort = await freePort();
    const relay = relayPortRange();
    server = await startTestServer({
      turnServer: 'local',
      turnListenIps: '127.0.0.1',
      turnRelayIp: '127.0.0.2',
      turnPort,
      turnMinPort: relay.min,
      turnMaxPort: relay.max,
      turnTtlSeconds: 600,
    });
    const { client, session } = await joinedClient(server, 'r', 'Ann');
    clients.push(client);
    const turn = session.iceServers.find((s) => String(s.urls).includes('turn:'))!;
    expect(turn.urls).toEqual([
      `turn:127.0.0.1:${turnPort}?transport=udp`,
      `turn:127.0.0.1:${turnPort}?transport=tcp`,
    ]);
    expect(turn.username).toMatch(new RegExp(`^\\d+:${session.self.id}$`));
    expect(session.iceServersExpireAt).toBeGreaterThan(Date.now() + 590_000);

    const credentials = { username: turn.username!, credential: turn.credential! };
    await expect
      .poll(
        async () =>
          (
            await uclient(
              [
                '-X',
                '-y',
                '-c',
                '-n',
                '3',
                '-p',
                String(turnPort),
                '-u',
                credentials.username,
                '-w',
                credentials.credential,
                '127.0.0.1',
              ],
              RELAY_RUN_MS,
            )
          ).output,
        {
          timeout: RELAY_RUN_MS + 2000,
        },
      )
      .toContain('Total lost packets 0');

    const refreshed = await client.request('ice:refresh', {});
    expect(refreshed).toMatchObject({ ok: true, iceServersExpireAt: expect.any(Number) });
    for (let i = 0; i < 6; i++) await client.request('ice:refresh', {});
    expect(await client.request('ice:refresh', {})).toMatchObject({
      ok: false,
      error: { code: 'rate_limited' },
    });
  }, 40_000);

  it('issues nothing to a socket that has not joined, and never sends the secret', async () => {
    server = await startTestServer({ turnUrls: 'turn:turn.example.org:3478', turnSecret: SECRET });
    const { client, session } = await joinedClient(server, 'r', 'Ann');
    clients.push(client);
    expect(JSON.stringify(session)).not.toContain(SECRET);
    const { connectClient } = await import('./support.js');
    const stranger = await connectClient(server);
    clients.push(stranger);
    expect(await stranger.request('ice:refresh', {})).toMatchObject({ error: { code: 'not_in_room' } });
  });
});
