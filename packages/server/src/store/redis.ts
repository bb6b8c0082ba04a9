import type { Redis } from 'ioredis';
import type { CallMedia } from '@duet/protocol';
import { LuaScript } from './lua.js';
import type {
  CreateCallOutcome,
  JoinOutcome,
  RestoreClaim,
  Store,
  StoreCounts,
  StoredCall,
  StoredUser,
} from './types.js';

/*
 * Keys (P = prefix, `duet:` by default):
 *
 *   P u:<userId>        hash   id name room token socket connected(0|1) joinedAt node
 *   P tok:<token>       string userId
 *   P r:<room>          zset   userId by join sequence (P seq)
 *   P rooms, P users    sets   non-empty room names, user ids (for the gauges)
 *   P nu:<nodeId>       set    users whose current socket is on that node (the sweeper's index)
 *   P c:<callId>        hash   id room caller callee state media(JSON) createdAt
 *   P uc:<userId>       string callId of the user's call
 *   P calls:<state>     sets   call ids by state (for the gauges)
 *   P claim:<callId>    string JSON RestoreClaim, expires (PX)
 *
 * Every method that decides something under contention is one Lua script; plain reads are plain
 * commands. Lua returns a hash as a flat [field, value, ...] list, decoded below.
 */

const USER_FIELDS = `
local function userKey(P, id) return P .. 'u:' .. id end
`;

const ADD_USER = new LuaScript(`${USER_FIELDS}
local P, capacity = ARGV[1], tonumber(ARGV[2])
local id, name, room, token, socket, connected, joinedAt, node =
  ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local roomKey = P .. 'r:' .. room
if redis.call('EXISTS', P .. 'tok:' .. token) == 1 then return -2 end
if redis.call('ZCARD', roomKey) >= capacity then return 0 end
if redis.call('EXISTS', userKey(P, id)) == 1 then return -1 end
redis.call('HSET', userKey(P, id), 'id', id, 'name', name, 'room', room, 'token', token,
  'socket', socket, 'connected', connected, 'joinedAt', joinedAt, 'node', node)
redis.call('SET', P .. 'tok:' .. token, id)
redis.call('ZADD', roomKey, redis.call('INCR', P .. 'seq'), id)
redis.call('SADD', P .. 'rooms', room)
redis.call('SADD', P .. 'users', id)
redis.call('SADD', P .. 'nu:' .. node, id)
return 1
`);

const REMOVE_USER = new LuaScript(`${USER_FIELDS}
local P, id = ARGV[1], ARGV[2]
local fields = redis.call('HGETALL', userKey(P, id))
if #fields == 0 then return false end
local u = {}
for i = 1, #fields, 2 do u[fields[i]] = fields[i + 1] end
redis.call('DEL', userKey(P, id), P .. 'tok:' .. u.token)
local roomKey = P .. 'r:' .. u.room
redis.call('ZREM', roomKey, id)
if redis.call('ZCARD', roomKey) == 0 then redis.call('SREM', P .. 'rooms', u.room) end
redis.call('SREM', P .. 'users', id)
redis.call('SREM', P .. 'nu:' .. u.node, id)
return fields
`);

const USER_BY_TOKEN = new LuaScript(`${USER_FIELDS}
local id = redis.call('GET', ARGV[1] .. 'tok:' .. ARGV[2])
if not id then return false end
return redis.call('HGETALL', userKey(ARGV[1], id))
`);

const LIST_ROOM = new LuaScript(`${USER_FIELDS}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', ARGV[1] .. 'r:' .. ARGV[2], 0, -1)) do
  local fields = redis.call('HGETALL', userKey(ARGV[1], id))
  if #fields > 0 then table.insert(out, fields) end
end
return out
`);

/**
 * Connected: the user is bound to this node (moved between the nodes' indexes). With \`onlyIfCurrent\`
 * nothing changes unless the socket still speaks for the user.
 */
const UPDATE_CONNECTION = new LuaScript(`${USER_FIELDS}
local P, id, socket, connected, node, onlyIfCurrent = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = userKey(P, id)
if redis.call('EXISTS', key) == 0 then return 0 end
if onlyIfCurrent == '1' and redis.call('HGET', key, 'socket') ~= socket then return 0 end
if connected == '1' then
  local old = redis.call('HGET', key, 'node')
  if old ~= node then
    redis.call('SREM', P .. 'nu:' .. old, id)
    redis.call('SADD', P .. 'nu:' .. node, id)
    redis.call('HSET', key, 'node', node)
  end
end
redis.call('HSET', key, 'socket', socket, 'connected', connected)
return 1
`);

const CREATE_CALL = new LuaScript(`
local P, id, room, caller, callee, state, media, createdAt =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if redis.call('EXISTS', P .. 'uc:' .. caller) == 1 then return 'caller_busy' end
if redis.call('EXISTS', P .. 'uc:' .. callee) == 1 then return 'callee_busy' end
if redis.call('EXISTS', P .. 'c:' .. id) == 1 then return 'caller_busy' end
redis.call('HSET', P .. 'c:' .. id, 'id', id, 'room', room, 'caller', caller, 'callee', callee,
  'state', state, 'media', media, 'createdAt', createdAt)
redis.call('SET', P .. 'uc:' .. caller, id)
redis.call('SET', P .. 'uc:' .. callee, id)
redis.call('SADD', P .. 'calls:' .. state, id)
return 'ok'
`);

const ACTIVATE_CALL = new LuaScript(`
local P, id = ARGV[1], ARGV[2]
local key = P .. 'c:' .. id
if redis.call('HGET', key, 'state') ~= 'ringing' then return false end
redis.call('HSET', key, 'state', 'active')
redis.call('SMOVE', P .. 'calls:ringing', P .. 'calls:active', id)
return redis.call('HGETALL', key)
`);

const END_CALL = new LuaScript(`
local P, id, onlyIf = ARGV[1], ARGV[2], ARGV[3]
local key = P .. 'c:' .. id
local fields = redis.call('HGETALL', key)
if #fields == 0 then return false end
local c = {}
for i = 1, #fields, 2 do c[fields[i]] = fields[i + 1] end
if onlyIf ~= '' and c.state ~= onlyIf then return false end
redis.call('DEL', key)
for _, party in ipairs({ c.caller, c.callee }) do
  if redis.call('GET', P .. 'uc:' .. party) == id then redis.call('DEL', P .. 'uc:' .. party) end
end
redis.call('SREM', P .. 'calls:' .. c.state, id)
return fields
`);

const CALL_OF_USER = new LuaScript(`
local id = redis.call('GET', ARGV[1] .. 'uc:' .. ARGV[2])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. 'c:' .. id)
`);

const CLAIM_RESTORE = new LuaScript(`
local key, userId, claim, ttl = ARGV[1] .. 'claim:' .. ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local current = redis.call('GET', key)
if current and cjson.decode(current).userId ~= userId then return current end
redis.call('SET', key, claim, 'PX', ttl)
return false
`);

const TAKE_RESTORE_CLAIM = new LuaScript(`
local key = ARGV[1] .. 'claim:' .. ARGV[2]
if redis.call('GET', key) ~= ARGV[3] then return 0 end
redis.call('DEL', key)
return 1
`);

/** A hash as Lua returns it (a flat list) or as ioredis's HGETALL returns it (an object). */
function toMap(hash: unknown): Map<string, string> | undefined {
  if (Array.isArray(hash)) {
    if (hash.length === 0) return undefined;
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < hash.length; i += 2) map.set(String(hash[i]), String(hash[i + 1]));
    return map;
  }
  if (hash !== null && typeof hash === 'object') {
    const entries = Object.entries(hash as Record<string, unknown>);
    return entries.length === 0 ? undefined : new Map(entries.map(([k, v]) => [k, String(v)]));
  }
  return undefined;
}

/** A stored user, and the node whose socket speaks for them. */
export interface NodeBoundUser extends StoredUser {
  node: string;
}

/** What reconciling reads of a user: which socket speaks for them, whether it is connected. */
export interface ConnectionState {
  socketId: string;
  connected: boolean;
}

/** Users read per pipelined batch by `connectionStates`. */
const STATE_BATCH = 250;

function decodeUser(flat: unknown): NodeBoundUser | undefined {
  const m = toMap(flat);
  const id = m?.get('id');
  if (!m || id === undefined) return undefined;
  return {
    id,
    name: m.get('name') ?? '',
    room: m.get('room') ?? '',
    sessionToken: m.get('token') ?? '',
    socketId: m.get('socket') ?? '',
    connected: m.get('connected') === '1',
    joinedAt: Number(m.get('joinedAt') ?? 0),
    node: m.get('node') ?? '',
  };
}

function publicFields(user: NodeBoundUser | undefined): StoredUser | undefined {
  if (!user) return undefined;
  return {
    id: user.id,
    name: user.name,
    room: user.room,
    sessionToken: user.sessionToken,
    socketId: user.socketId,
    connected: user.connected,
    joinedAt: user.joinedAt,
  };
}

function decodeCall(flat: unknown): StoredCall | undefined {
  const m = toMap(flat);
  const id = m?.get('id');
  if (!m || id === undefined) return undefined;
  return {
    id,
    room: m.get('room') ?? '',
    callerId: m.get('caller') ?? '',
    calleeId: m.get('callee') ?? '',
    state: m.get('state') === 'active' ? 'active' : 'ringing',
    media: JSON.parse(m.get('media') ?? '{"audio":true,"video":true}') as CallMedia,
    createdAt: Number(m.get('createdAt') ?? 0),
  };
}

/** Canonical JSON of a claim: the compare-and-delete in TAKE_RESTORE_CLAIM compares this text. */
function claimText(claim: RestoreClaim): string {
  return JSON.stringify({ userId: claim.userId, room: claim.room, key: claim.key, role: claim.role });
}

/**
 * Rooms, presence and calls in Redis, shared by every Duet node. `nodeId` is this process: a user
 * who joins or resumes here is bound to it, so the sweeper can find the users of a node that died.
 */
export class RedisStore implements Store {
  constructor(
    private readonly redis: Redis,
    readonly nodeId: string,
    readonly prefix = 'duet:',
  ) {}

  async addUser(user: StoredUser, capacity: number): Promise<JoinOutcome> {
    const result = await ADD_USER.run(this.redis, [
      this.prefix,
      capacity,
      user.id,
      user.name,
      user.room,
      user.sessionToken,
      user.socketId,
      user.connected ? '1' : '0',
      user.joinedAt,
      this.nodeId,
    ]);
    if (result === -1) throw new Error('user id already in use');
    if (result === -2) return { ok: false, reason: 'session_taken' };
    return result === 1 ? { ok: true } : { ok: false, reason: 'room_full' };
  }

  async removeUser(userId: string): Promise<StoredUser | undefined> {
    return publicFields(decodeUser(await REMOVE_USER.run(this.redis, [this.prefix, userId])));
  }

  async getUser(userId: string): Promise<StoredUser | undefined> {
    return publicFields(await this.getBoundUser(userId));
  }

  /** The user with the node their socket is on. */
  async getBoundUser(userId: string): Promise<NodeBoundUser | undefined> {
    return decodeUser(await this.redis.hgetall(`${this.prefix}u:${userId}`));
  }

  async findUserBySessionToken(token: string): Promise<StoredUser | undefined> {
    return publicFields(decodeUser(await USER_BY_TOKEN.run(this.redis, [this.prefix, token])));
  }

  async listRoom(room: string): Promise<StoredUser[]> {
    const rows = (await LIST_ROOM.run(this.redis, [this.prefix, room])) as unknown[];
    return rows.flatMap((row) => publicFields(decodeUser(row)) ?? []);
  }

  /** Ids of the users whose socket is on `nodeId` (this node by default). */
  async userIdsOfNode(nodeId = this.nodeId): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}nu:${nodeId}`);
  }

  /**
   * The connection state of many users (absent: the user is gone), read in pipelined batches with a
   * turn of the event loop between them. A node with thousands of users must neither hold Redis in
   * one long script (every relay of every node waits behind it) nor hold its own event loop while
   * it decodes the answer: either showed as a latency spike on every pass.
   */
  async connectionStates(userIds: readonly string[]): Promise<Map<string, ConnectionState>> {
    const states = new Map<string, ConnectionState>();
    for (let start = 0; start < userIds.length; start += STATE_BATCH) {
      const batch = userIds.slice(start, start + STATE_BATCH);
      const pipeline = this.redis.pipeline();
      for (const id of batch) pipeline.hmget(`${this.prefix}u:${id}`, 'socket', 'connected');
      const results = (await pipeline.exec()) ?? [];
      for (const [index, [error, value]] of results.entries()) {
        if (error) throw error;
        const [socketId, connected] = value as Array<string | null>;
        const id = batch[index];
        if (id !== undefined && socketId) states.set(id, { socketId, connected: connected === '1' });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return states;
  }

  async takeOverConnection(userId: string, socketId: string): Promise<void> {
    await UPDATE_CONNECTION.run(this.redis, [this.prefix, userId, socketId, '1', this.nodeId, '0']);
  }

  async setConnected(userId: string, socketId: string, connected: boolean): Promise<boolean> {
    const changed = await UPDATE_CONNECTION.run(this.redis, [
      this.prefix,
      userId,
      socketId,
      connected ? '1' : '0',
      this.nodeId,
      '1',
    ]);
    return changed === 1;
  }

  async createCall(call: StoredCall): Promise<CreateCallOutcome> {
    const result = await CREATE_CALL.run(this.redis, [
      this.prefix,
      call.id,
      call.room,
      call.callerId,
      call.calleeId,
      call.state,
      JSON.stringify(call.media),
      call.createdAt,
    ]);
    if (result === 'ok') return { ok: true };
    return { ok: false, reason: result === 'callee_busy' ? 'callee_busy' : 'caller_busy' };
  }

  async getCall(callId: string): Promise<StoredCall | undefined> {
    return decodeCall(await this.redis.hgetall(`${this.prefix}c:${callId}`));
  }

  async getCallOfUser(userId: string): Promise<StoredCall | undefined> {
    return decodeCall(await CALL_OF_USER.run(this.redis, [this.prefix, userId]));
  }

  async activateCall(callId: string): Promise<StoredCall | undefined> {
    return decodeCall(await ACTIVATE_CALL.run(this.redis, [this.prefix, callId]));
  }

  async endCall(callId: string, onlyIf?: StoredCall['state']): Promise<StoredCall | undefined> {
    return decodeCall(await END_CALL.run(this.redis, [this.prefix, callId, onlyIf ?? '']));
  }

  async claimRestore(callId: string, claim: RestoreClaim, ttlMs: number): Promise<RestoreClaim | undefined> {
    const current = await CLAIM_RESTORE.run(this.redis, [
      this.prefix,
      callId,
      claim.userId,
      claimText(claim),
      ttlMs,
    ]);
    return typeof current === 'string' ? (JSON.parse(current) as RestoreClaim) : undefined;
  }

  async takeRestoreClaim(callId: string, claim: RestoreClaim): Promise<boolean> {
    return (await TAKE_RESTORE_CLAIM.run(this.redis, [this.prefix, callId, claimText(claim)])) === 1;
  }

  async counts(): Promise<StoreCounts> {
    const p = this.prefix;
    const results = await this.redis
      .multi()
      .scard(`${p}rooms`)
      .scard(`${p}users`)
      .scard(`${p}calls:ringing`)
      .scard(`${p}calls:active`)
      .exec();
    const [rooms, users, ringingCalls, activeCalls] = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    });
    return {
      rooms: rooms ?? 0,
      users: users ?? 0,
      ringingCalls: ringingCalls ?? 0,
      activeCalls: activeCalls ?? 0,
    };
  }
}
