import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Session, SignalData } from '@duet/protocol';
import type { TestClient } from './support.js';
import { DuetNode, RedisProcess, connectTo, joinOn, metricValue, until } from './cluster-support.js';

/**
 * Real processes failing for real: a Duet node killed with SIGKILL, Redis frozen (SIGSTOP) and
 * Redis killed and started again empty, while clients talk through two nodes.
 */

const candidate = (n: number): SignalData => ({
  kind: 'candidate',
  candidate: { candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${10000 + n} typ host`, sdpMid: '0' },
});

/**
 * A client that behaves like the web app's signaling client after a server restart: on
 * `server:shutdown` and the disconnect that follows it comes back after the pause asked for,
 * resumes its session or joins again, and claims its running call with the key both parties
 * share (`call:restore`).
 */
class Agent {
  client!: TestClient;
  session!: Session;
  callId: string | undefined;
  peerId: string | undefined;
  readonly received: Array<{ at: number; data: SignalData }> = [];
  rejoins = 0;
  private closed = false;

  constructor(
    readonly url: string,
    readonly room: string,
    readonly name: string,
    readonly restoreKey: string,
  ) {}

  async join(): Promise<void> {
    const { client, session } = await joinOn(this.url, this.room, this.name);
    this.attach(client, session);
  }

  get role(): 'caller' | 'callee' {
    return this.name === 'Alice' ? 'caller' : 'callee';
  }

  private attach(client: TestClient, session: Session): void {
    this.client = client;
    this.session = session;
    let restart: number | undefined;
    client.socket.on('server:shutdown', ({ retryAfterMs }) => (restart = retryAfterMs));
    client.socket.on('signal', ({ data }) => this.received.push({ at: Date.now(), data }));
    client.socket.on('call:restored', ({ peer }) => (this.peerId = peer.id));
    client.socket.on(
      'call:accepted',
      ({ peer, callId }) => ((this.peerId = peer.id), (this.callId = callId)),
    );
    client.socket.on('disconnect', (reason) => {
      if (reason !== 'io server disconnect' || restart === undefined || this.closed) {
        return;
      }
      setTimeout(() => void this.comeBack().catch(() => undefined), restart);
    });
  }

  private async comeBack(): Promise<void> {
    const client = await connectTo(this.url);
    const resumed = await client.request('session:resume', { sessionToken: this.session.sessionToken });
    if (resumed.ok) {
      return this.attach(client, resumed);
    }
    const joined = await client.request('room:join', { room: this.room, name: this.name });
    if (!joined.ok) {
      throw new Error(joined.error.code);
    }
    this.rejoins++;
    this.attach(client, joined);
    if (this.callId) {
      const restored = await client.request('call:restore', {
        callId: this.callId,
        key: this.restoreKey,
        role: this.role,
      });
      if (restored.ok && restored.peer) {
        this.peerId = restored.peer.id;
      }
    }
  }

  /** Fire and forget, as the app sends ICE candidates. */
  signal(data: SignalData): void {
    if (!this.callId || !this.peerId || !this.client.socket.connected) {
      return;
    }
    this.client.raw('signal', { callId: this.callId, to: this.peerId, data });
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}

async function startCluster(adapter: string, env: Record<string, string>) {
  const redis = await RedisProcess.start();
  const common = { DUET_REDIS_URL: redis.url, DUET_REDIS_ADAPTER: adapter, DUET_ROOM_CAPACITY: '4', ...env };
  const [a, b] = await Promise.all([DuetNode.start('node-a', common), DuetNode.start('node-b', common)]);
  return { redis, a, b };
}

describe.each(['sharded', 'streams'] as const)(
  'failures with Redis between two Duet processes (%s adapter)',
  (adapter) => {
    const cleanups: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        await cleanup();
      }
    });

    /** Two nodes over Redis, Alice on one and Bob on the other in a call, Alice signalling every 50 ms. */
    async function callWithTraffic(adapterName: typeof adapter, roomPrefix: string) {
      const { redis, a, b } = await startCluster(adapterName, { DUET_RECONNECT_GRACE_MS: '5000' });
      cleanups.push(
        () => redis.stop(),
        () => a.stop(),
        () => b.stop(),
      );
      const room = `${roomPrefix}-${randomBytes(3).toString('hex')}`;
      const alice = new Agent(a.url, room, 'Alice', 'k'.repeat(32));
      const bob = new Agent(b.url, room, 'Bob', 'k'.repeat(32));
      cleanups.push(
        () => alice.close(),
        () => bob.close(),
      );
      await alice.join();
      await bob.join();
      const invite = await alice.client.request('call:invite', { to: bob.session.self.id });
      if (!invite.ok) {
        throw new Error(invite.error.code);
      }
      await bob.client.request('call:accept', { callId: invite.callId });
      await until(() => (alice.peerId && bob.peerId ? true : undefined), 5000, 'the call');
      let n = 0;
      const traffic = setInterval(() => alice.signal(candidate(n++)), 50);
      cleanups.push(() => clearInterval(traffic));
      await until(() => (bob.received.length > 5 ? true : undefined), 5000, 'relay before the trouble');
      return { redis, a, b, alice, bob, room };
    }

    it('ends the calls of users on a node killed with SIGKILL, resumes those who moved, and takes the node back', async () => {
      const { redis, a, b } = await startCluster(adapter, { DUET_RECONNECT_GRACE_MS: '5000' });
      cleanups.push(
        () => redis.stop(),
        () => a.stop(),
        () => b.stop(),
      );
      const clients: TestClient[] = [];
      cleanups.push(() => clients.forEach((c) => c.close()));
      const call = async (room: string, caller: DuetNode, callee: DuetNode) => {
        const x = await joinOn(caller.url, room, 'Caller');
        const y = await joinOn(callee.url, room, 'Callee');
        clients.push(x.client, y.client);
        const invite = await x.client.request('call:invite', { to: y.session.self.id });
        if (!invite.ok) {
          throw new Error(invite.error.code);
        }
        await y.client.request('call:accept', { callId: invite.callId });
        await x.client.next('call:accepted');
        return { x, y, callId: invite.callId };
      };
      // Room one: Alice (node A) calls Bob (node B); Bob's client keeps retrying node B.
      const one = await call(`one-${randomBytes(3).toString('hex')}`, a, b);
      // Room two: Erin (node A) calls Dan (node B); Dan's client moves to node A when B dies.
      const two = await call(`two-${randomBytes(3).toString('hex')}`, a, b);
      one.y.client.socket.io.opts.reconnection = true;
      one.y.client.socket.io.reconnection(true);
      one.y.client.socket.io.reconnectionDelay(200);
      one.y.client.socket.io.reconnectionDelayMax(500);

      const killedAt = Date.now();
      await b.kill();
      const dan = await connectTo(a.url);
      clients.push(dan);
      const resumed = await dan.request('session:resume', { sessionToken: two.y.session.sessionToken });
      expect(resumed).toMatchObject({
        ok: true,
        self: { id: two.y.session.self.id },
        call: { state: 'active' },
      });

      const ended = await one.x.client.next('call:ended', undefined, 15_000);
      const peerLeftAfterMs = Date.now() - killedAt;
      expect(ended).toEqual({ callId: one.callId, reason: 'peer_left', by: one.y.session.self.id });
      expect(await one.x.client.next('presence', (p) => p.change === 'left', 2000)).toMatchObject({
        user: { id: one.y.session.self.id },
      });
      expect(peerLeftAfterMs).toBeLessThan(15_000);
      console.log(`[failover ${adapter}] peer_left ${peerLeftAfterMs} ms after SIGKILL of the node`);

      // Dan, who moved in time, kept his seat and his call: relay works through node A.
      expect(two.x.client.pending('call:ended')).toEqual([]);
      await two.x.client.request('signal', {
        callId: two.callId,
        to: two.y.session.self.id,
        data: candidate(1),
      });
      expect(await dan.next('signal')).toMatchObject({ data: candidate(1) });

      // Node B comes back on its port; Bob's client reconnects to it by itself. His seat is gone
      // (the grace ran out), so he joins again, as the app does, and is seen by Alice.
      await b.restart();
      await until(() => (one.y.client.socket.connected ? true : undefined), 10_000, "Bob's reconnection");
      expect(
        await one.y.client.request('session:resume', { sessionToken: one.y.session.sessionToken }),
      ).toMatchObject({ ok: false, error: { code: 'session_expired' } });
      const again = await one.y.client.request('room:join', { room: one.y.session.room.name, name: 'Bob' });
      if (!again.ok) {
        throw new Error(again.error.code);
      }
      expect(
        await one.x.client.next('presence', (p) => p.change === 'joined' && p.user.name === 'Bob'),
      ).toMatchObject({
        user: { id: again.self.id, name: 'Bob' },
      });
      const invite = await one.x.client.request('call:invite', { to: again.self.id });
      expect(invite).toMatchObject({ ok: true });
      expect(await one.y.client.next('call:incoming')).toMatchObject({ from: { id: one.x.session.self.id } });
      expect(a.unexpectedExit ?? b.unexpectedExit).toBeNull();
    }, 60_000);

    it('rides out a frozen Redis (SIGSTOP 10 s, then SIGCONT): not ready meanwhile, then the call goes on', async () => {
      const { redis, a, b, alice, bob, room } = await callWithTraffic(adapter, 'frozen');

      redis.pause();
      const pausedAt = Date.now();
      await until(async () => ((await a.readyz()) === 503 ? true : undefined), 8000, 'node A not ready');
      await until(async () => ((await b.readyz()) === 503 ? true : undefined), 8000, 'node B not ready');
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - pausedAt))));
      redis.resume();
      const resumedAt = Date.now();
      await until(() => (bob.received.some((r) => r.at > resumedAt) ? true : undefined), 5000, 'relay after');
      console.log(
        `[failover ${adapter}] relay back ${bob.received.find((r) => r.at > resumedAt)!.at - resumedAt} ms after SIGCONT`,
      );
      await until(async () => ((await a.readyz()) === 200 ? true : undefined), 5000, 'node A ready');
      await until(async () => ((await b.readyz()) === 200 ? true : undefined), 5000, 'node B ready');

      // Nobody was dropped: same sessions, no presence changes, the call still active, and the
      // grace of no one runs out afterwards.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect(alice.rejoins + bob.rejoins).toBe(0);
      expect(alice.client.pending('call:ended')).toEqual([]);
      expect(
        alice.client.pending('presence').filter((p) => (p as { change: string }).change === 'left'),
      ).toEqual([]);
      const check = await joinOn(b.url, room, 'Carol');
      cleanups.push(() => check.client.close());
      expect(check.session.room.users.map((u) => [u.name, u.state])).toEqual([
        ['Alice', 'in-call'],
        ['Bob', 'in-call'],
        ['Carol', 'free'],
      ]);
      expect(a.unexpectedExit ?? b.unexpectedExit).toBeNull();
    }, 60_000);

    it('survives Redis frozen 10 s and then killed and started empty: relay within 5 s, presence exact', async () => {
      const { redis, a, b, alice, bob, room } = await callWithTraffic(adapter, 'restart');

      redis.pause();
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      await redis.kill();
      await redis.restart();
      const backAt = Date.now();
      await until(
        () => (bob.received.some((r) => r.at > backAt) ? true : undefined),
        5000,
        'relay after',
      ).catch((error: unknown) => {
        console.log(a.output().slice(-6000), '\n----\n', b.output().slice(-6000));
        throw error;
      });
      const relayBackMs = bob.received.find((r) => r.at > backAt)!.at - backAt;
      console.log(`[failover ${adapter}] relay back ${relayBackMs} ms after Redis restarted empty`);
      expect(relayBackMs).toBeLessThan(5000);
      // Redis forgot everyone: both came back as new users of the same call.
      expect(alice.rejoins).toBe(1);
      expect(bob.rejoins).toBe(1);

      // Presence afterwards: each person once, nobody stuck, also after every grace has run out.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const check = await joinOn(a.url, room, 'Carol');
      cleanups.push(() => check.client.close());
      // They came back in either order (each client waits its own random pause).
      expect(check.session.room.users.map((u) => [u.name, u.state]).sort()).toEqual([
        ['Alice', 'in-call'],
        ['Bob', 'in-call'],
        ['Carol', 'free'],
      ]);
      expect(metricValue(await b.metrics(), 'duet_users')).toBe(3);
      expect(metricValue(await a.metrics(), 'duet_calls', { state: 'active' })).toBe(1);
      expect(await a.readyz()).toBe(200);
      expect(a.unexpectedExit ?? b.unexpectedExit).toBeNull();
      expect(a.output() + b.output()).not.toMatch(/Unhandled|uncaught/i);
    }, 90_000);
  },
);
