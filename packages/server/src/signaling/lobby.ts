/**
 * The door of a room: which room a request names (secret → store key), its password, and the lobby
 * of a room that asks newcomers to knock. A knock goes through these states, each change one atomic
 * store step (`takeKnock` hands a knock to exactly one of racing admit, deny, cancel and timeout):
 *
 *   (none) --room:knock--> waiting --lobby:admit--> admitted (ticket sent; the join uses it)
 *   waiting --lobby:deny--> refused(knock_denied)     waiting --knock timeout--> refused(knock_timeout)
 *   waiting --last member leaves--> refused(room_closed)
 *   waiting --lobby:cancel or disconnect--> cancelled
 */
import {
  LIMITS,
  fail,
  ok,
  type AckOf,
  type Failure,
  type Knock,
  type ParsedRequestOf,
  type RoomSettings,
} from '@duet/protocol';
import { newId, newSessionToken } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { timerKeys, type Scheduler } from '../cluster/scheduler.js';
import type { Store, StoredKnock, StoredRoomSettings, StoredUser } from '../store/types.js';
import {
  PasswordAttempts,
  roomKey,
  roomName,
  ticketHash,
  verifyPassword,
  type AttemptLimits,
} from './room-access.js';
import { knockChannel, roomChannel, type DuetIo, type DuetSocket } from './types.js';

export interface LobbyOptions {
  /** Rooms by plain name (no secret) are allowed, labelled open. */
  openRooms: boolean;
  knockTimeoutMs: number;
  passwordAttempts: AttemptLimits;
}

/** How long an admitted knocker has to join with their ticket. */
const TICKET_TTL_MS = 60_000;

/** The room a join or knock names: its store key, and the access a room made by it would have. */
export interface RoomTarget {
  key: string;
  access: 'private' | 'open';
  /** Whether this request may make the room: an open room always, a private one on `create`. */
  mayCreate: boolean;
}

export class Lobby {
  private readonly attempts: PasswordAttempts;

  constructor(
    private readonly io: DuetIo,
    private readonly store: Store,
    private readonly timers: Scheduler,
    private readonly options: LobbyOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.attempts = new PasswordAttempts(
      (key, limit, windowMs) => this.store.consumeAttempt(key, limit, windowMs),
      options.passwordAttempts,
    );
  }

  /**
   * Without a secret, and without open rooms, the request names a private room with an empty
   * secret, which can never be made: it goes down the same path as every wrong secret and is
   * refused as a room that does not exist.
   */
  target(name: string, secret: string | undefined, create: boolean | undefined): RoomTarget {
    if (secret === undefined && this.options.openRooms) {
      return { key: roomKey(name, undefined), access: 'open', mayCreate: true };
    }
    return {
      key: roomKey(name, secret ?? ''),
      access: 'private',
      mayCreate: secret !== undefined && create === true,
    };
  }

  /**
   * Check a password against the room's, within the attempt limits. Returns the stored hash it was
   * verified against ('' when the room has none), which the store compares when it decides.
   */
  async checkPassword(
    socket: DuetSocket,
    key: string,
    settings: StoredRoomSettings | undefined,
    password: string | undefined,
  ): Promise<{ ok: true; verified: string } | Failure> {
    if (!settings || settings.passwordHash === '') {
      return { ok: true, verified: '' };
    }
    if (password === undefined) {
      return fail('password_required', 'This room has a password.');
    }
    const retryAfterMs = await this.attempts.take(socket.data.ip, key);
    if (retryAfterMs > 0) {
      this.logger.warn({ ip: socket.data.ip, room: roomName(key) }, 'password attempts limited');
      return fail(
        'too_many_attempts',
        `Too many password attempts; try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
        retryAfterMs,
      );
    }
    if (!(await verifyPassword(password, settings.passwordHash))) {
      return fail('wrong_password', 'That password is not right.');
    }
    return { ok: true, verified: settings.passwordHash };
  }

  /** What members see of the settings (the password's hash never leaves the server). */
  publicSettings(settings: StoredRoomSettings | undefined): RoomSettings {
    return {
      access: settings?.access ?? 'private',
      askToJoin: settings?.askToJoin ?? false,
      locked: settings?.locked ?? false,
      password: (settings?.passwordHash ?? '') !== '',
    };
  }

  async knocks(room: string): Promise<Knock[]> {
    return (await this.store.listKnocks(room)).map((knock) => ({ knockId: knock.id, name: knock.name }));
  }

  // ---------------------------------------------------------------------------------------------
  // The knocker's side
  // ---------------------------------------------------------------------------------------------

  async knock(socket: DuetSocket, request: ParsedRequestOf<'room:knock'>): Promise<AckOf<'room:knock'>> {
    if (socket.data.userId) {
      return fail('already_in_room', 'Leave the current room before knocking on another.');
    }
    // One knock per connection: a new one replaces the old.
    await this.withdraw(socket);
    const { key } = this.target(request.room, request.secret, false);
    const settings = await this.store.getRoomSettings(key);
    const password = await this.checkPassword(socket, key, settings, request.password);
    if (!password.ok) {
      return password;
    }
    const knock: StoredKnock = { id: newId(), room: key, name: request.name, createdAt: Date.now() };
    const outcome = await this.store.addKnock(knock, LIMITS.maxKnocksPerRoom, password.verified);
    if (!outcome.ok) {
      return refusal(outcome.reason);
    }
    socket.data.knockId = knock.id;
    await socket.join(knockChannel(knock.id));
    await this.timers.set(timerKeys.knock(knock.id), this.options.knockTimeoutMs);
    this.metrics.knocks.inc({ outcome: 'knocked' });
    this.logger.info({ knockId: knock.id, room: roomName(key) }, 'knocked');
    this.io.to(roomChannel(key)).emit('lobby:knock', { knockId: knock.id, name: knock.name });
    return ok({ knockId: knock.id, timeoutMs: this.options.knockTimeoutMs });
  }

  async cancel(socket: DuetSocket): Promise<AckOf<'lobby:cancel'>> {
    if (!(await this.withdraw(socket))) {
      return fail('knock_not_found', 'You are not waiting to be let in.');
    }
    return ok({});
  }

  /** The socket's knock, if any, is withdrawn (cancel, disconnect, a new knock, a join). */
  async withdraw(socket: DuetSocket): Promise<boolean> {
    const knockId = socket.data.knockId;
    if (knockId === undefined) {
      return false;
    }
    socket.data.knockId = undefined;
    void socket.leave(knockChannel(knockId));
    const knock = await this.store.takeKnock(knockId);
    if (!knock) {
      return false;
    }
    await this.ended(knock, 'cancelled');
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // The members' side
  // ---------------------------------------------------------------------------------------------

  async admit(member: StoredUser | undefined, knockId: string): Promise<AckOf<'lobby:admit'>> {
    if (!member) {
      return fail('not_in_room', 'Only members can let people in.');
    }
    const ticket = newSessionToken();
    const knock = await this.store.takeKnock(knockId, member.room, {
      hash: ticketHash(ticket),
      ttlMs: TICKET_TTL_MS,
    });
    if (!knock) {
      return fail('knock_not_found', 'Nobody is waiting with that knock.');
    }
    this.io.to(knockChannel(knock.id)).emit('lobby:admitted', { knockId: knock.id, ticket });
    this.logger.info({ knockId, by: member.id }, 'knock admitted');
    await this.ended(knock, 'admitted');
    return ok({});
  }

  async deny(member: StoredUser | undefined, knockId: string): Promise<AckOf<'lobby:deny'>> {
    if (!member) {
      return fail('not_in_room', 'Only members can turn people away.');
    }
    const knock = await this.store.takeKnock(knockId, member.room);
    if (!knock) {
      return fail('knock_not_found', 'Nobody is waiting with that knock.');
    }
    this.refuse(knock.id, 'knock_denied');
    this.logger.info({ knockId, by: member.id }, 'knock denied');
    await this.ended(knock, 'denied');
    return ok({});
  }

  async changeSettings(
    member: StoredUser | undefined,
    request: ParsedRequestOf<'room:settings'>,
  ): Promise<AckOf<'room:settings'>> {
    if (!member) {
      return fail('not_in_room', 'Join a room first.');
    }
    const patch = {
      ...(request.askToJoin === undefined ? {} : { askToJoin: request.askToJoin }),
      ...(request.locked === undefined ? {} : { locked: request.locked }),
    };
    const stored = await this.store.updateRoomSettings(member.room, patch);
    if (!stored) {
      return fail('not_in_room', 'The room is gone.');
    }
    const settings = this.publicSettings(stored);
    this.logger.info({ room: roomName(member.room), by: member.id, ...patch }, 'room settings changed');
    this.io
      .to(roomChannel(member.room))
      .emit('room:settings', { room: roomName(member.room), settings, by: member.id });
    return ok({ settings });
  }

  // ---------------------------------------------------------------------------------------------
  // Endings the server decides
  // ---------------------------------------------------------------------------------------------

  /** The knock's timer is due: nobody answered. */
  async timedOut(knockId: string): Promise<void> {
    const knock = await this.store.takeKnock(knockId);
    if (!knock) {
      return;
    }
    this.refuse(knock.id, 'knock_timeout');
    await this.ended(knock, 'timeout');
  }

  /** The room's last member left: the room and its settings go, and everyone waiting is told. */
  async roomLeft(room: string): Promise<void> {
    const knocks = await this.store.closeRoomIfEmpty(room);
    for (const knock of knocks ?? []) {
      await this.timers.clear(timerKeys.knock(knock.id));
      this.refuse(knock.id, 'room_closed');
      this.metrics.knocks.inc({ outcome: 'room_closed' });
    }
  }

  private refuse(knockId: string, code: 'knock_denied' | 'knock_timeout' | 'room_closed'): void {
    this.io.to(knockChannel(knockId)).emit('lobby:refused', { knockId, code });
    this.io.in(knockChannel(knockId)).socketsLeave(knockChannel(knockId));
  }

  /** A knock is over: its timer goes, and the members drop it from their list. */
  private async ended(
    knock: StoredKnock,
    outcome: 'admitted' | 'denied' | 'cancelled' | 'timeout',
  ): Promise<void> {
    this.metrics.knocks.inc({ outcome });
    await this.timers.clear(timerKeys.knock(knock.id));
    this.io.to(roomChannel(knock.room)).emit('lobby:knock-ended', { knockId: knock.id, outcome });
  }
}

/** The store's refusal of a join or knock, as the client is told it. */
export function refusal(
  reason:
    | 'room_not_found'
    | 'room_locked'
    | 'knock_required'
    | 'knock_not_needed'
    | 'lobby_full'
    | 'password_required',
): Failure {
  switch (reason) {
    case 'room_not_found':
      // Said the same way for a room that never existed, one that ended, and a wrong secret.
      return fail(
        'room_not_found',
        'There is no room at this link: it has ended, or the link is incomplete.',
      );
    case 'room_locked':
      return fail('room_locked', 'This room is locked: nobody else can join until a member unlocks it.');
    case 'knock_required':
      return fail('knock_required', 'This room asks newcomers to knock and wait to be let in.');
    case 'knock_not_needed':
      return fail('knock_not_needed', 'This room lets people in without asking; join it.');
    case 'lobby_full':
      return fail('lobby_full', 'Too many people are waiting to be let in; try again later.');
    case 'password_required':
      return fail('password_required', 'This room has a password.');
  }
}
