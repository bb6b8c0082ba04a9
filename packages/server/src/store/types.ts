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

/** `session_taken`: a user with this session token exists (the same join, sent twice at once). */
export type JoinOutcome = { ok: true } | { ok: false; reason: 'room_full' | 'session_taken' };
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
  ringingCalls: number;
  activeCalls: number;
}

/**
 * Room, presence and call state. Every method that decides something under contention (taking the
 * last seat, starting a call while both parties are free, ending a call once) is one atomic
 * operation, so a Redis implementation can do each as a single script and the handlers stay the same.
 */
export interface Store {
  /** Add a user to a room unless the room already has `capacity` members. */
  addUser(user: StoredUser, capacity: number): Promise<JoinOutcome>;
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

  counts(): Promise<StoreCounts>;
}

/** A user's presence state follows from whether they are party to a call. */
export function userState(call: StoredCall | undefined): UserState {
  return call ? 'in-call' : 'free';
}
