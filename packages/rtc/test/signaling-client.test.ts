import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDuetServer, type DuetServer } from '@duet/server';
import { DuetError } from '../src/errors.js';
import { SignalingClient, type StorageLike } from '../src/signaling/signaling-client.js';
import { MemoryStorage } from './support/memory-storage.js';

/** The rtc package's signaling client against the real server on a free loopback port. */

let server: DuetServer | undefined;
const clients: SignalingClient[] = [];

const start = async (port = 0) =>
  (server = await startDuetServer({
    host: '127.0.0.1',
    port,
    logLevel: 'silent',
    reconnectGraceMs: 5000,
    shutdownTimeoutMs: 500,
    // Most tests join by plain name; the private-room tests bring a secret.
    openRooms: true,
  }));

function client(storage: StorageLike = new MemoryStorage()): SignalingClient {
  const c = new SignalingClient({ url: server!.url(), storage, transports: ['websocket'] });
  clients.push(c);
  return c;
}

/**
 * A TCP relay on loopback to `port`. `swallowOpenConnections()` makes the connections open now a
 * black hole (their bytes are dropped both ways, nothing is closed); later connections pass.
 */
async function blackHoleRelay(
  port: string,
): Promise<{ url: string; swallowOpenConnections(): void; close(): void }> {
  const open = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  const relay = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    const link = { client, upstream, silent: false };
    open.add(link);
    client.on('data', (chunk) => link.silent || upstream.write(chunk));
    upstream.on('data', (chunk) => link.silent || client.write(chunk));
    const end = () => {
      open.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = relay.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${relayPort}`,
    swallowOpenConnections: () => open.forEach((link) => (link.silent = true)),
    close: () => {
      open.forEach((link) => link.client.destroy());
      relay.close();
    },
  };
}

afterEach(async () => {
  for (const c of clients.splice(0)) {
    c.close();
  }
  await server?.close();
  server = undefined;
});

describe('SignalingClient', () => {
  it('joins, receives validated presence and call events, and turns refusals into DuetErrors', async () => {
    await start();
    const alice = client();
    const bob = client();
    await alice.connect();
    await bob.connect();
    const a = await alice.join('Room', 'Alice');
    const joined = alice.waitFor('presence');
    const b = await bob.join('room', 'Bob');
    expect((await joined).user).toEqual(b.self);

    const incoming = bob.waitFor('call:incoming');
    const { callId } = await alice.invite(b.self.id, { audio: true, video: false });
    expect(await incoming).toMatchObject({
      callId,
      from: { id: a.self.id },
      media: { audio: true, video: false },
    });
    const accepted = [alice.waitFor('call:accepted'), bob.waitFor('call:accepted')];
    await bob.accept(callId);
    expect((await Promise.all(accepted)).map((e) => e.polite)).toEqual([false, true]);

    const signal = bob.waitFor('signal');
    alice.signal(callId, b.self.id, { kind: 'candidate', candidate: null });
    expect(await signal).toEqual({ callId, from: a.self.id, data: { kind: 'candidate', candidate: null } });

    const refusal = await alice.invite(b.self.id, { audio: true, video: true }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DuetError);
    expect((refusal as DuetError).reason).toBe('already_in_call');
  });

  it('resumes its session by itself after the connection drops', async () => {
    await start();
    const alice = client();
    await alice.connect();
    const first = await alice.join('r', 'Alice');
    const resumed = alice.waitFor('session');
    alice.socket.io.engine.close(); // the network blips; Socket.IO reconnects on its own
    const session = await resumed;
    expect(session.self.id).toBe(first.self.id);
    expect(alice.connection).toBe('connected');
  });

  it('checks its connection when asked, and reconnects at once when the path died without a word', async () => {
    await start();
    // A TCP relay to the server that can turn into a black hole, as a path does when the network
    // changes under a phone: nothing arrives, nothing is refused, nothing closes.
    const path = await blackHoleRelay(new URL(server!.url()).port);
    try {
      const alice = new SignalingClient({
        url: path.url,
        storage: new MemoryStorage(),
        transports: ['websocket'],
      });
      clients.push(alice);
      await alice.connect();
      const first = await alice.join('r', 'Alice');
      expect(await alice.checkConnection(2000)).toBe(true);
      path.swallowOpenConnections();
      const resumed = alice.waitFor('session');
      expect(await alice.checkConnection(300)).toBe(false);
      // Reconnected (a new connection passes) and resumed, without waiting 15 + 10 s for the heartbeat.
      const session = await resumed;
      expect(session.self.id).toBe(first.self.id);
      expect(alice.connection).toBe('connected');
      expect(await alice.checkConnection(2000)).toBe(true);
    } finally {
      path.close();
    }
  });

  it('takes its seat back after a page reload in the same tab (stored token)', async () => {
    await start();
    const storage = new MemoryStorage();
    const before = client(storage);
    await before.connect();
    const first = await before.join('r', 'Alice');
    before.socket.io.engine.close();
    before.close();
    const after = client(storage);
    await after.connect();
    expect((await after.join('R', 'Alice')).self.id).toBe(first.self.id);
  });

  it('reports session-lost when the server restarted and forgot it', async () => {
    const port = (await start()).address().port;
    const alice = client();
    await alice.connect();
    await alice.join('r', 'Alice');
    const lost = alice.waitFor('session-lost');
    await server!.close();
    await start(port);
    expect(await lost).toEqual({ room: 'r', name: 'Alice', access: {} });
    const again = await alice.join('r', 'Alice');
    expect(again.room.users).toHaveLength(1);
  });

  it('rejects a protocol version mismatch with a reason the UI can act on', async () => {
    await start();
    const alice = client();
    // Pretend to be an old app: the handshake carries another version.
    (alice.socket.auth as { protocolVersion: number }).protocolVersion = 0;
    const error = await alice.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuetError);
    expect((error as DuetError).reason).toBe('unsupported_protocol_version');
    expect(alice.connection).toBe('disconnected');
  });

  it('joins once when the connection drops after the server took the join but before its answer', async () => {
    const server = await start();
    // The server drops the connection the moment the first join arrives: the join is handled, its
    // answer is lost. The client must send it again and get that same seat, not a second one.
    let dropped = 0;
    server.io.on('connection', (socket) =>
      socket.prependAny((event) => {
        if (event === 'room:join' && dropped++ === 0) {
          socket.conn.close();
        }
      }),
    );
    const alice = client();
    await alice.connect();
    const session = await alice.join('room', 'Alice');
    expect(dropped).toBe(2);
    // No ghost of the first join holds the second seat (capacity 2).
    const bob = client();
    await bob.connect();
    const seen = await bob.join('room', 'Bob');
    expect(seen.room.users.map((u) => u.name).sort()).toEqual(['Alice', 'Bob']);
    expect(seen.room.users.find((u) => u.name === 'Alice')?.id).toBe(session.self.id);
  });

  it('fails a request at once with connection_lost when the connection drops before the answer', async () => {
    const server = await start();
    const alice = client();
    await alice.connect();
    await alice.join('room', 'Alice');
    for (const socket of server.io.of('/').sockets.values()) {
      socket.prependAny((event) => {
        if (event === 'ice:refresh') {
          socket.conn.close();
        }
      });
    }
    const started = Date.now();
    await expect(alice.refreshIceServers()).rejects.toMatchObject({ reason: 'connection_lost' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('knocks on a room that asks to join, waits, and joins once a member admits it', async () => {
    await start();
    const secret = 'Zr3hU8Kk1bV0yQf2Lw9nXg';
    const alice = client();
    await alice.connect();
    await alice.join('private', 'Alice', { secret, create: true });
    await alice.changeRoomSettings({ askToJoin: true });
    const bob = client();
    await bob.connect();
    const waiting = bob.waitFor('knocking');
    const joining = bob.join('private', 'Bob', { secret });
    const knock = await alice.waitFor('lobby:knock');
    expect(knock.name).toBe('Bob');
    expect(await waiting).toMatchObject({ knockId: knock.knockId });
    await alice.answerKnock(knock.knockId, true);
    const session = await joining;
    expect(session.room.users.map((u) => u.name)).toEqual(['Alice', 'Bob']);
    expect(session.room.settings).toEqual({
      access: 'private',
      askToJoin: true,
      locked: false,
      password: false,
    });
  });

  it('rejects the join with the code of a denied knock, and with join_cancelled when the user gives up', async () => {
    await start();
    const secret = 'Zr3hU8Kk1bV0yQf2Lw9nXg';
    const alice = client();
    await alice.connect();
    await alice.join('private', 'Alice', { secret, create: true });
    await alice.changeRoomSettings({ askToJoin: true });
    const bob = client();
    await bob.connect();
    const denied = bob.join('private', 'Bob', { secret }).catch((e: unknown) => e);
    const knock = await alice.waitFor('lobby:knock');
    await alice.answerKnock(knock.knockId, false);
    expect(await denied).toMatchObject({ reason: 'knock_denied' });
    const cancelled = bob.join('private', 'Bob', { secret }).catch((e: unknown) => e);
    const second = await alice.waitFor('lobby:knock');
    bob.cancelKnock();
    expect(await cancelled).toMatchObject({ reason: 'join_cancelled' });
    expect(await alice.waitFor('lobby:knock-ended')).toEqual({
      knockId: second.knockId,
      outcome: 'cancelled',
    });
  });

  it('makes a forgotten private room again with its secret after a server restart', async () => {
    const port = (await start()).address().port;
    const secret = 'Zr3hU8Kk1bV0yQf2Lw9nXg';
    const alice = client();
    await alice.connect();
    await alice.join('private', 'Alice', { secret, create: true });
    const lost = alice.waitFor('session-lost');
    await server!.close();
    await start(port);
    const event = await lost;
    expect(event).toEqual({ room: 'private', name: 'Alice', access: { secret, create: true } });
    const again = await alice.join(event.room, event.name, event.access);
    expect(again.room.settings.access).toBe('private');
    // The wrong secret finds nothing there.
    const eve = client();
    await eve.connect();
    await expect(eve.join('private', 'Eve', { secret: 'x'.repeat(22) })).rejects.toMatchObject({
      reason: 'room_not_found',
    });
  });
});
