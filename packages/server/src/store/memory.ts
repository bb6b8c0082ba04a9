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

/**
 * The default store: plain maps in this process. Each method runs to completion without awaiting,
 * which is what makes it atomic here.
 */
export class MemoryStore implements Store {
  private readonly users = new Map<string, StoredUser>();
  private readonly usersBySession = new Map<string, string>();
  /** Room name → member ids; a Set keeps insertion (join) order. */
  private readonly rooms = new Map<string, Set<string>>();
  private readonly calls = new Map<string, StoredCall>();
  private readonly callByUser = new Map<string, string>();
  private readonly claims = new Map<string, { claim: RestoreClaim; expiresAt: number }>();
  private readonly settings = new Map<string, StoredRoomSettings>();
  /** Room → its knocks by id; a Map keeps insertion (knock) order. */
  private readonly knocksByRoom = new Map<string, Map<string, StoredKnock>>();
  private readonly knockRooms = new Map<string, string>();
  /** Ticket hash → room and expiry. */
  private readonly tickets = new Map<string, { room: string; expiresAt: number }>();
  private readonly attempts = new Map<string, { count: number; resetAt: number }>();

  async addUser(user: StoredUser, capacity: number, entry: RoomEntry): Promise<JoinOutcome> {
    if (this.usersBySession.has(user.sessionToken)) {
      return { ok: false, reason: 'session_taken' };
    }
    let settings = this.settings.get(user.room);
    const created = settings === undefined && entry.create !== undefined;
    if (!settings) {
      if (!entry.create) {
        return { ok: false, reason: 'room_not_found' };
      }
      settings = { ...entry.create };
    }
    const now = Date.now();
    const ticket = entry.ticketHash === undefined ? undefined : this.tickets.get(entry.ticketHash);
    const admitted = ticket !== undefined && ticket.room === user.room && ticket.expiresAt > now;
    if (!created) {
      if (settings.locked) {
        return { ok: false, reason: 'room_locked' };
      }
      if (!admitted && settings.passwordHash !== '' && settings.passwordHash !== entry.passwordVerified) {
        return { ok: false, reason: 'password_required' };
      }
      if (!admitted && settings.askToJoin) {
        return { ok: false, reason: 'knock_required' };
      }
    }
    const members = this.rooms.get(user.room) ?? new Set<string>();
    if (members.size >= capacity) {
      return { ok: false, reason: 'room_full' };
    }
    if (admitted && entry.ticketHash !== undefined) {
      this.tickets.delete(entry.ticketHash);
    }
    this.settings.set(user.room, settings);
    members.add(user.id);
    this.rooms.set(user.room, members);
    this.users.set(user.id, { ...user });
    this.usersBySession.set(user.sessionToken, user.id);
    return { ok: true, created };
  }

  async getRoomSettings(room: string): Promise<StoredRoomSettings | undefined> {
    const settings = this.settings.get(room);
    return settings && { ...settings };
  }

  async updateRoomSettings(
    room: string,
    patch: Partial<Pick<StoredRoomSettings, 'askToJoin' | 'locked'>>,
  ): Promise<StoredRoomSettings | undefined> {
    const settings = this.settings.get(room);
    if (!settings) {
      return undefined;
    }
    Object.assign(settings, patch);
    return { ...settings };
  }

  async closeRoomIfEmpty(room: string): Promise<StoredKnock[] | undefined> {
    if ((this.rooms.get(room)?.size ?? 0) > 0) {
      return undefined;
    }
    const knocks = [...(this.knocksByRoom.get(room)?.values() ?? [])];
    for (const knock of knocks) {
      this.knockRooms.delete(knock.id);
    }
    this.knocksByRoom.delete(room);
    this.settings.delete(room);
    return knocks.map((knock) => ({ ...knock }));
  }

  async addKnock(knock: StoredKnock, max: number, passwordVerified: string): Promise<KnockOutcome> {
    const settings = this.settings.get(knock.room);
    if (!settings) {
      return { ok: false, reason: 'room_not_found' };
    }
    if (settings.locked) {
      return { ok: false, reason: 'room_locked' };
    }
    if (settings.passwordHash !== '' && settings.passwordHash !== passwordVerified) {
      return { ok: false, reason: 'password_required' };
    }
    if (!settings.askToJoin) {
      return { ok: false, reason: 'knock_not_needed' };
    }
    const knocks = this.knocksByRoom.get(knock.room) ?? new Map<string, StoredKnock>();
    if (knocks.size >= max) {
      return { ok: false, reason: 'lobby_full' };
    }
    knocks.set(knock.id, { ...knock });
    this.knocksByRoom.set(knock.room, knocks);
    this.knockRooms.set(knock.id, knock.room);
    return { ok: true };
  }

  async listKnocks(room: string): Promise<StoredKnock[]> {
    return [...(this.knocksByRoom.get(room)?.values() ?? [])].map((knock) => ({ ...knock }));
  }

  async takeKnock(
    knockId: string,
    room?: string,
    ticket?: { hash: string; ttlMs: number },
  ): Promise<StoredKnock | undefined> {
    const knockRoom = this.knockRooms.get(knockId);
    if (knockRoom === undefined || (room !== undefined && room !== knockRoom)) {
      return undefined;
    }
    const knocks = this.knocksByRoom.get(knockRoom);
    const knock = knocks?.get(knockId);
    knocks?.delete(knockId);
    if (knocks?.size === 0) {
      this.knocksByRoom.delete(knockRoom);
    }
    this.knockRooms.delete(knockId);
    if (knock && ticket) {
      const now = Date.now();
      for (const [hash, entry] of this.tickets) {
        if (entry.expiresAt <= now) {
          this.tickets.delete(hash);
        }
      }
      this.tickets.set(ticket.hash, { room: knockRoom, expiresAt: now + ticket.ttlMs });
    }
    return knock && { ...knock };
  }

  async consumeAttempt(key: string, limit: number, windowMs: number): Promise<number> {
    const now = Date.now();
    for (const [k, entry] of this.attempts) {
      if (entry.resetAt <= now) {
        this.attempts.delete(k);
      }
    }
    const entry = this.attempts.get(key) ?? { count: 0, resetAt: now + windowMs };
    entry.count++;
    this.attempts.set(key, entry);
    return entry.count <= limit ? 0 : entry.resetAt - now;
  }

  async removeUser(userId: string): Promise<StoredUser | undefined> {
    const user = this.users.get(userId);
    if (!user) {
      return undefined;
    }
    this.users.delete(userId);
    this.usersBySession.delete(user.sessionToken);
    const members = this.rooms.get(user.room);
    members?.delete(userId);
    if (members?.size === 0) {
      this.rooms.delete(user.room);
    }
    return { ...user };
  }

  async getUser(userId: string): Promise<StoredUser | undefined> {
    const user = this.users.get(userId);
    return user && { ...user };
  }

  async findUserBySessionToken(token: string): Promise<StoredUser | undefined> {
    const id = this.usersBySession.get(token);
    return id === undefined ? undefined : this.getUser(id);
  }

  async listRoom(room: string): Promise<StoredUser[]> {
    const ids = [...(this.rooms.get(room) ?? [])];
    return ids.flatMap((id) => {
      const user = this.users.get(id);
      return user ? [{ ...user }] : [];
    });
  }

  async takeOverConnection(userId: string, socketId: string): Promise<void> {
    const user = this.users.get(userId);
    if (user) {
      Object.assign(user, { socketId, connected: true });
    }
  }

  async setConnected(userId: string, socketId: string, connected: boolean): Promise<boolean> {
    const user = this.users.get(userId);
    if (user?.socketId !== socketId) {
      return false;
    }
    user.connected = connected;
    return true;
  }

  async createCall(call: StoredCall): Promise<CreateCallOutcome> {
    if (this.callByUser.has(call.callerId)) {
      return { ok: false, reason: 'caller_busy' };
    }
    if (this.callByUser.has(call.calleeId)) {
      return { ok: false, reason: 'callee_busy' };
    }
    this.calls.set(call.id, { ...call });
    this.callByUser.set(call.callerId, call.id);
    this.callByUser.set(call.calleeId, call.id);
    return { ok: true };
  }

  async getCall(callId: string): Promise<StoredCall | undefined> {
    const call = this.calls.get(callId);
    return call && { ...call };
  }

  async getCallOfUser(userId: string): Promise<StoredCall | undefined> {
    const callId = this.callByUser.get(userId);
    return callId === undefined ? undefined : this.getCall(callId);
  }

  async activateCall(callId: string): Promise<StoredCall | undefined> {
    const call = this.calls.get(callId);
    if (call?.state !== 'ringing') {
      return undefined;
    }
    call.state = 'active';
    return { ...call };
  }

  async endCall(callId: string, onlyIf?: StoredCall['state']): Promise<StoredCall | undefined> {
    const call = this.calls.get(callId);
    if (!call || (onlyIf !== undefined && call.state !== onlyIf)) {
      return undefined;
    }
    this.calls.delete(callId);
    this.callByUser.delete(call.callerId);
    this.callByUser.delete(call.calleeId);
    return { ...call };
  }

  async claimRestore(callId: string, claim: RestoreClaim, ttlMs: number): Promise<RestoreClaim | undefined> {
    const now = Date.now();
    // Expired claims go when touched; the sweep keeps the map from growing with abandoned ones.
    for (const [id, entry] of this.claims) {
      if (entry.expiresAt <= now) {
        this.claims.delete(id);
      }
    }
    const current = this.claims.get(callId);
    if (current && current.claim.userId !== claim.userId) {
      return { ...current.claim };
    }
    this.claims.set(callId, { claim: { ...claim }, expiresAt: now + ttlMs });
    return undefined;
  }

  async takeRestoreClaim(callId: string, claim: RestoreClaim): Promise<boolean> {
    const current = this.claims.get(callId);
    if (!current || current.expiresAt <= Date.now()) {
      return false;
    }
    const same =
      current.claim.userId === claim.userId &&
      current.claim.room === claim.room &&
      current.claim.key === claim.key &&
      current.claim.role === claim.role;
    if (same) {
      this.claims.delete(callId);
    }
    return same;
  }

  async counts(): Promise<StoreCounts> {
    let ringingCalls = 0;
    for (const call of this.calls.values()) {
      if (call.state === 'ringing') {
        ringingCalls++;
      }
    }
    return {
      rooms: this.rooms.size,
      users: this.users.size,
      knocks: this.knockRooms.size,
      ringingCalls,
      activeCalls: this.calls.size - ringingCalls,
    };
  }
}
