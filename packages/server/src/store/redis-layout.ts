/**
 * How RedisStore lays out its state in Redis: the keys (below), the Lua scripts that change them
 * atomically, and the decoding of the hashes they return. Apart from RedisStore, whose methods
 * only call these, so the data model reads in one place.
 */
import type { CallMedia } from '@duet/protocol';
import { LuaScript } from './lua.js';
import type { RestoreClaim, StoredCall, StoredKnock, StoredRoomSettings, StoredUser } from './types.js';

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
 *   P rs:<room>         hash   access ask(0|1) locked(0|1) pw: the room's settings; its existence
 *                              is the room's (made by the first join, deleted after the last leave)
 *   P k:<knockId>       hash   id room name createdAt
 *   P rk:<room>         zset   knockId by knock sequence (P seq)
 *   P knocks            set    knock ids waiting anywhere (for the gauge)
 *   P tk:<ticketHash>   string room of a lobby ticket, expires (PX)
 *   P att:<key>         string attempts in the current window, expires (PX) with the window
 *
 * Every method that decides something under contention is one Lua script; plain reads are plain
 * commands. Lua returns a hash as a flat [field, value, ...] list, decoded below.
 */

const USER_FIELDS = `
local function userKey(P, id) return P .. 'u:' .. id end
`;

/**
 * Returns 1 (joined), 2 (joined and made the room), or a refusal: 0 full, -1 id taken, -2 session
 * taken, or the reason as text. ARGV[11..]: create(0|1) access ask locked pw, passwordVerified,
 * ticketHash ('' for none). ARGV[18]: the agent ('' for a browser, 'terminal').
 */
export const ADD_USER = new LuaScript(`${USER_FIELDS}
local P, capacity = ARGV[1], tonumber(ARGV[2])
local id, name, room, token, socket, connected, joinedAt, node =
  ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local create, access, ask, locked, pw, verified, ticket =
  ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17]
local agent = ARGV[18]
local roomKey = P .. 'r:' .. room
local settingsKey = P .. 'rs:' .. room
if redis.call('EXISTS', P .. 'tok:' .. token) == 1 then return -2 end
local created = false
if redis.call('EXISTS', settingsKey) == 0 then
  if create ~= '1' then return 'room_not_found' end
  created = true
end
local admitted = false
if ticket ~= '' and redis.call('GET', P .. 'tk:' .. ticket) == room then admitted = true end
if not created then
  local s = redis.call('HMGET', settingsKey, 'locked', 'pw', 'ask')
  if s[1] == '1' then return 'room_locked' end
  if not admitted and s[2] ~= '' and s[2] ~= verified then return 'password_required' end
  if not admitted and s[3] == '1' then return 'knock_required' end
end
if redis.call('ZCARD', roomKey) >= capacity then return 0 end
if redis.call('EXISTS', userKey(P, id)) == 1 then return -1 end
if admitted then redis.call('DEL', P .. 'tk:' .. ticket) end
if created then
  redis.call('HSET', settingsKey, 'access', access, 'ask', ask, 'locked', locked, 'pw', pw)
end
redis.call('HSET', userKey(P, id), 'id', id, 'name', name, 'room', room, 'token', token,
  'socket', socket, 'connected', connected, 'joinedAt', joinedAt, 'node', node, 'agent', agent)
redis.call('SET', P .. 'tok:' .. token, id)
redis.call('ZADD', roomKey, redis.call('INCR', P .. 'seq'), id)
redis.call('SADD', P .. 'rooms', room)
redis.call('SADD', P .. 'users', id)
redis.call('SADD', P .. 'nu:' .. node, id)
if created then return 2 end
return 1
`);

export const UPDATE_ROOM_SETTINGS = new LuaScript(`
local key, ask, locked = ARGV[1] .. 'rs:' .. ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', key) == 0 then return false end
if ask ~= '' then redis.call('HSET', key, 'ask', ask) end
if locked ~= '' then redis.call('HSET', key, 'locked', locked) end
return redis.call('HGETALL', key)
`);

/** Only an empty room closes: returns its knocks (a flat hash each), or false if it has members. */
export const CLOSE_ROOM = new LuaScript(`
local P, room = ARGV[1], ARGV[2]
if redis.call('ZCARD', P .. 'r:' .. room) > 0 then return false end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'rk:' .. room, 0, -1)) do
  local fields = redis.call('HGETALL', P .. 'k:' .. id)
  if #fields > 0 then table.insert(out, fields) end
  redis.call('DEL', P .. 'k:' .. id)
  redis.call('SREM', P .. 'knocks', id)
end
redis.call('DEL', P .. 'rk:' .. room, P .. 'rs:' .. room)
return out
`);

export const ADD_KNOCK = new LuaScript(`
local P, id, room, name, createdAt, max, verified =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local settingsKey = P .. 'rs:' .. room
if redis.call('EXISTS', settingsKey) == 0 then return 'room_not_found' end
local s = redis.call('HMGET', settingsKey, 'locked', 'pw', 'ask')
if s[1] == '1' then return 'room_locked' end
if s[2] ~= '' and s[2] ~= verified then return 'password_required' end
if s[3] ~= '1' then return 'knock_not_needed' end
if redis.call('ZCARD', P .. 'rk:' .. room) >= max then return 'lobby_full' end
redis.call('HSET', P .. 'k:' .. id, 'id', id, 'room', room, 'name', name, 'createdAt', createdAt)
redis.call('ZADD', P .. 'rk:' .. room, redis.call('INCR', P .. 'seq'), id)
redis.call('SADD', P .. 'knocks', id)
return 'ok'
`);

export const LIST_KNOCKS = new LuaScript(`
local out = {}
for _, id in ipairs(redis.call('ZRANGE', ARGV[1] .. 'rk:' .. ARGV[2], 0, -1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. 'k:' .. id)
  if #fields > 0 then table.insert(out, fields) end
end
return out
`);

/** Remove a knock (of ARGV[3] unless ''); with a ticket hash (ARGV[4]), record it for PX ARGV[5]. */
export const TAKE_KNOCK = new LuaScript(`
local P, id, room, ticket, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = P .. 'k:' .. id
local knockRoom = redis.call('HGET', key, 'room')
if not knockRoom then return false end
if room ~= '' and room ~= knockRoom then return false end
local fields = redis.call('HGETALL', key)
redis.call('DEL', key)
redis.call('ZREM', P .. 'rk:' .. knockRoom, id)
redis.call('SREM', P .. 'knocks', id)
if ticket ~= '' then redis.call('SET', P .. 'tk:' .. ticket, knockRoom, 'PX', ttl) end
return fields
`);

/** A fixed window: the first attempt starts it; returns 0, or the window's remaining ms once over. */
export const CONSUME_ATTEMPT = new LuaScript(`
local key, limit, window = ARGV[1] .. 'att:' .. ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, window) end
if count <= limit then return 0 end
local left = redis.call('PTTL', key)
if left < 0 then
  redis.call('PEXPIRE', key, window)
  left = window
end
return left
`);

export const REMOVE_USER = new LuaScript(`${USER_FIELDS}
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

export const USER_BY_TOKEN = new LuaScript(`${USER_FIELDS}
local id = redis.call('GET', ARGV[1] .. 'tok:' .. ARGV[2])
if not id then return false end
return redis.call('HGETALL', userKey(ARGV[1], id))
`);

export const LIST_ROOM = new LuaScript(`${USER_FIELDS}
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
export const UPDATE_CONNECTION = new LuaScript(`${USER_FIELDS}
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

export const CREATE_CALL = new LuaScript(`
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

export const ACTIVATE_CALL = new LuaScript(`
local P, id = ARGV[1], ARGV[2]
local key = P .. 'c:' .. id
if redis.call('HGET', key, 'state') ~= 'ringing' then return false end
redis.call('HSET', key, 'state', 'active')
redis.call('SMOVE', P .. 'calls:ringing', P .. 'calls:active', id)
return redis.call('HGETALL', key)
`);

export const END_CALL = new LuaScript(`
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

export const CALL_OF_USER = new LuaScript(`
local id = redis.call('GET', ARGV[1] .. 'uc:' .. ARGV[2])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. 'c:' .. id)
`);

export const CLAIM_RESTORE = new LuaScript(`
local key, userId, claim, ttl = ARGV[1] .. 'claim:' .. ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local current = redis.call('GET', key)
if current and cjson.decode(current).userId ~= userId then return current end
redis.call('SET', key, claim, 'PX', ttl)
return false
`);

export const TAKE_RESTORE_CLAIM = new LuaScript(`
local key = ARGV[1] .. 'claim:' .. ARGV[2]
if redis.call('GET', key) ~= ARGV[3] then return 0 end
redis.call('DEL', key)
return 1
`);

/** A stored user, and the node whose socket speaks for them. */
export interface NodeBoundUser extends StoredUser {
  node: string;
}

/** A hash as Lua returns it (a flat list) or as ioredis's HGETALL returns it (an object). */
function toMap(hash: unknown): Map<string, string> | undefined {
  if (Array.isArray(hash)) {
    if (hash.length === 0) {
      return undefined;
    }
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < hash.length; i += 2) {
      map.set(String(hash[i]), String(hash[i + 1]));
    }
    return map;
  }
  if (hash !== null && typeof hash === 'object') {
    const entries = Object.entries(hash as Record<string, unknown>);
    return entries.length === 0 ? undefined : new Map(entries.map(([k, v]) => [k, String(v)]));
  }
  return undefined;
}

/** A stored hash with its `id` field; undefined when there is no such hash. */
function withId(flat: unknown): { m: Map<string, string>; id: string } | undefined {
  const m = toMap(flat);
  const id = m?.get('id');
  return m && id !== undefined ? { m, id } : undefined;
}

/** A user hash (with the node it is bound to); undefined when there is none. */
export function decodeUser(flat: unknown): NodeBoundUser | undefined {
  const hash = withId(flat);
  if (!hash) {
    return undefined;
  }
  const { m, id } = hash;
  return {
    id,
    name: m.get('name') ?? '',
    room: m.get('room') ?? '',
    ...(m.get('agent') === 'terminal' ? { agent: 'terminal' as const } : {}),
    sessionToken: m.get('token') ?? '',
    socketId: m.get('socket') ?? '',
    connected: m.get('connected') === '1',
    joinedAt: Number(m.get('joinedAt') ?? 0),
    node: m.get('node') ?? '',
  };
}

/** The user as the Store interface hands it out: without the node binding. */
export function publicFields(user: NodeBoundUser | undefined): StoredUser | undefined {
  if (!user) {
    return undefined;
  }
  return {
    id: user.id,
    name: user.name,
    room: user.room,
    ...(user.agent ? { agent: user.agent } : {}),
    sessionToken: user.sessionToken,
    socketId: user.socketId,
    connected: user.connected,
    joinedAt: user.joinedAt,
  };
}

/** A call hash; undefined when there is none. */
export function decodeCall(flat: unknown): StoredCall | undefined {
  const hash = withId(flat);
  if (!hash) {
    return undefined;
  }
  const { m, id } = hash;
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

/** A room settings hash; undefined when the room does not exist. */
export function decodeRoomSettings(flat: unknown): StoredRoomSettings | undefined {
  const m = toMap(flat);
  if (!m) {
    return undefined;
  }
  return {
    access: m.get('access') === 'open' ? 'open' : 'private',
    askToJoin: m.get('ask') === '1',
    locked: m.get('locked') === '1',
    passwordHash: m.get('pw') ?? '',
  };
}

/** A knock hash; undefined when there is none. */
export function decodeKnock(flat: unknown): StoredKnock | undefined {
  const hash = withId(flat);
  if (!hash) {
    return undefined;
  }
  const { m, id } = hash;
  return {
    id,
    room: m.get('room') ?? '',
    name: m.get('name') ?? '',
    createdAt: Number(m.get('createdAt') ?? 0),
  };
}

/** Canonical JSON of a claim: the compare-and-delete in TAKE_RESTORE_CLAIM compares this text. */
export function claimText(claim: RestoreClaim): string {
  return JSON.stringify({ userId: claim.userId, room: claim.room, key: claim.key, role: claim.role });
}
