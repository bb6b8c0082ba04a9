import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckOf, RequestOf } from '@duet/protocol';
import { startDuetServer, type DuetServer, type ServerConfigInput } from '@duet/server';
import { RedisProcess } from './cluster-support.js';
import { connectClient, type TestClient } from './support.js';

/**
 * Private rooms, the lobby, the lock and room passwords, through real servers and real clients, on
 * each store. With Redis there are two servers sharing it, and each test spreads its clients over
 * both, so every decision is made by the shared store and every answer crosses between servers.
 */

const KNOCK_TIMEOUT_MS = 1200;
const ATTEMPTS_PER_IP = 3;
const ATTEMPTS_PER_ROOM = 5;

/** Every line the servers log, to prove no secret or password reaches a log. */
const logLines: string[] = [];

const CONFIG: ServerConfigInput = {
  host: '127.0.0.1',
  port: 0,
  logLevel: 'debug',
  shutdownTimeoutMs: 1000,
  roomCapacity: 3,
  knockTimeoutMs: KNOCK_TIMEOUT_MS,
  passwordAttemptsPerIp: ATTEMPTS_PER_IP,
  passwordAttemptsPerRoom: ATTEMPTS_PER_ROOM,
  // Lets a test speak from several client addresses (X-Forwarded-For) for the attempt limits.
  trustProxy: true,
  maxConnectionsPerIp: 1000,
  // The timing test sends hundreds of joins from one socket: the event rate limit must not answer them.
  eventsPerSecond: 10_000,
  eventBurst: 100_000,
};

const newSecret = (): string => randomBytes(16).toString('base64url');
const newRoom = (): string => `private-${randomBytes(4).toString('hex')}`;
const newAddress = (): string =>
  `198.51.100.${1 + Math.floor(Math.random() * 250)}-${randomBytes(3).toString('hex')}`;

describe.each(['memory', 'Redis'] as const)('private rooms (%s store)', (kind) => {
  let redisProcess: RedisProcess | undefined;
  let servers: DuetServer[] = [];
  const clients: TestClient[] = [];
  let next = 0;

  beforeAll(async () => {
    if (kind === 'Redis') {
      redisProcess = await RedisProcess.start();
      const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
      servers = await Promise.all(
        ['node-a', 'node-b'].map((nodeName) =>
          startDuetServer({ ...CONFIG, redisUrl: redisProcess!.url, nodeName }, { logger }),
        ),
      );
    } else {
      const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
      servers = [await startDuetServer(CONFIG, { logger })];
    }
  }, 30_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) {
      client.close();
    }
    await Promise.all(servers.map((server) => server.close()));
    await redisProcess?.stop();
  }, 30_000);

  /** A client on the next server in turn (with Redis, consecutive clients are on different servers). */
  async function client(address = newAddress()): Promise<TestClient> {
    const server = servers[next++ % servers.length]!;
    const c = await connectClient(server, { headers: { 'x-forwarded-for': address } });
    clients.push(c);
    return c;
  }

  async function joined(request: RequestOf<'room:join'>, address?: string) {
    const c = await client(address);
    const session = await c.request('room:join', request);
    if (!session.ok) {
      throw new Error(`join failed: ${session.error.code}`);
    }
    return { client: c, session, id: session.self.id };
  }

  /** A private room made by Ann (with `password`, if given), and its link's parts. */
  async function privateRoom(password?: string) {
    const room = newRoom();
    const secret = newSecret();
    const ann = await joined({
      room,
      name: 'Ann',
      secret,
      create: true,
      ...(password === undefined ? {} : { password }),
    });
    return { room, secret, ann };
  }

  /** A room that asks newcomers to knock, with Ann and Bob in it. */
  async function lobbyRoom() {
    const { room, secret, ann } = await privateRoom();
    const bob = await joined({ room, name: 'Bob', secret });
    expect(await ann.client.request('room:settings', { askToJoin: true })).toEqual({
      ok: true,
      settings: { access: 'private', askToJoin: true, locked: false, password: false },
    });
    // Both members see it, including the one who changed it.
    for (const member of [ann, bob]) {
      expect(await member.client.next('room:settings')).toEqual({
        room,
        settings: { access: 'private', askToJoin: true, locked: false, password: false },
        by: ann.id,
      });
    }
    return { room, secret, ann, bob };
  }

  async function knock(room: string, secret: string, name: string) {
    const c = await client();
    const ack = await c.request('room:knock', { room, name, secret });
    if (!ack.ok) {
      throw new Error(`knock failed: ${ack.error.code}`);
    }
    return { client: c, knockId: ack.knockId, timeoutMs: ack.timeoutMs };
  }

  const notFound = {
    ok: false,
    error: {
      code: 'room_not_found',
      message: 'There is no room at this link: it has ended, or the link is incomplete.',
    },
  };

  it('lets the link (name and secret) into the room, and labels it private', async () => {
    const { room, secret, ann } = await privateRoom();
    expect(ann.session.room).toEqual({
      name: room,
      capacity: 3,
      users: [ann.session.self],
      settings: { access: 'private', askToJoin: false, locked: false, password: false },
      knocks: [],
    });
    const bob = await joined({ room, name: 'Bob', secret });
    expect(bob.session.room.users.map((u) => u.name)).toEqual(['Ann', 'Bob']);
    expect(await ann.client.next('presence')).toEqual({ room, change: 'joined', user: bob.session.self });
    // The link's holder can ring the others: a private room is an ordinary room inside.
    const invite = await bob.client.request('call:invite', { to: ann.id });
    expect(invite).toMatchObject({ ok: true });
  });

  it('answers a wrong or missing secret exactly as a room that does not exist', async () => {
    const { room, secret, ann } = await privateRoom();
    const ended = await privateRoom();
    expect(await ended.ann.client.request('room:leave', {})).toEqual({ ok: true });
    const outsider = await client();
    const answers = {
      wrongSecret: await outsider.request('room:join', { room, name: 'Eve', secret: newSecret() }),
      missingSecret: await outsider.request('room:join', { room, name: 'Eve' }),
      neverExisted: await outsider.request('room:join', {
        room: newRoom(),
        name: 'Eve',
        secret: newSecret(),
      }),
      endedRoom: await outsider.request('room:join', { room: ended.room, name: 'Eve', secret: ended.secret }),
      knockWrongSecret: await outsider.request('room:knock', { room, name: 'Eve', secret: newSecret() }),
      knockMissingSecret: await outsider.request('room:knock', { room, name: 'Eve' }),
      knockNeverExisted: await outsider.request('room:knock', {
        room: newRoom(),
        name: 'Eve',
        secret: newSecret(),
      }),
    };
    for (const [what, answer] of Object.entries(answers)) {
      expect(answer, what).toEqual(notFound);
    }
    // Nor can the outsider ring a member: ringing them is refused like ringing an id nobody has.
    expect(await outsider.request('call:invite', { to: ann.id })).toEqual(
      await outsider.request('call:invite', { to: randomBytes(16).toString('base64url') }),
    );
    // The members saw nothing of it.
    expect(ann.client.pending('presence')).toEqual([]);
    expect(ann.client.pending('lobby:knock')).toEqual([]);
    // And the real secret still works.
    expect(await outsider.request('room:join', { room, name: 'Eve', secret })).toMatchObject({ ok: true });
  });

  it('takes as long to refuse a wrong secret as a room that does not exist (medians, same run)', async () => {
    const { room } = await privateRoom();
    const prober = await client();
    const rounds = 150;
    const times = { wrongSecret: [] as number[], noRoom: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      // Interleaved, so both see the same machine load.
      for (const which of i % 2 === 0
        ? (['wrongSecret', 'noRoom'] as const)
        : (['noRoom', 'wrongSecret'] as const)) {
        const target = which === 'wrongSecret' ? room : newRoom();
        const started = process.hrtime.bigint();
        const answer = await prober.request('room:join', { room: target, name: 'Eve', secret: newSecret() });
        times[which].push(Number(process.hrtime.bigint() - started) / 1e6);
        expect(answer).toEqual(notFound);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const wrong = median(times.wrongSecret);
    const none = median(times.noRoom);
    // Each round measures both back to back, so the median of the per-round ratios is immune to the
    // machine's load drifting over the run (other test files run alongside).
    const ratio = median(times.wrongSecret.map((t, i) => t / times.noRoom[i]!));
    console.log(
      `[${kind}] refusal time, median of ${rounds}: wrong secret ${wrong.toFixed(3)} ms, ` +
        `no such room ${none.toFixed(3)} ms (median per-round ratio ${ratio.toFixed(2)})`,
    );
    // The same code path either way; the bound only catches a path that does more work for a room
    // that exists (a slow hash, an extra round trip), not scheduling noise.
    expect(ratio).toBeGreaterThan(0.67);
    expect(ratio).toBeLessThan(1.5);
  });

  it('keeps the secret and the password out of logs, /metrics and the store', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const { room, secret } = await privateRoom(password);
    await joined({ room, name: 'Bob', secret, password });
    for (const server of servers) {
      const metrics = await (await fetch(`${server.url()}/metrics`)).text();
      expect(metrics).not.toContain(secret);
      expect(metrics).not.toContain(room);
    }
    const logs = logLines.join('\n');
    expect(logs).toContain(room); // the name is not secret, and the logs did record this room
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(password);
    if (redisProcess) {
      const redis = new Redis(redisProcess.url);
      try {
        const keys = await redis.keys('*');
        let everything = keys.join('\n');
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'hash') {
            everything += JSON.stringify(await redis.hgetall(key));
          } else if (type === 'string') {
            everything += (await redis.get(key)) ?? '';
          }
        }
        expect(everything).toContain(room);
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(password);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('refuses plain names unless the operator allows open rooms, and labels those open', async () => {
    const outsider = await client();
    expect(await outsider.request('room:join', { room: newRoom(), name: 'Ann', create: true })).toEqual(
      notFound,
    );
    const open = await startDuetServer({ ...CONFIG, logLevel: 'silent', openRooms: true });
    try {
      const c = await connectClient(open);
      clients.push(c);
      expect(await c.request('room:join', { room: 'plain', name: 'Ann' })).toMatchObject({
        ok: true,
        room: {
          name: 'plain',
          settings: { access: 'open', askToJoin: false, locked: false, password: false },
        },
      });
    } finally {
      await open.close();
    }
  });

  it('lets a knock in when a member admits it, with a ticket that works once', async () => {
    const { room, secret, ann, bob } = await lobbyRoom();
    const cara = await client();
    expect(await cara.request('room:join', { room, name: 'Cara', secret })).toMatchObject({
      ok: false,
      error: { code: 'knock_required' },
    });
    const knocked = await cara.request('room:knock', { room, name: 'Cara', secret });
    expect(knocked).toEqual({
      ok: true,
      knockId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      timeoutMs: KNOCK_TIMEOUT_MS,
    });
    if (!knocked.ok) {
      return;
    }
    for (const member of [ann, bob]) {
      expect(await member.client.next('lobby:knock')).toEqual({ knockId: knocked.knockId, name: 'Cara' });
    }
    expect(await bob.client.request('lobby:admit', { knockId: knocked.knockId })).toEqual({ ok: true });
    const admitted = await cara.next('lobby:admitted');
    expect(admitted).toEqual({
      knockId: knocked.knockId,
      ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    for (const member of [ann, bob]) {
      expect(await member.client.next('lobby:knock-ended')).toEqual({
        knockId: knocked.knockId,
        outcome: 'admitted',
      });
    }
    // Someone else holding the same ticket and link gets in first: the ticket is then spent.
    const joinedCara = await cara.request('room:join', {
      room,
      name: 'Cara',
      secret,
      ticket: admitted.ticket,
    });
    expect(joinedCara).toMatchObject({
      ok: true,
      room: { users: [{ name: 'Ann' }, { name: 'Bob' }, { name: 'Cara' }] },
    });
    const copycat = await client();
    expect(
      await copycat.request('room:join', { room, name: 'Dan', secret, ticket: admitted.ticket }),
    ).toMatchObject({
      ok: false,
      error: { code: 'knock_required' },
    });
    // A ticket is for its own room only.
    const other = await privateRoom();
    expect(
      await copycat.request('room:join', {
        room: other.room,
        name: 'Dan',
        secret: other.secret,
        ticket: admitted.ticket,
      }),
    ).toMatchObject({ ok: true });
  });

  it('tells a denied knocker, and the members drop the knock', async () => {
    const { room, secret, ann, bob } = await lobbyRoom();
    const cara = await knock(room, secret, 'Cara');
    await ann.client.next('lobby:knock');
    expect(await ann.client.request('lobby:deny', { knockId: cara.knockId })).toEqual({ ok: true });
    expect(await cara.client.next('lobby:refused')).toEqual({ knockId: cara.knockId, code: 'knock_denied' });
    expect(await bob.client.next('lobby:knock-ended')).toEqual({ knockId: cara.knockId, outcome: 'denied' });
    // It is over: a second answer finds nothing.
    expect(await bob.client.request('lobby:admit', { knockId: cara.knockId })).toMatchObject({
      ok: false,
      error: { code: 'knock_not_found' },
    });
  });

  it('refuses a knock nobody answers after the knock timeout', async () => {
    const { room, secret, ann } = await lobbyRoom();
    const started = Date.now();
    const cara = await knock(room, secret, 'Cara');
    expect(await cara.client.next('lobby:refused', undefined, KNOCK_TIMEOUT_MS + 3000)).toEqual({
      knockId: cara.knockId,
      code: 'knock_timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(KNOCK_TIMEOUT_MS - 50);
    expect(await ann.client.next('lobby:knock-ended', undefined, 3000)).toEqual({
      knockId: cara.knockId,
      outcome: 'timeout',
    });
  });

  it('tells the knocker when the last member leaves, and the room is then gone', async () => {
    const { room, secret, ann, bob } = await lobbyRoom();
    const cara = await knock(room, secret, 'Cara');
    expect(await ann.client.request('room:leave', {})).toEqual({ ok: true });
    expect(cara.client.pending('lobby:refused')).toEqual([]);
    bob.client.close(); // a deliberate disconnect: no grace
    expect(await cara.client.next('lobby:refused')).toEqual({ knockId: cara.knockId, code: 'room_closed' });
    expect(await cara.client.request('room:join', { room, name: 'Cara', secret })).toEqual(notFound);
  });

  it('shows two concurrent knocks to every member, and hands each to exactly one answer', async () => {
    const { room, secret, ann, bob } = await lobbyRoom();
    const [cara, dan] = await Promise.all([knock(room, secret, 'Cara'), knock(room, secret, 'Dan')]);
    const seen = [await ann.client.next('lobby:knock'), await ann.client.next('lobby:knock')];
    expect(seen.map((k) => k.knockId).sort()).toEqual([cara.knockId, dan.knockId].sort());
    // Dan is let in, and his snapshot lists Cara, still waiting.
    const listed = await ann.client.request('lobby:admit', { knockId: dan.knockId });
    expect(listed).toEqual({ ok: true });
    const danTicket = await dan.client.next('lobby:admitted');
    const danJoined = await dan.client.request('room:join', {
      room,
      name: 'Dan',
      secret,
      ticket: danTicket.ticket,
    });
    expect(danJoined).toMatchObject({
      ok: true,
      room: { knocks: [{ knockId: cara.knockId, name: 'Cara' }] },
    });
    // Two members answer Cara at once, one admits and one denies: exactly one answer wins.
    const [admit, deny] = await Promise.all([
      ann.client.request('lobby:admit', { knockId: cara.knockId }),
      bob.client.request('lobby:deny', { knockId: cara.knockId }),
    ]);
    const winners = [admit, deny].filter((answer) => answer.ok);
    expect(winners).toHaveLength(1);
    expect([admit, deny].filter((answer) => !answer.ok)).toEqual([
      { ok: false, error: { code: 'knock_not_found', message: 'Nobody is waiting with that knock.' } },
    ]);
    if (admit.ok) {
      expect(await cara.client.next('lobby:admitted')).toMatchObject({ knockId: cara.knockId });
    } else {
      expect(await cara.client.next('lobby:refused')).toEqual({
        knockId: cara.knockId,
        code: 'knock_denied',
      });
    }
  });

  it('withdraws a knock that is cancelled or whose connection closes', async () => {
    const { room, secret, ann } = await lobbyRoom();
    const cara = await knock(room, secret, 'Cara');
    expect(await cara.client.request('lobby:cancel', {})).toEqual({ ok: true });
    expect(await ann.client.next('lobby:knock-ended', (e) => e.knockId === cara.knockId)).toEqual({
      knockId: cara.knockId,
      outcome: 'cancelled',
    });
    expect(await cara.client.request('lobby:cancel', {})).toMatchObject({
      ok: false,
      error: { code: 'knock_not_found' },
    });
    const dan = await knock(room, secret, 'Dan');
    dan.client.close();
    expect(await ann.client.next('lobby:knock-ended', (e) => e.knockId === dan.knockId)).toEqual({
      knockId: dan.knockId,
      outcome: 'cancelled',
    });
  });

  it('lets only members answer knocks and change settings, each in their own room', async () => {
    const { room, secret } = await lobbyRoom();
    const cara = await knock(room, secret, 'Cara');
    const stranger = await client();
    expect(await stranger.request('lobby:admit', { knockId: cara.knockId })).toMatchObject({
      ok: false,
      error: { code: 'not_in_room' },
    });
    expect(await stranger.request('room:settings', { locked: true })).toMatchObject({
      ok: false,
      error: { code: 'not_in_room' },
    });
    const elsewhere = await privateRoom();
    expect(await elsewhere.ann.client.request('lobby:admit', { knockId: cara.knockId })).toMatchObject({
      ok: false,
      error: { code: 'knock_not_found' },
    });
    // A room that lets people in needs no knock.
    expect(
      await stranger.request('room:knock', { room: elsewhere.room, name: 'S', secret: elsewhere.secret }),
    ).toMatchObject({
      ok: false,
      error: { code: 'knock_not_needed' },
    });
  });

  it('keeps everyone out of a locked room, even with the link, until a member unlocks it', async () => {
    const { room, secret, ann } = await privateRoom();
    const bob = await joined({ room, name: 'Bob', secret });
    expect(await bob.client.request('room:settings', { locked: true })).toMatchObject({
      ok: true,
      settings: { locked: true },
    });
    expect(await ann.client.next('room:settings')).toEqual({
      room,
      settings: { access: 'private', askToJoin: false, locked: true, password: false },
      by: bob.id,
    });
    const cara = await client();
    expect(await cara.request('room:join', { room, name: 'Cara', secret })).toMatchObject({
      ok: false,
      error: { code: 'room_locked' },
    });
    // Asking to join does not get round it either.
    expect(await ann.client.request('room:settings', { askToJoin: true })).toMatchObject({ ok: true });
    expect(await cara.request('room:knock', { room, name: 'Cara', secret })).toMatchObject({
      ok: false,
      error: { code: 'room_locked' },
    });
    expect(await ann.client.request('room:settings', { locked: false, askToJoin: false })).toMatchObject({
      ok: true,
      settings: { locked: false, askToJoin: false },
    });
    expect(await cara.request('room:join', { room, name: 'Cara', secret })).toMatchObject({ ok: true });
  });

  it('asks for the password the first member set, and refuses a wrong one', async () => {
    const { room, secret, ann } = await privateRoom('correct horse');
    expect(ann.session.room.settings).toEqual({
      access: 'private',
      askToJoin: false,
      locked: false,
      password: true,
    });
    const bob = await client();
    expect(await bob.request('room:join', { room, name: 'Bob', secret })).toEqual({
      ok: false,
      error: { code: 'password_required', message: 'This room has a password.' },
    });
    expect(await bob.request('room:join', { room, name: 'Bob', secret, password: 'battery staple' })).toEqual(
      {
        ok: false,
        error: { code: 'wrong_password', message: 'That password is not right.' },
      },
    );
    expect(
      await bob.request('room:join', { room, name: 'Bob', secret, password: 'correct horse' }),
    ).toMatchObject({
      ok: true,
    });
    // A later joiner's password does not replace the room's.
    const cara = await client();
    expect(
      await cara.request('room:join', { room, name: 'Cara', secret, password: 'mine', create: true }),
    ).toMatchObject({
      ok: false,
      error: { code: 'wrong_password' },
    });
    // The password guards the knock too.
    expect(await ann.client.request('room:settings', { askToJoin: true })).toMatchObject({ ok: true });
    expect(await cara.request('room:knock', { room, name: 'Cara', secret })).toMatchObject({
      ok: false,
      error: { code: 'password_required' },
    });
    expect(
      await cara.request('room:knock', { room, name: 'Cara', secret, password: 'correct horse' }),
    ).toMatchObject({
      ok: true,
    });
  });

  it('limits password attempts per client address, with a retry-after, even for the right one', async () => {
    const { room, secret } = await privateRoom('sesame');
    const address = newAddress();
    const guesser = await client(address);
    for (let i = 0; i < ATTEMPTS_PER_IP; i++) {
      expect(
        await guesser.request('room:join', { room, name: 'G', secret, password: `guess-${i}` }),
      ).toMatchObject({
        ok: false,
        error: { code: 'wrong_password' },
      });
    }
    // From the same address on another connection (and, with Redis, the other server).
    const again = await client(address);
    const limited = await again.request('room:join', { room, name: 'G', secret, password: 'sesame' });
    expect(limited).toMatchObject({ ok: false, error: { code: 'too_many_attempts' } });
    if (!limited.ok) {
      expect(limited.error.retryAfterMs).toBeGreaterThan(0);
      expect(limited.error.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    // Another address is not held back by this one's guesses.
    expect(
      await (await client()).request('room:join', { room, name: 'H', secret, password: 'sesame' }),
    ).toMatchObject({
      ok: true,
    });
  });

  it('limits password attempts per room, from all addresses together', async () => {
    const { room, secret } = await privateRoom('sesame');
    const answers: Array<AckOf<'room:join'>> = [];
    // Each guess from a fresh address: only the room's own limit can stop them.
    for (let i = 0; i < ATTEMPTS_PER_ROOM + 1; i++) {
      answers.push(
        await (await client()).request('room:join', { room, name: 'G', secret, password: `guess-${i}` }),
      );
    }
    expect(answers.slice(0, ATTEMPTS_PER_ROOM).map((a) => !a.ok && a.error.code)).toEqual(
      Array(ATTEMPTS_PER_ROOM).fill('wrong_password'),
    );
    expect(answers.at(-1)).toMatchObject({
      ok: false,
      error: { code: 'too_many_attempts', retryAfterMs: expect.any(Number) },
    });
    // Another room is not affected.
    const other = await privateRoom('sesame');
    expect(
      await (
        await client()
      ).request('room:join', { room: other.room, name: 'H', secret: other.secret, password: 'sesame' }),
    ).toMatchObject({ ok: true });
  });
});
