import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCallRestored, type TestClient } from './support.js';
import { DuetNode, RedisProcess, connectTo, joinOn, metricValue, until } from './cluster-support.js';

/**
 * Two real Duet processes sharing one real Redis, with real socket.io-clients on each: everything a
 * user does works whichever node their socket is on.
 */
describe.each(['sharded', 'streams'] as const)('two Duet processes over Redis (%s adapter)', (adapter) => {
  let redis: RedisProcess;
  let a: DuetNode;
  let b: DuetNode;
  const clients: TestClient[] = [];
  const room = () => `room-${randomBytes(4).toString('hex')}`;
  const track = <T extends { client: TestClient }>(joined: T): T => (clients.push(joined.client), joined);

  beforeAll(async () => {
    redis = await RedisProcess.start();
    const env = {
      DUET_REDIS_URL: redis.url,
      DUET_REDIS_ADAPTER: adapter,
      DUET_ROOM_CAPACITY: '4',
      DUET_RING_TIMEOUT_MS: '1500',
      DUET_RECONNECT_GRACE_MS: '4000',
      // The capacity race opens 50 sockets from this one address.
      DUET_MAX_CONNECTIONS_PER_IP: '1000',
      DUET_KNOCK_TIMEOUT_MS: '1500',
      DUET_PASSWORD_ATTEMPTS_PER_IP: '3',
      // The password limit test speaks from addresses of its own (X-Forwarded-For).
      DUET_TRUST_PROXY: 'true',
    };
    [a, b] = await Promise.all([DuetNode.start('node-a', env), DuetNode.start('node-b', env)]);
  }, 60_000);

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.close();
    }
    expect(a.unexpectedExit ?? b.unexpectedExit).toBeNull();
  });

  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await redis.stop();
  }, 30_000);

  it('shows people on different nodes to each other and carries a whole call between them', async () => {
    const name = room();
    const alice = track(await joinOn(a.url, name, 'Alice'));
    const bob = track(await joinOn(b.url, name, 'Bob'));
    expect(bob.session.room.users.map((u) => u.name)).toEqual(['Alice', 'Bob']);
    expect(await alice.client.next('presence')).toEqual({
      room: name,
      change: 'joined',
      user: { id: bob.session.self.id, name: 'Bob', state: 'free' },
    });

    const invite = await alice.client.request('call:invite', { to: bob.session.self.id });
    if (!invite.ok) {
      throw new Error(invite.error.code);
    }
    expect(await bob.client.next('call:incoming')).toMatchObject({
      callId: invite.callId,
      from: { id: alice.session.self.id },
    });
    expect(await bob.client.request('call:accept', { callId: invite.callId })).toEqual({
      ok: true,
      callId: invite.callId,
    });
    expect(await alice.client.next('call:accepted')).toMatchObject({ polite: false });
    expect(await bob.client.next('call:accepted')).toMatchObject({ polite: true });

    // SDP and ICE both ways, in order, with `from` stamped by the server.
    const offer = { kind: 'description' as const, description: { type: 'offer' as const, sdp: 'v=0 offer' } };
    const answer = {
      kind: 'description' as const,
      description: { type: 'answer' as const, sdp: 'v=0 answer' },
    };
    const candidate = (n: number) => ({
      kind: 'candidate' as const,
      candidate: { candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${9000 + n} typ host`, sdpMid: '0' },
    });
    const call = { callId: invite.callId };
    await alice.client.request('signal', { ...call, to: bob.session.self.id, data: offer });
    for (let n = 0; n < 5; n++) {
      alice.client.raw('signal', { ...call, to: bob.session.self.id, data: candidate(n) });
    }
    expect(await bob.client.next('signal')).toEqual({ ...call, from: alice.session.self.id, data: offer });
    for (let n = 0; n < 5; n++) {
      expect(await bob.client.next('signal')).toEqual({
        ...call,
        from: alice.session.self.id,
        data: candidate(n),
      });
    }
    await bob.client.request('signal', { ...call, to: alice.session.self.id, data: answer });
    expect(await alice.client.next('signal')).toEqual({ ...call, from: bob.session.self.id, data: answer });

    expect(await bob.client.request('call:hangup', call)).toEqual({ ok: true, ...call });
    const ended = { ...call, reason: 'hangup', by: bob.session.self.id };
    expect(await alice.client.next('call:ended')).toEqual(ended);
    expect(await bob.client.next('call:ended')).toEqual(ended);
    expect(await alice.client.request('room:leave', {})).toEqual({ ok: true });
    expect(await bob.client.next('presence', (p) => p.change === 'left')).toMatchObject({
      user: { id: alice.session.self.id },
    });
  });

  it('admits exactly the capacity when 50 people join one room at once over both nodes, 20 times', async () => {
    for (let round = 0; round < 20; round++) {
      const name = room();
      const sockets = await Promise.all(
        Array.from({ length: 50 }, (_, i) => connectTo(i % 2 === 0 ? a.url : b.url)),
      );
      clients.push(...sockets);
      const results = await Promise.all(
        sockets.map((client, i) => client.request('room:join', { room: name, name: `P${i}` })),
      );
      const admitted = results.filter((r) => r.ok);
      expect(admitted).toHaveLength(4);
      expect(results.filter((r) => !r.ok && r.error.code === 'room_full')).toHaveLength(46);
      // The room as the other node sees it is full too.
      const late = await joinOn(round % 2 === 0 ? a.url : b.url, name, 'Late').catch((e: unknown) => e);
      expect(late).toBeInstanceOf(Error);
      const ids = admitted.map((r) => r.self.id);
      for (const r of admitted) {
        expect(r.room.users.length).toBeLessThanOrEqual(4);
      }
      for (const client of sockets) {
        client.close();
      }
      clients.splice(0);
      // Everyone left (the leaves are processed a moment after the sockets close): the room has a
      // free seat again, and is empty of them on both nodes' view.
      const again = await until(() => joinOn(b.url, name, 'After'), 5000, 'a free seat');
      clients.push(again.client);
      await until(
        async () => {
          const probe = await joinOn(a.url, name, 'Probe').catch(() => undefined);
          if (!probe) {
            return undefined;
          }
          probe.client.close();
          return probe.session.room.users.every((u) => !ids.includes(u.id)) ? true : undefined;
        },
        5000,
        'the room to empty',
      );
      again.client.close();
      clients.splice(0);
    }
  }, 120_000);

  /** A private room that asks to join, made on node A, with a second member on node B. */
  async function lobbyAcrossNodes() {
    const name = room();
    const secret = randomBytes(16).toString('base64url');
    const ann = await connectTo(a.url);
    const bob = await connectTo(b.url);
    clients.push(ann, bob);
    const made = await ann.request('room:join', { room: name, name: 'Ann', secret, create: true });
    expect(made).toMatchObject({ ok: true, room: { settings: { access: 'private' } } });
    expect(await bob.request('room:join', { room: name, name: 'Bob', secret })).toMatchObject({ ok: true });
    expect(await bob.request('room:settings', { askToJoin: true })).toMatchObject({ ok: true });
    await ann.next('room:settings');
    return { name, secret, ann, bob };
  }

  it('runs the lobby across nodes: knock on one, admit from the other, join with the ticket', async () => {
    const { name, secret, ann, bob } = await lobbyAcrossNodes();
    const cara = await connectTo(b.url);
    clients.push(cara);
    // Wrong secret: the same answer from either node as for no room at all.
    const wrong = await cara.request('room:knock', { room: name, name: 'Cara', secret: 'x'.repeat(22) });
    expect(wrong).toEqual(
      await cara.request('room:knock', { room: room(), name: 'Cara', secret: 'x'.repeat(22) }),
    );
    expect(wrong).toMatchObject({ ok: false, error: { code: 'room_not_found' } });
    const knock = await cara.request('room:knock', { room: name, name: 'Cara', secret });
    if (!knock.ok) {
      throw new Error(knock.error.code);
    }
    expect(await ann.next('lobby:knock')).toEqual({ knockId: knock.knockId, name: 'Cara' });
    expect(await ann.request('lobby:admit', { knockId: knock.knockId })).toEqual({ ok: true });
    const { ticket } = await cara.next('lobby:admitted');
    expect(await bob.next('lobby:knock-ended', (e) => e.outcome === 'admitted')).toMatchObject({
      knockId: knock.knockId,
    });
    expect(await cara.request('room:join', { room: name, name: 'Cara', secret, ticket })).toMatchObject({
      ok: true,
      room: { users: [{ name: 'Ann' }, { name: 'Bob' }, { name: 'Cara' }] },
    });
  });

  it('answers each knock once when members on both nodes answer it at once, 10 times', async () => {
    const { name, secret, ann, bob } = await lobbyAcrossNodes();
    for (let round = 0; round < 10; round++) {
      const knocker = await connectTo(round % 2 === 0 ? a.url : b.url);
      clients.push(knocker);
      const knock = await knocker.request('room:knock', { room: name, name: `K${round}`, secret });
      if (!knock.ok) {
        throw new Error(knock.error.code);
      }
      await Promise.all([ann.next('lobby:knock'), bob.next('lobby:knock')]);
      const answers = await Promise.all([
        ann.request('lobby:deny', { knockId: knock.knockId }),
        bob.request('lobby:admit', { knockId: knock.knockId }),
      ]);
      expect(answers.filter((answer) => answer.ok)).toHaveLength(1);
      expect(answers.filter((answer) => !answer.ok)).toMatchObject([{ error: { code: 'knock_not_found' } }]);
      const told = await Promise.race([knocker.next('lobby:admitted'), knocker.next('lobby:refused')]);
      expect(told.knockId).toBe(knock.knockId);
      knocker.close();
    }
  });

  it('times a knock out on whichever node, and tells a knocker on one node that the room closed on the other', async () => {
    const { name, secret, ann, bob } = await lobbyAcrossNodes();
    const early = await connectTo(b.url);
    clients.push(early);
    const first = await early.request('room:knock', { room: name, name: 'Early', secret });
    expect(await early.next('lobby:refused', undefined, 6000)).toEqual({
      knockId: first.ok ? first.knockId : '',
      code: 'knock_timeout',
    });
    const late = await connectTo(b.url);
    clients.push(late);
    const second = await late.request('room:knock', { room: name, name: 'Late', secret });
    expect(second).toMatchObject({ ok: true });
    bob.close();
    expect(await ann.next('presence', (p) => p.change === 'left')).toMatchObject({ user: { name: 'Bob' } });
    ann.close();
    expect(await late.next('lobby:refused')).toEqual({
      knockId: second.ok ? second.knockId : '',
      code: 'room_closed',
    });
    expect(await late.request('room:join', { room: name, name: 'Late', secret })).toMatchObject({
      ok: false,
      error: { code: 'room_not_found' },
    });
  });

  it('counts password attempts from one address over both nodes', async () => {
    const name = room();
    const secret = randomBytes(16).toString('base64url');
    const owner = await connectTo(a.url);
    clients.push(owner);
    const made = await owner.request('room:join', {
      room: name,
      name: 'O',
      secret,
      create: true,
      password: 'pw',
    });
    expect(made).toMatchObject({ ok: true, room: { settings: { password: true } } });
    const headers = { 'x-forwarded-for': '203.0.113.9' };
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const guesser = await connectTo(i % 2 === 0 ? a.url : b.url, { headers });
      clients.push(guesser);
      answers.push(
        await guesser.request('room:join', { room: name, name: 'G', secret, password: `guess${i}` }),
      );
    }
    expect(answers.map((answer) => !answer.ok && answer.error.code)).toEqual([
      'wrong_password',
      'wrong_password',
      'wrong_password',
      'too_many_attempts',
    ]);
  });

  it('rings out (timeout) across nodes and restores a forgotten call with parties on different nodes', async () => {
    const name = room();
    const alice = track(await joinOn(a.url, name, 'Alice'));
    const bob = track(await joinOn(b.url, name, 'Bob'));
    const invite = await alice.client.request('call:invite', { to: bob.session.self.id });
    if (!invite.ok) {
      throw new Error(invite.error.code);
    }
    const ended = { callId: invite.callId, reason: 'timeout' };
    expect(await alice.client.next('call:ended', undefined, 5000)).toEqual(ended);
    expect(await bob.client.next('call:ended', undefined, 5000)).toEqual(ended);

    const CALL = 'q3Vb0c2VhR1iYQ9kZ8xT4w';
    const KEY = 'k'.repeat(32);
    await expectCallRestored(
      { client: alice.client, id: alice.session.self.id, name: 'Alice' },
      bob,
      CALL,
      KEY,
    );
    expect(await alice.client.next('call:restored')).toMatchObject({ callId: CALL });
    const data = { kind: 'candidate' as const, candidate: null };
    expect(await alice.client.request('signal', { callId: CALL, to: bob.session.self.id, data })).toEqual({
      ok: true,
    });
    expect(await bob.client.next('signal')).toEqual({ callId: CALL, from: alice.session.self.id, data });
  });

  it('resumes a session (and its call) on the other node after the connection drops', async () => {
    const name = room();
    const alice = track(await joinOn(a.url, name, 'Alice'));
    const bob = track(await joinOn(a.url, name, 'Bob'));
    const invite = await alice.client.request('call:invite', { to: bob.session.self.id });
    if (!invite.ok) {
      throw new Error(invite.error.code);
    }
    await bob.client.request('call:accept', { callId: invite.callId });
    // Bob's connection to node A drops (not a deliberate leave): his seat is held.
    bob.client.socket.io.engine.close();
    const back = await connectTo(b.url);
    clients.push(back);
    const resumed = await back.request('session:resume', { sessionToken: bob.session.sessionToken });
    if (!resumed.ok) {
      throw new Error(resumed.error.code);
    }
    expect(resumed.self.id).toBe(bob.session.self.id);
    expect(resumed.call).toMatchObject({ callId: invite.callId, state: 'active', role: 'callee' });
    const data = { kind: 'candidate' as const, candidate: null };
    await alice.client.request('signal', { callId: invite.callId, to: bob.session.self.id, data });
    expect(await back.next('signal')).toEqual({ callId: invite.callId, from: alice.session.self.id, data });
    // No reconnect grace runs out later: Bob is still there after it would have.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(alice.client.pending('call:ended')).toEqual([]);
    expect(
      alice.client.pending('presence').filter((p) => (p as { change: string }).change === 'left'),
    ).toEqual([]);
  });

  it('is ready, and labels its metrics and logs with its node name', async () => {
    expect(await a.readyz()).toBe(200);
    const text = await b.metrics();
    expect(text).toContain('node="node-b"');
    expect(metricValue(text, 'duet_users')).toBeGreaterThanOrEqual(0);
    expect(a.output()).toContain('"node":"node-a"');
    expect(a.output()).toContain('sharing state through Redis');
  });
});
