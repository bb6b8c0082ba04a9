import type { Redis } from 'ioredis';
import type {
  CreateCallOutcome,
  JoinOutcome,
  KnockOutcome,
  RestoreClaim,
  RoomEntry,
  StoredKnock,
  StoredRoomSettings,
  Store,
  StoreCounts,
  StoredCall,
  StoredUser,
} from './types.js';
import {
  ACTIVATE_CALL,
  ADD_KNOCK,
  ADD_USER,
  CALL_OF_USER,
  CLAIM_RESTORE,
  CLOSE_ROOM,
  CONSUME_ATTEMPT,
  LIST_KNOCKS,
  TAKE_KNOCK,
  UPDATE_ROOM_SETTINGS,
  decodeKnock,
  decodeRoomSettings,
  CREATE_CALL,
  END_CALL,
  LIST_ROOM,
  REMOVE_USER,
  TAKE_RESTORE_CLAIM,
  UPDATE_CONNECTION,
  USER_BY_TOKEN,
  claimText,
  decodeCall,
  decodeUser,
  publicFields,
  type NodeBoundUser,
} from './redis-layout.js';

export type { NodeBoundUser };

/** What reconciling reads of a user: which socket speaks for them, whether it is connected. */
export interface ConnectionState {
  socketId: string;
  connected: boolean;
}

/** Users read per pipelined batch by `connectionStates`. */
const STATE_BATCH = 250;

/**
 * Rooms, presence and calls in Redis, shared by every Duet node. `nodeId` is this process: a user
 * who joins or resumes here is bound to it, so the sweeper can find the users of a node that died.
 * The keys, the Lua scripts and the decoding of what they return are in redis-layout.ts.
 */
export class RedisStore implements Store {
  constructor(
    private readonly redis: Redis,
    readonly nodeId: string,
    readonly prefix = 'duet:',
  ) {}

  async addUser(user: StoredUser, capacity: number, entry: RoomEntry): Promise<JoinOutcome> {
    const create = entry.create;
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
      create ? '1' : '0',
      create?.access ?? '',
      create?.askToJoin ? '1' : '0',
      create?.locked ? '1' : '0',
      create?.passwordHash ?? '',
      entry.passwordVerified,
      entry.ticketHash ?? '',
      user.agent ?? '',
    ]);
    if (result === -1) {
      throw new Error('user id already in use');
    }
    if (result === -2) {
      return { ok: false, reason: 'session_taken' };
    }
    if (result === 1 || result === 2) {
      return { ok: true, created: result === 2 };
    }
    if (
      result === 'room_not_found' ||
      result === 'room_locked' ||
      result === 'knock_required' ||
      result === 'password_required'
    ) {
      return { ok: false, reason: result };
    }
    return { ok: false, reason: 'room_full' };
  }

  async getRoomSettings(room: string): Promise<StoredRoomSettings | undefined> {
    return decodeRoomSettings(await this.redis.hgetall(`${this.prefix}rs:${room}`));
  }

  async updateRoomSettings(
    room: string,
    patch: Partial<Pick<StoredRoomSettings, 'askToJoin' | 'locked'>>,
  ): Promise<StoredRoomSettings | undefined> {
    const flag = (value: boolean | undefined): string => (value === undefined ? '' : value ? '1' : '0');
    return decodeRoomSettings(
      await UPDATE_ROOM_SETTINGS.run(this.redis, [
        this.prefix,
        room,
        flag(patch.askToJoin),
        flag(patch.locked),
      ]),
    );
  }

  async closeRoomIfEmpty(room: string): Promise<StoredKnock[] | undefined> {
    const rows = (await CLOSE_ROOM.run(this.redis, [this.prefix, room])) as unknown[] | null;
    return rows === null ? undefined : rows.flatMap((row) => decodeKnock(row) ?? []);
  }

  async addKnock(knock: StoredKnock, max: number, passwordVerified: string): Promise<KnockOutcome> {
    const result = await ADD_KNOCK.run(this.redis, [
      this.prefix,
      knock.id,
      knock.room,
      knock.name,
      knock.createdAt,
      max,
      passwordVerified,
    ]);
    switch (result) {
      case 'ok':
        return { ok: true };
      case 'room_locked':
      case 'knock_not_needed':
      case 'lobby_full':
      case 'password_required':
        return { ok: false, reason: result };
      default:
        return { ok: false, reason: 'room_not_found' };
    }
  }

  async listKnocks(room: string): Promise<StoredKnock[]> {
    const rows = (await LIST_KNOCKS.run(this.redis, [this.prefix, room])) as unknown[];
    return rows.flatMap((row) => decodeKnock(row) ?? []);
  }

  async takeKnock(
    knockId: string,
    room?: string,
    ticket?: { hash: string; ttlMs: number },
  ): Promise<StoredKnock | undefined> {
    return decodeKnock(
      await TAKE_KNOCK.run(this.redis, [
        this.prefix,
        knockId,
        room ?? '',
        ticket?.hash ?? '',
        ticket?.ttlMs ?? 0,
      ]),
    );
  }

  async consumeAttempt(key: string, limit: number, windowMs: number): Promise<number> {
    return Number(await CONSUME_ATTEMPT.run(this.redis, [this.prefix, key, limit, windowMs]));
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
      for (const id of batch) {
        pipeline.hmget(`${this.prefix}u:${id}`, 'socket', 'connected');
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [index, [error, value]] of results.entries()) {
        if (error) {
          throw error;
        }
        const [socketId, connected] = value as Array<string | null>;
        const id = batch[index];
        if (id !== undefined && socketId) {
          states.set(id, { socketId, connected: connected === '1' });
        }
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
    if (result === 'ok') {
      return { ok: true };
    }
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
      .scard(`${p}knocks`)
      .exec();
    const [rooms, users, ringingCalls, activeCalls, knocks] = (results ?? []).map(([error, value]) => {
      if (error) {
        throw error;
      }
      return Number(value);
    });
    return {
      rooms: rooms ?? 0,
      users: users ?? 0,
      ringingCalls: ringingCalls ?? 0,
      activeCalls: activeCalls ?? 0,
      knocks: knocks ?? 0,
    };
  }
}
