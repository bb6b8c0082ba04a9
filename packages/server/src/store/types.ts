import type { Agent, CallMedia, UserState } from '@duet/protocol';

/** A room member as the server keeps it. */
export interface StoredUser {
  id: string;
  name: string;
  room: string;
  /** What kind of peer the user joined as; absent: a browser. */
  agent?: Agent;
  sessionToken: string;
  /** The socket that currently speaks for this user; a stale socket's disconnect is ignored. */
  socketId: string;
  /** False while the user is within the reconnect grace period. */
  connected: boolean;
  joinedAt: number;
}

export interface StoredCall {
  id: string;
  room: string;
  callerId: string;
  calleeId: string;
  state: 'ringing' | 'active';
  media: CallMedia;
  createdAt: number;
}

/**
 * How a room lets people in. A room exists from its first member's join until its last member
 * leaves; these settings live exactly as long.
 */
export interface StoredRoomSettings {
  access: 'private' | 'open';
  askToJoin: boolean;
  locked: boolean;
  /** scrypt hash of the room's password (see room-access.ts); '' when the room has none. */
  passwordHash: string;
}

/** What a join brings besides the user: what the server checked before the store decides. */
export interface RoomEntry {
  /** Make the room with these settings if it does not exist; without, a missing room is refused. */
  create?: StoredRoomSettings;
  /** The stored password hash the joiner's password was verified against ('' when none was). */
  passwordVerified: string;
  /** SHA-256 of the lobby ticket the joiner holds, if any: it lets them past "ask to join", once. */
  ticketHash?: string;
}

/** Someone waiting at a room's door. */
export interface StoredKnock {
  id: string;
  room: string;
  name: string;
  createdAt: number;
}

/**
 * `session_taken`: a user with this session token exists (the same join, sent twice at once).
 * `created`: this join made the room (its user is the first member).
 */
export type JoinOutcome =
  | { ok: true; created: boolean }
  | {
      ok: false;
      reason:
        | 'room_full'
        | 'session_taken'
        | 'room_not_found'
        | 'room_locked'
        | 'knock_required'
        | 'password_required';
    };
export type KnockOutcome =
  | { ok: true }
  | {
      ok: false;
      reason: 'room_not_found' | 'room_locked' | 'knock_not_needed' | 'lobby_full' | 'password_required';
    };
export type CreateCallOutcome = { ok: true } | { ok: false; reason: 'caller_busy' | 'callee_busy' };

/** A `call:restore` claim waiting for the other party of a call the server forgot. */
export interface RestoreClaim {
  userId: string;
  room: string;
  key: string;
  role: 'caller' | 'callee';
}

export interface StoreCounts {
  rooms: number;
  users: number;
  /** Knocks waiting at rooms' doors. */
  knocks: number;
  ringingCalls: number;
  activeCalls: number;
}

/**
 * Room, presence and call state. Every method that decides something under contention (taking the
 * last seat, starting a call while both parties are free, ending a call once) is one atomic
 * operation, so a Redis implementation can do each as a single script and the handlers stay the same.
 */
export interface Store {
  /**
   * Add a user to a room if the room lets them in (it exists or `entry.create`; not locked; the
   * password verified or a ticket; a ticket when it asks to join) and has fewer than `capacity`
   * members. One atomic decision: a lock, a full room or a closing room cannot slip in between.
   */
  addUser(user: StoredUser, capacity: number, entry: RoomEntry): Promise<JoinOutcome>;
  /** Remove a user; returns what was removed (undefined if they were already gone). */
  removeUser(userId: string): Promise<StoredUser | undefined>;
  getUser(userId: string): Promise<StoredUser | undefined>;
  findUserBySessionToken(token: string): Promise<StoredUser | undefined>;
  /** Members of a room in join order. */
  listRoom(room: string): Promise<StoredUser[]>;
  /** This socket speaks for the user from now on, connected (a resume takes over from any older one). */
  takeOverConnection(userId: string, socketId: string): Promise<void>;
  /**
   * Mark the user connected or not, but only while `socketId` still speaks for them: news about a
   * replaced socket (a late disconnect on another node, after a resume) changes nothing. Returns
   * whether the user was changed.
   */
  setConnected(userId: string, socketId: string, connected: boolean): Promise<boolean>;

  /** Start a call (ringing) if neither party is in one. */
  createCall(call: StoredCall): Promise<CreateCallOutcome>;
  getCall(callId: string): Promise<StoredCall | undefined>;
  getCallOfUser(userId: string): Promise<StoredCall | undefined>;
  /** ringing → active; returns the call if this request made the change, undefined otherwise. */
  activateCall(callId: string): Promise<StoredCall | undefined>;
  /**
   * Delete the call; returns it only to the one request that removed it (accept/timeout races).
   * With `onlyIf`, only a call in that state is ended (a ring timeout must not end an accepted call).
   */
  endCall(callId: string, onlyIf?: StoredCall['state']): Promise<StoredCall | undefined>;

  /**
   * Record `claim` for `callId` for `ttlMs`, unless another user's claim is there: then that claim
   * is returned and left in place (a user's own earlier claim is replaced).
   */
  claimRestore(callId: string, claim: RestoreClaim, ttlMs: number): Promise<RestoreClaim | undefined>;
  /** Remove `claim` if it is still the one recorded; true only for the one request that removed it. */
  takeRestoreClaim(callId: string, claim: RestoreClaim): Promise<boolean>;

  getRoomSettings(room: string): Promise<StoredRoomSettings | undefined>;
  /** Change a room's lobby and lock; returns the new settings, or undefined if the room is gone. */
  updateRoomSettings(
    room: string,
    patch: Partial<Pick<StoredRoomSettings, 'askToJoin' | 'locked'>>,
  ): Promise<StoredRoomSettings | undefined>;
  /**
   * Delete an empty room's settings and pending knocks (its last member left); returns the knocks,
   * or undefined when the room still has members (someone joined meanwhile) and stays.
   */
  closeRoomIfEmpty(room: string): Promise<StoredKnock[] | undefined>;

  /** Add a knock if the room exists, asks to join, is not locked, and has fewer than `max` knocks. */
  addKnock(knock: StoredKnock, max: number, passwordVerified: string): Promise<KnockOutcome>;
  /** Pending knocks of a room, oldest first. */
  listKnocks(room: string): Promise<StoredKnock[]>;
  /**
   * Remove a knock (of `room`, when given) and return it, to the one request that removed it (an admit
   * and a deny racing, or a timeout). With `ticket`, a ticket for its room is recorded for `ttlMs`.
   */
  takeKnock(
    knockId: string,
    room?: string,
    ticket?: { hash: string; ttlMs: number },
  ): Promise<StoredKnock | undefined>;

  /**
   * Count one attempt under `key` in a fixed window of `windowMs`; returns 0 while at most `limit`
   * attempts were made in the window, otherwise the milliseconds until the window ends.
   */
  consumeAttempt(key: string, limit: number, windowMs: number): Promise<number>;

  counts(): Promise<StoreCounts>;
}

/** A user's presence state follows from whether they are party to a call. */
export function userState(call: StoredCall | undefined): UserState {
  return call ? 'in-call' : 'free';
}
