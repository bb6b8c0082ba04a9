/**
 * Why this module is long (over 500 lines) and stays one file: SignalingService is the single owner
 * of the state machine drawn above the class, and its parts finish each other's transitions. Leaving
 * a room ends the user's call; a due timer ends a ringing call or gives up a seat; a resume cancels
 * a grace; a restored call re-enters the same call states. All of them go through the same store,
 * timers and Socket.IO rooms, so split over files one transition would be spread over several.
 * What has a job of its own already lives elsewhere: validating and rate-limiting events
 * (dispatcher.ts), timers (cluster/scheduler.ts), ICE servers (turn/ice-servers.ts), state (store/).
 */
import { timingSafeEqual } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import {
  DEFAULTS,
  fail,
  hangupReason,
  ok,
  type AckOf,
  type CallEndReason,
  type CallInfo,
  type ParsedRequestOf,
  type PublicUser,
  type Session,
  type SignalData,
} from '@duet/protocol';
import { newId, newSessionToken, sessionTokenForJoinKey } from '../ids.js';
import { iceServersFor, type IceServerSettings } from '../turn/ice-servers.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { LocalScheduler, timerKeys, type Scheduler } from '../cluster/scheduler.js';
import {
  userState,
  type RestoreClaim,
  type Store,
  type StoredCall,
  type StoredUser,
} from '../store/types.js';
import type { EventHandlers } from './dispatcher.js';
import { Lobby, refusal, type LobbyOptions } from './lobby.js';
import { hashPassword, roomName, ticketHash } from './room-access.js';
import { roomChannel, userChannel, type DuetIo, type DuetSocket } from './types.js';

export interface SignalingOptions {
  roomCapacity: number;
  ringTimeoutMs: number;
  reconnectGraceMs: number;
  ice: IceServerSettings;
  iceTransportPolicy: 'all' | 'relay';
  lobby: LobbyOptions;
}

/** Disconnect reasons that mean "the client left on purpose": no grace period. */
const DELIBERATE_DISCONNECTS = new Set(['client namespace disconnect', 'server namespace disconnect']);

/**
 * Rooms, presence, call control and relay. The call semantics follow matrix-js-sdk's 1:1 calls:
 *
 *   (none) --invite--> ringing --accept--> active --hangup--> ended(hangup)
 *   ringing --decline (callee)--> ended(declined)     ringing --hangup (caller)--> ended(cancelled)
 *   ringing --ring timeout--> ended(timeout)          any --party leaves--> ended(peer_left)
 *
 * A user is party to at most one call (ringing or active). Every end is announced to both parties
 * with `call:ended`, and presence updates follow.
 */
export class SignalingService {
  private readonly iceRefreshLimiter = new RateLimiterMemory({
    points: DEFAULTS.iceRefreshPerMinute,
    duration: 60,
  });
  private closing = false;
  /**
   * Ring timeouts and reconnect graces. In one process, plain timers; with Redis, timers in Redis
   * that any node runs when due, so they outlive the node that set them.
   */
  private readonly timers: Scheduler;
  /** Who may enter: room keys, passwords, knocks and room settings. */
  private readonly lobby: Lobby;

  constructor(
    private readonly io: DuetIo,
    private readonly store: Store,
    private readonly options: SignalingOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    scheduler?: Scheduler,
  ) {
    this.timers = scheduler ?? new LocalScheduler(logger);
    this.lobby = new Lobby(io, store, this.timers, options.lobby, logger, metrics);
    this.timers.start((key, payload) => this.timerDue(key, payload));
  }

  /** The dispatcher's table: one method per client event. */
  readonly handlers: EventHandlers = {
    'room:join': (socket, request) => this.join(socket, request),
    'session:resume': (socket, request) => this.resume(socket, request),
    'room:leave': (socket) => this.leave(socket),
    'call:invite': (socket, request) => this.invite(socket, request),
    'call:accept': (socket, request) => this.accept(socket, request),
    'call:decline': (socket, request) => this.decline(socket, request),
    'call:hangup': (socket, request) => this.hangup(socket, request),
    signal: (socket, request) => this.relay(socket, request),
    'ice:refresh': (socket) => this.refreshIceServers(socket),
    'call:restore': (socket, request) => this.restoreCall(socket, request),
    'room:knock': (socket, request) => this.lobby.knock(socket, request),
    'lobby:cancel': (socket) => this.lobby.cancel(socket),
    'lobby:admit': async (socket, request) =>
      this.lobby.admit(await this.currentUser(socket), request.knockId),
    'lobby:deny': async (socket, request) => this.lobby.deny(await this.currentUser(socket), request.knockId),
    'room:settings': async (socket, request) =>
      this.lobby.changeSettings(await this.currentUser(socket), request),
  };

  // ---------------------------------------------------------------------------------------------
  // Rooms and sessions
  // ---------------------------------------------------------------------------------------------

  /**
   * Every refusal of a room one may not see (no room, wrong or missing secret) comes from the same
   * store lookup of a key that does not exist, whichever it was: same answer, same work.
   */
  private async join(socket: DuetSocket, request: ParsedRequestOf<'room:join'>): Promise<AckOf<'room:join'>> {
    const target = this.lobby.target(request.room, request.secret, request.create);
    const sessionToken = request.joinKey ? sessionTokenForJoinKey(request.joinKey) : newSessionToken();
    if (request.joinKey) {
      const earlier = await this.store.findUserBySessionToken(sessionToken);
      if (earlier) {
        return this.repeatedJoin(socket, earlier, target.key);
      }
    }
    if (socket.data.userId) {
      return fail('already_in_room', 'Leave the current room before joining another.');
    }
    const settings = await this.store.getRoomSettings(target.key);
    // A ticket holder was let in by a member after giving the password at the knock.
    const password =
      request.ticket === undefined
        ? await this.lobby.checkPassword(socket, target.key, settings, request.password)
        : ({ ok: true, verified: '' } as const);
    if (!password.ok) {
      return password;
    }
    // Only a room that does not exist yet is made; one that does is joined as it is. The first
    // member's password becomes the room's.
    const create = target.mayCreate
      ? {
          access: target.access,
          askToJoin: false,
          locked: false,
          passwordHash:
            settings || request.password === undefined ? '' : await hashPassword(request.password),
        }
      : undefined;
    const user: StoredUser = {
      id: newId(),
      name: request.name,
      room: target.key,
      ...(request.agent === 'terminal' ? { agent: 'terminal' as const } : {}),
      sessionToken,
      socketId: socket.id,
      connected: true,
      joinedAt: Date.now(),
    };
    const outcome = await this.store.addUser(user, this.options.roomCapacity, {
      ...(create === undefined ? {} : { create }),
      passwordVerified: password.verified,
      ...(request.ticket === undefined ? {} : { ticketHash: ticketHash(request.ticket) }),
    });
    if (!outcome.ok && outcome.reason === 'session_taken') {
      // The same join arrived twice at once: the other one just took the seat.
      const earlier = await this.store.findUserBySessionToken(sessionToken);
      if (earlier) {
        return this.repeatedJoin(socket, earlier, target.key);
      }
    }
    if (!outcome.ok) {
      return outcome.reason === 'room_full' || outcome.reason === 'session_taken'
        ? fail('room_full', `This room is full (${this.options.roomCapacity} people).`)
        : refusal(outcome.reason);
    }
    // Let in: a knock this connection was waiting on is over.
    socket.data.knockId = undefined;
    this.bindSocket(socket, user);
    this.logger.info(
      { userId: user.id, room: roomName(user.room), access: target.access, created: outcome.created },
      'joined',
    );
    const self = await this.publicUser(user);
    socket
      .to(roomChannel(user.room))
      .emit('presence', { room: roomName(user.room), change: 'joined', user: self });
    return ok(await this.session(user));
  }

  /**
   * The same join again (same join key): the first went through, but its answer was lost with the
   * connection. The client gets that seat back, on whichever connection asks.
   */
  private async repeatedJoin(
    socket: DuetSocket,
    earlier: StoredUser,
    room: string,
  ): Promise<AckOf<'room:join'>> {
    if (earlier.room !== room) {
      return fail('invalid_payload', 'This join key was used for another room.');
    }
    this.logger.info({ userId: earlier.id, room: roomName(room) }, 'join repeated after a lost answer');
    // A connection recovered by Socket.IO already speaks for the user.
    if (socket.data.userId === earlier.id) {
      return ok(await this.session(earlier));
    }
    return this.resume(socket, { sessionToken: earlier.sessionToken });
  }

  private async resume(
    socket: DuetSocket,
    request: ParsedRequestOf<'session:resume'>,
  ): Promise<AckOf<'session:resume'>> {
    if (socket.data.userId) {
      return fail('already_in_room', 'This connection already speaks for a user.');
    }
    const user = await this.store.findUserBySessionToken(request.sessionToken);
    if (!user) {
      return fail('session_expired', 'The session has ended; join the room again.');
    }
    await this.timers.clear(graceKey(user.id));
    const previousSocketId = user.socketId;
    await this.store.takeOverConnection(user.id, socket.id);
    if (previousSocketId !== socket.id) {
      // The old connection (another tab, or one the server has not noticed is dead) stops speaking
      // for this user. Its disconnect is then ignored because the store names the new socket.
      this.io.in(previousSocketId).disconnectSockets(true);
    }
    this.bindSocket(socket, { ...user, socketId: socket.id });
    this.logger.info({ userId: user.id, room: roomName(user.room) }, 'resumed');
    return ok(await this.session(user));
  }

  /** A socket came back through Socket.IO's connection-state recovery (same id, rooms and data). */
  async recovered(socket: DuetSocket): Promise<void> {
    const userId = socket.data.userId;
    if (!userId) {
      return;
    }
    const user = await this.store.getUser(userId);
    if (user?.socketId !== socket.id) {
      // The seat was given up meanwhile (grace expired, or another connection resumed it).
      socket.data.userId = undefined;
      for (const channel of socket.rooms) {
        if (channel !== socket.id) {
          void socket.leave(channel);
        }
      }
      return;
    }
    await this.markReconnected(userId, socket.id);
  }

  /** The user's socket speaks for them again: connected, grace cancelled (unless it was replaced). */
  async markReconnected(userId: string, socketId: string): Promise<void> {
    if (await this.store.setConnected(userId, socketId, true)) {
      await this.timers.clear(graceKey(userId));
    }
  }

  private async leave(socket: DuetSocket): Promise<AckOf<'room:leave'>> {
    const userId = socket.data.userId;
    if (!userId) {
      return fail('not_in_room', 'You are not in a room.');
    }
    await this.removeFromRoom(userId);
    return ok({});
  }

  /** Runs in the socket's queue after its last event. */
  async disconnected(socket: DuetSocket, reason: string): Promise<void> {
    if (socket.data.knockId !== undefined && !this.closing) {
      await this.lobby.withdraw(socket);
    }
    const userId = socket.data.userId;
    if (!userId || this.closing) {
      return;
    }
    const user = await this.store.getUser(userId);
    if (user?.socketId !== socket.id) {
      return;
    } // a newer connection speaks for this user
    if (DELIBERATE_DISCONNECTS.has(reason) || this.options.reconnectGraceMs === 0) {
      await this.removeFromRoom(userId);
      return;
    }
    this.logger.info({ userId, reason }, 'connection lost; holding the seat');
    await this.markDisconnected(userId, socket.id);
  }

  /**
   * The user's connection is gone: hold the seat (and call) for the reconnect grace. A compare-and-set
   * on the socket, because the news can come late: another node may have resumed the session since
   * (and a grace timer armed then would end the resumed call).
   */
  async markDisconnected(userId: string, socketId: string): Promise<void> {
    if (!(await this.store.setConnected(userId, socketId, false))) {
      return;
    }
    await this.timers.set(graceKey(userId), this.options.reconnectGraceMs, socketId);
  }

  /** A timer is due (here, or on whichever node took it from Redis). */
  private async timerDue(key: string, payload: string): Promise<void> {
    if (this.closing) {
      return;
    }
    const [kind, id] = splitKey(key);
    if (kind === 'ring') {
      await this.endCall(id, 'timeout', undefined, undefined, 'ringing');
    } else if (kind === 'grace') {
      await this.graceExpired(id, payload);
    } else if (kind === 'knock') {
      await this.lobby.timedOut(id);
    }
  }

  private async graceExpired(userId: string, socketId: string): Promise<void> {
    const user = await this.store.getUser(userId);
    if (!user || user.connected || user.socketId !== socketId) {
      return;
    }
    this.logger.info({ userId }, 'reconnect grace expired');
    await this.removeFromRoom(userId);
  }

  private async removeFromRoom(userId: string): Promise<void> {
    const call = await this.store.getCallOfUser(userId);
    if (call) {
      await this.endCall(call.id, 'peer_left', userId, userId);
    }
    await this.timers.clear(graceKey(userId));
    const user = await this.store.removeUser(userId);
    if (!user) {
      return;
    }
    const channel = userChannel(userId);
    this.logger.info({ userId, room: roomName(user.room) }, 'left');
    // Presence before the cleanup below, which asks every node and may fail while Redis is away.
    this.io
      .to(roomChannel(user.room))
      .except(channel)
      .emit('presence', {
        room: roomName(user.room),
        change: 'left',
        user: { ...identity(user), state: 'free' },
      });
    // The last one out closes the room (those still waiting at its door are told).
    await this.lobby.roomLeft(user.room);
    try {
      for (const socket of await this.io.in(channel).fetchSockets()) {
        socket.data.userId = undefined;
      }
    } finally {
      this.io.in(channel).socketsLeave([roomChannel(user.room), channel]);
    }
  }

  private bindSocket(socket: DuetSocket, user: StoredUser): void {
    socket.data.userId = user.id;
    void socket.join([userChannel(user.id), roomChannel(user.room)]);
  }

  // ---------------------------------------------------------------------------------------------
  // Call control
  // ---------------------------------------------------------------------------------------------

  private async invite(
    socket: DuetSocket,
    request: ParsedRequestOf<'call:invite'>,
  ): Promise<AckOf<'call:invite'>> {
    const caller = await this.currentUser(socket);
    if (!caller) {
      return fail('not_in_room', 'Join a room before calling.');
    }
    if (request.to === caller.id) {
      return fail('cannot_call_self', 'You cannot call yourself.');
    }
    const callee = await this.store.getUser(request.to);
    // Someone in another room is reported exactly like someone who does not exist.
    if (callee?.room !== caller.room) {
      return fail('user_not_found', 'That person is not in this room.');
    }
    const call: StoredCall = {
      id: newId(),
      room: caller.room,
      callerId: caller.id,
      calleeId: callee.id,
      state: 'ringing',
      media: request.media,
      createdAt: Date.now(),
    };
    const outcome = await this.store.createCall(call);
    if (!outcome.ok) {
      return outcome.reason === 'caller_busy'
        ? fail('already_in_call', 'You are already in a call.')
        : fail('busy', `${callee.name} is in another call.`);
    }
    await this.timers.set(ringKey(call.id), this.options.ringTimeoutMs);
    this.logger.info({ callId: call.id, caller: caller.id, callee: callee.id }, 'ringing');
    const [callerPublic, calleePublic] = await Promise.all([
      this.publicUser(caller),
      this.publicUser(callee),
    ]);
    this.io.to(userChannel(callee.id)).emit('call:incoming', {
      callId: call.id,
      from: callerPublic,
      media: call.media,
      ringTimeoutMs: this.options.ringTimeoutMs,
    });
    this.announce(caller.room, callerPublic, calleePublic);
    return ok({ callId: call.id, ringTimeoutMs: this.options.ringTimeoutMs });
  }

  private async accept(
    socket: DuetSocket,
    request: ParsedRequestOf<'call:accept'>,
  ): Promise<AckOf<'call:accept'>> {
    const found = await this.callOfSender(socket, request.callId);
    if (!found.ok) {
      return found;
    }
    const { call, userId } = found;
    if (call.calleeId !== userId) {
      return fail('invalid_call_state', 'Only the person being called can accept.');
    }
    const active = await this.store.activateCall(call.id);
    if (!active) {
      return fail('invalid_call_state', 'This call is no longer ringing.');
    }
    await this.timers.clear(ringKey(call.id));
    const [caller, callee] = await Promise.all([
      this.store.getUser(call.callerId),
      this.store.getUser(call.calleeId),
    ]);
    if (!caller || !callee) {
      await this.endCall(call.id, 'peer_left', caller ? call.calleeId : call.callerId);
      return fail('call_not_found', 'The other person has left.');
    }
    const [callerPublic, calleePublic] = await Promise.all([
      this.publicUser(caller),
      this.publicUser(callee),
    ]);
    this.logger.info({ callId: call.id }, 'accepted');
    this.io
      .to(userChannel(caller.id))
      .emit('call:accepted', { callId: call.id, peer: calleePublic, polite: false });
    this.io
      .to(userChannel(callee.id))
      .emit('call:accepted', { callId: call.id, peer: callerPublic, polite: true });
    return ok({ callId: call.id });
  }

  private async decline(
    socket: DuetSocket,
    request: ParsedRequestOf<'call:decline'>,
  ): Promise<AckOf<'call:decline'>> {
    const found = await this.callOfSender(socket, request.callId);
    if (!found.ok) {
      return found;
    }
    const { call, userId } = found;
    if (call.calleeId !== userId || call.state !== 'ringing') {
      return fail(
        'invalid_call_state',
        'Only a ringing call can be declined, by the person called; hang up instead.',
      );
    }
    await this.endCall(call.id, 'declined', userId);
    return ok({ callId: call.id });
  }

  private async hangup(
    socket: DuetSocket,
    request: ParsedRequestOf<'call:hangup'>,
  ): Promise<AckOf<'call:hangup'>> {
    const found = await this.callOfSender(socket, request.callId);
    if (!found.ok) {
      return found;
    }
    const { call, userId } = found;
    const reason = hangupReason(call.state, call.callerId === userId ? 'caller' : 'callee');
    await this.endCall(call.id, reason, userId);
    return ok({ callId: call.id });
  }

  /**
   * End a call once (the store hands the call to only one of racing enders) and tell both parties.
   * `departing` is a party who is leaving the room: they get no presence update, a `left` follows.
   */
  private async endCall(
    callId: string,
    reason: CallEndReason,
    by?: string,
    departing?: string,
    onlyIf?: StoredCall['state'],
  ): Promise<void> {
    const call = await this.store.endCall(callId, onlyIf);
    if (!call) {
      return;
    }
    if (call.state === 'ringing') {
      await this.timers.clear(ringKey(call.id));
    }
    this.metrics.callsEnded.inc({ reason });
    this.logger.info({ callId, reason, by }, 'call ended');
    const event = by === undefined ? { callId, reason } : { callId, reason, by };
    this.io.to([userChannel(call.callerId), userChannel(call.calleeId)]).emit('call:ended', event);
    const parties = await Promise.all(
      [call.callerId, call.calleeId].filter((id) => id !== departing).map((id) => this.store.getUser(id)),
    );
    const present = parties.filter((user): user is StoredUser => user !== undefined);
    this.announce(call.room, ...(await Promise.all(present.map((user) => this.publicUser(user)))));
  }

  // ---------------------------------------------------------------------------------------------
  // Relay
  // ---------------------------------------------------------------------------------------------

  private async relay(socket: DuetSocket, request: ParsedRequestOf<'signal'>): Promise<AckOf<'signal'>> {
    const userId = socket.data.userId;
    if (!userId) {
      return fail('not_in_room', 'Join a room first.');
    }
    if (request.from !== undefined && request.from !== userId) {
      this.logger.warn({ userId, claimed: request.from }, 'forged sender refused');
      return fail('forged_sender', 'A message may only be sent as yourself.');
    }
    const call = await this.store.getCallOfUser(userId);
    const peer = call && (call.callerId === userId ? call.calleeId : call.callerId);
    if (call?.id !== request.callId || peer !== request.to || !mayRelay(call, userId, request.data)) {
      this.logger.warn(
        { userId, to: request.to, callId: request.callId },
        'relay outside an active call refused',
      );
      return fail('not_in_call', 'Signaling goes only to your peer in an active call.');
    }
    this.io.to(userChannel(peer)).emit('signal', { callId: call.id, from: userId, data: request.data });
    this.metrics.relayed.inc({ kind: request.data.kind });
    return ok({});
  }

  /**
   * A running peer-to-peer call whose signaling server forgot it (it restarted): each party claims it
   * with the key the two share (exchanged over their data channel, never seen here before). Two
   * matching claims from the same room, caller and callee, make it an active call again, so relay,
   * presence and ICE restarts work as before. A lone claim expires after a minute.
   */
  private async restoreCall(
    socket: DuetSocket,
    request: ParsedRequestOf<'call:restore'>,
  ): Promise<AckOf<'call:restore'>> {
    const me = await this.currentUser(socket);
    if (!me) {
      return fail('not_in_room', 'Join the room first.');
    }
    if (await this.store.getCallOfUser(me.id)) {
      return fail('already_in_call', 'You are already in a call.');
    }
    // The claims live in the store: the two parties may be connected to different nodes.
    const mine: RestoreClaim = { userId: me.id, room: me.room, key: request.key, role: request.role };
    const claim = await this.store.claimRestore(request.callId, mine, RESTORE_CLAIM_TTL_MS);
    if (!claim) {
      return ok({ state: 'waiting', peer: null });
    }
    const matches =
      claim.room === me.room &&
      claim.role !== request.role &&
      claim.key.length === request.key.length &&
      timingSafeEqual(Buffer.from(claim.key), Buffer.from(request.key));
    if (!matches) {
      return fail('call_not_found', 'There is no such call to restore.');
    }
    const other = await this.store.getUser(claim.userId);
    // Taking the claim decides between two racing matches: only one restores the call.
    if (!(await this.store.takeRestoreClaim(request.callId, claim)) || !other) {
      return fail('call_not_found', 'The other person is gone.');
    }
    const caller = request.role === 'caller' ? me : other;
    const callee = request.role === 'caller' ? other : me;
    const outcome = await this.store.createCall({
      id: request.callId,
      room: me.room,
      callerId: caller.id,
      calleeId: callee.id,
      state: 'ringing',
      media: { audio: true, video: true },
      createdAt: Date.now(),
    });
    if (!outcome.ok) {
      return fail('busy', 'One of you is in another call.');
    }
    await this.store.activateCall(request.callId);
    this.logger.info({ callId: request.callId }, 'call restored');
    const [mePublic, otherPublic] = await Promise.all([this.publicUser(me), this.publicUser(other)]);
    this.io.to(userChannel(other.id)).emit('call:restored', { callId: request.callId, peer: mePublic });
    this.announce(me.room, mePublic, otherPublic);
    return ok({ state: 'restored', peer: otherPublic });
  }

  /** Fresh TURN credentials for a joined user, a few per minute at most. */
  private async refreshIceServers(socket: DuetSocket): Promise<AckOf<'ice:refresh'>> {
    const userId = socket.data.userId;
    if (!userId) {
      return fail('not_in_room', 'Join a room first.');
    }
    try {
      await this.iceRefreshLimiter.consume(userId);
    } catch {
      return fail('rate_limited', 'TURN credentials were refreshed too often; try again in a minute.');
    }
    const { iceServers, expiresAt } = iceServersFor(this.options.ice, userId);
    return ok({ iceServers, iceServersExpireAt: expiresAt });
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  private async currentUser(socket: DuetSocket): Promise<StoredUser | undefined> {
    const userId = socket.data.userId;
    return userId === undefined ? undefined : this.store.getUser(userId);
  }

  private async callOfSender(
    socket: DuetSocket,
    callId: string,
  ): Promise<{ ok: true; call: StoredCall; userId: string } | ReturnType<typeof fail>> {
    const userId = socket.data.userId;
    if (!userId) {
      return fail('not_in_room', 'Join a room first.');
    }
    const call = await this.store.getCall(callId);
    // A call the sender is not party to is reported exactly like one that does not exist.
    if (!call || (call.callerId !== userId && call.calleeId !== userId)) {
      return fail('call_not_found', 'There is no such call.');
    }
    return { ok: true, call, userId };
  }

  private async publicUser(user: StoredUser): Promise<PublicUser> {
    return { ...identity(user), state: userState(await this.store.getCallOfUser(user.id)) };
  }

  private announce(room: string, ...users: PublicUser[]): void {
    for (const user of users) {
      this.io.to(roomChannel(room)).emit('presence', { room: roomName(room), change: 'updated', user });
    }
  }

  private async session(user: StoredUser): Promise<Session> {
    const [members, settings, knocks] = await Promise.all([
      this.store.listRoom(user.room),
      this.store.getRoomSettings(user.room),
      this.lobby.knocks(user.room),
    ]);
    const users = await Promise.all(members.map((member) => this.publicUser(member)));
    const self = users.find((u) => u.id === user.id) ?? (await this.publicUser(user));
    const { iceServers, expiresAt } = iceServersFor(this.options.ice, user.id);
    return {
      self,
      sessionToken: user.sessionToken,
      room: {
        name: roomName(user.room),
        capacity: this.options.roomCapacity,
        users,
        settings: this.lobby.publicSettings(settings),
        knocks,
      },
      iceServers,
      iceServersExpireAt: expiresAt,
      iceTransportPolicy: this.options.iceTransportPolicy,
      call: await this.callInfo(user.id),
    };
  }

  private async callInfo(userId: string): Promise<CallInfo | null> {
    const call = await this.store.getCallOfUser(userId);
    if (!call) {
      return null;
    }
    const role = call.callerId === userId ? 'caller' : 'callee';
    const peer = await this.store.getUser(role === 'caller' ? call.calleeId : call.callerId);
    if (!peer) {
      return null;
    }
    return {
      callId: call.id,
      state: call.state,
      role,
      peer: await this.publicUser(peer),
      media: call.media,
      polite: role === 'callee',
    };
  }

  /** Refresh the store-derived gauges (on scrape). */
  async refreshMetrics(): Promise<void> {
    const counts = await this.store.counts();
    this.metrics.rooms.set(counts.rooms);
    this.metrics.users.set(counts.users);
    this.metrics.knocksWaiting.set(counts.knocks);
    this.metrics.calls.set({ state: 'ringing' }, counts.ringingCalls);
    this.metrics.calls.set({ state: 'active' }, counts.activeCalls);
  }

  /** Stop timers and ignore disconnects: the process is going away. */
  close(): void {
    this.closing = true;
    this.timers.close();
  }
}

const ringKey = timerKeys.ring;
const graceKey = timerKeys.grace;
/** How long a lone `call:restore` claim waits for the other party. */
const RESTORE_CLAIM_TTL_MS = 60_000;

/**
 * What may pass between the two parties of a call. Once it is active, anything. While it rings, only
 * the caller's offer and its candidates, one way: the callee's browser applies them so it can answer
 * the moment its user accepts (see docs/protocol.md, "Placing a call"), but nothing of the callee (no
 * answer, no candidate, so not its addresses) reaches the caller before that.
 */
function mayRelay(call: StoredCall, from: string, data: SignalData): boolean {
  if (call.state === 'active') {
    return true;
  }
  const callersOffer =
    data.kind === 'candidate' || (data.kind === 'description' && data.description.type === 'offer');
  return call.callerId === from && callersOffer;
}

/** `kind:id` → [kind, id] (ids never contain a colon, but split at the first one regardless). */
function splitKey(key: string): [string, string] {
  const at = key.indexOf(':');
  return at < 0 ? [key, ''] : [key.slice(0, at), key.slice(at + 1)];
}

/** Who a user is to others: id, name, and the kind of peer when it is not a browser. */
function identity(user: StoredUser): Pick<PublicUser, 'id' | 'name' | 'agent'> {
  return { id: user.id, name: user.name, ...(user.agent ? { agent: user.agent } : {}) };
}
