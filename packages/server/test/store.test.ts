import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory.js';
import { RedisStore } from '../src/store/redis.js';
import type { RoomEntry, Store, StoredUser } from '../src/store/types.js';
import { RedisProcess } from './cluster-support.js';

let redisProcess: RedisProcess;
let redis: Redis;

beforeAll(async () => {
  redisProcess = await RedisProcess.start();
  redis = new Redis(redisProcess.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis.disconnect();
  await redisProcess.stop();
});

const user = (id: string, socketId: string): StoredUser => ({
  id,
  name: id,
  room: `room-${id}`,
  sessionToken: `token-${id}`,
  socketId,
  connected: true,
  joinedAt: Date.now(),
});

/** A join that makes the room if needed, as an open room's does. */
const OPEN: RoomEntry = {
  create: { access: 'open', askToJoin: false, locked: false, passwordHash: '' },
  passwordVerified: '',
};

describe.each([
  ['memory', (): Store => new MemoryStore()],
  ['Redis', (): Store => new RedisStore(redis, 'node-a', `duet-test-${Math.random()}:`)],
])('the %s store', (_kind, makeStore) => {
  // The race behind it: a user resumes on node B while node A has not yet handled the old socket's
  // disconnect. A's late "disconnected" must not overwrite B's resume (its grace timer would end the call).
  it('ignores a late disconnect of a socket that a resume has replaced', async () => {
    const store = makeStore();
    await store.addUser(user('u1', 'old-socket'), 2, OPEN);
    await store.takeOverConnection('u1', 'new-socket');
    expect(await store.setConnected('u1', 'old-socket', false)).toBe(false);
    expect(await store.getUser('u1')).toMatchObject({ socketId: 'new-socket', connected: true });
  });

  it('marks the current socket disconnected and connected again', async () => {
    const store = makeStore();
    await store.addUser(user('u2', 'socket'), 2, OPEN);
    expect(await store.setConnected('u2', 'socket', false)).toBe(true);
    expect(await store.getUser('u2')).toMatchObject({ socketId: 'socket', connected: false });
    expect(await store.setConnected('u2', 'socket', true)).toBe(true);
    expect(await store.getUser('u2')).toMatchObject({ connected: true });
    expect(await store.setConnected('nobody', 'socket', false)).toBe(false);
  });
});
