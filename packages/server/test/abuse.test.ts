import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS, PROTOCOL_VERSION } from '@duet/protocol';
import type { DuetServer } from '@duet/server';
import {
  activeCall,
  connectClient,
  joinedClient,
  openSocket,
  startTestServer,
  type TestClient,
} from './support.js';

describe('abuse resistance', () => {
  let server: DuetServer | undefined;
  const clients: TestClient[] = [];
  const start = async (...args: Parameters<typeof startTestServer>) =>
    (server = await startTestServer(...args));

  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.close();
    }
    await server?.close();
    server = undefined;
  });

  /** The server still serves a complete join → call → relay round. */
  async function stillWorks(s: DuetServer): Promise<void> {
    expect((await fetch(`${s.url()}/healthz`)).status).toBe(200);
    const c = await activeCall(s, `still-works-${Math.random()}`);
    clients.push(c.a, c.b);
    await c.a.request('signal', {
      callId: c.callId,
      to: c.bId,
      data: { kind: 'candidate', candidate: null },
    });
    await c.b.next('signal');
  }

  it('refuses a wrong or missing protocol version with a clear connect_error', async () => {
    const s = await start();
    for (const version of [PROTOCOL_VERSION + 1, 'one', undefined]) {
      const socket = openSocket(s, { protocolVersion: version });
      const error = await new Promise<Error & { data?: unknown }>((resolve) =>
        socket.once('connect_error', resolve),
      );
      socket.close();
      expect(error.message).toBe('unsupported_protocol_version');
      expect(error.data).toEqual({
        code: 'unsupported_protocol_version',
        message: expect.stringContaining('reload'),
        serverProtocolVersion: PROTOCOL_VERSION,
      });
    }
    await stillWorks(s);
  });

  it.each(['websocket', 'polling'] as const)('refuses a foreign Origin over %s', async (transport) => {
    const s = await start();
    const socket = openSocket(s, { origin: 'https://evil.example', transports: [transport] });
    await new Promise((resolve) => socket.once('connect_error', resolve));
    socket.close();
    expect(socket.connected).toBe(false);
    const handshake = await fetch(`${s.url()}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(handshake.status).toBe(403);
    expect(await handshake.json()).toEqual({ code: 4, message: 'origin_not_allowed' });
    // Same origin, localhost and allow-listed origins pass.
    for (const origin of [s.url(), 'http://localhost:5173']) {
      clients.push(await connectClient(s, { origin, transports: [transport] }));
    }
  });

  it('allows an origin from the allow-list', async () => {
    const s = await start({ allowedOrigins: 'https://duet.example.org' });
    clients.push(await connectClient(s, { origin: 'https://duet.example.org' }));
    const refused = openSocket(s, { origin: 'https://duet.example.org.evil.example' });
    await new Promise((resolve) => refused.once('connect_error', resolve));
    refused.close();
  });

  it('caps concurrent connections per address', async () => {
    const s = await start({ maxConnectionsPerIp: 3 });
    for (let i = 0; i < 3; i++) {
      clients.push(await connectClient(s));
    }
    const fourth = openSocket(s);
    await new Promise((resolve) => fourth.once('connect_error', resolve));
    fourth.close();
    clients.pop()!.close();
    // The freed slot is usable again (the server notices the close asynchronously).
    await expect
      .poll(async () =>
        connectClient(s).then(
          (c) => (clients.push(c), true),
          () => false,
        ),
      )
      .toBe(true);
  });

  it('answers malformed payloads with invalid_payload and stays up', async () => {
    const s = await start();
    const client = await connectClient(s);
    clients.push(client);
    const bad: Array<[string, unknown]> = [
      ['room:join', null],
      ['room:join', 'lobby'],
      ['room:join', { room: '', name: 'x' }],
      ['room:join', { room: 'r', name: 42 }],
      ['room:join', { room: ['r'], name: { toString: 'x' } }],
      ['call:invite', { to: '../../etc/passwd' }],
      ['call:accept', { callId: { $gt: '' } }],
      [
        'signal',
        {
          callId: 'a'.repeat(22),
          to: 'b'.repeat(22),
          data: { kind: 'description', description: { type: 'pranswer', sdp: '' } },
        },
      ],
    ];
    for (const [event, payload] of bad) {
      const result = await client.rawWithAck(event, payload);
      expect(result, `${event} ${JSON.stringify(payload)}`).toMatchObject({
        ok: false,
        error: { code: 'invalid_payload' },
      });
    }
    expect(await client.rawWithAck('no-such-event', {})).toMatchObject({ error: { code: 'unknown_event' } });
    client.raw('room:join', { room: 'r', name: 'no ack' });
    expect(await client.next('protocol:error')).toMatchObject({
      event: 'room:join',
      error: { code: 'ack_required' },
    });
    await stillWorks(s);
  });

  it('answers an over-long field with payload_too_large', async () => {
    const s = await start();
    const { client } = await joinedClient(s, 'r', 'Ann');
    clients.push(client);
    const result = await client.rawWithAck('room:join', { room: 'r'.repeat(1000), name: 'A' });
    expect(result).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('closes only the connection that sends a frame above maxHttpBufferSize', async () => {
    const s = await start();
    const { a, b, bId, callId } = await activeCall(s);
    clients.push(a, b);
    const dropped = new Promise((resolve) => a.socket.once('disconnect', resolve));
    const huge = 'x'.repeat(LIMITS.maxSignalingPayloadBytes + 1024);
    a.raw('signal', {
      callId,
      to: bId,
      data: { kind: 'description', description: { type: 'offer', sdp: huge } },
    });
    await dropped;
    expect(b.socket.connected).toBe(true);
    expect(b.pending('signal')).toEqual([]);
    await stillWorks(s);
  });

  it('rate-limits a flood, then disconnects a client that keeps flooding', async () => {
    const s = await start({ eventsPerSecond: 5, eventBurst: 10 });
    const { client } = await joinedClient(s, 'r', 'Flood');
    clients.push(client);
    const results = await Promise.all(
      Array.from({ length: 15 }, () => client.rawWithAck('room:leave', {}).catch(() => 'no answer')),
    );
    const codes = results.map((r) => (r as { ok: boolean; error?: { code: string } }).error?.code ?? 'ok');
    expect(codes.filter((c) => c === 'rate_limited').length).toBeGreaterThanOrEqual(5);
    const disconnected = new Promise((resolve) => client.socket.once('disconnect', resolve));
    for (let i = 0; i < 30; i++) {
      client.raw('room:leave', {});
    }
    await disconnected;
    await stillWorks(s);
  });

  it('never lets a handler failure escape: a broken store gives internal_error, the server stays up', async () => {
    const { MemoryStore } = await import('@duet/server');
    const store = new MemoryStore();
    store.addUser = () => Promise.reject(new Error('disk on fire'));
    server = await (
      await import('@duet/server')
    ).startDuetServer({ host: '127.0.0.1', port: 0, logLevel: 'silent' }, { store });
    const client = await connectClient(server);
    clients.push(client);
    expect(await client.request('room:join', { room: 'r', name: 'A' })).toEqual({
      ok: false,
      error: { code: 'internal_error', message: 'The server could not handle this message.' },
    });
    expect((await fetch(`${server.url()}/healthz`)).status).toBe(200);
  });
});
