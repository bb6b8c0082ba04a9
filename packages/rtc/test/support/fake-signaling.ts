import type { CallMedia, PublicUser, RoomSnapshot, Session, SignalData } from '@duet/protocol';
import { Emitter } from '../../src/emitter.js';
import type { SignalingEvents, SignalingPort } from '../../src/signaling/signaling-client.js';
import type { ConnectionPhase } from '../../src/client/client-types.js';

/**
 * A stand-in for the signaling server and one client's connection to it, in memory: enough of the
 * server's rules (rooms, invites, accept, relay, hang-up) to drive DuetClients through calls without
 * a socket. Every request is recorded, so a test can see what a client asked of the server; events
 * are delivered asynchronously, as a socket would.
 */
export class FakeServer {
  readonly clients = new Map<string, FakeSignaling>();
  private room: RoomSnapshot = {
    name: 'lobby',
    capacity: 2,
    users: [],
    settings: { access: 'open', askToJoin: false, locked: false, password: false },
    knocks: [],
  };
  private calls = new Map<string, { caller: string; callee: string; active: boolean }>();
  /** Signals the server's rules refused (outside a call, or from the callee while it rings). */
  readonly refused: Array<{ from: string; data: SignalData }> = [];
  private nextId = 1;
  ringTimeoutMs = 30_000;
  iceServers: RTCIceServer[] = [];
  iceServersExpireAt: number | null = null;

  connect(name: string): FakeSignaling {
    return new FakeSignaling(this, name);
  }

  id(prefix: string): string {
    return `${prefix}${String(this.nextId++)}`.padEnd(22, 'x');
  }

  join(client: FakeSignaling, room: string): Session {
    const self: PublicUser = { id: client.userId, name: client.name, state: 'free' };
    for (const other of this.clients.values()) {
      other.deliver('presence', { room, change: 'joined', user: self });
    }
    this.room = { ...this.room, name: room, users: [...this.room.users, self] };
    this.clients.set(client.userId, client);
    return {
      self,
      sessionToken: 't'.repeat(43),
      room: this.room,
      iceServers: this.iceServers,
      iceServersExpireAt: this.iceServersExpireAt,
      iceTransportPolicy: 'all',
      call: null,
    };
  }

  leave(client: FakeSignaling): void {
    this.clients.delete(client.userId);
    const user = this.user(client.userId);
    this.room = { ...this.room, users: this.room.users.filter((u) => u.id !== client.userId) };
    for (const other of this.clients.values()) {
      other.deliver('presence', { room: this.room.name, change: 'left', user });
    }
  }

  invite(from: FakeSignaling, to: string, media: CallMedia): { callId: string; ringTimeoutMs: number } {
    const callId = this.id('call');
    this.calls.set(callId, { caller: from.userId, callee: to, active: false });
    this.clients.get(to)?.deliver('call:incoming', {
      callId,
      from: this.user(from.userId),
      media,
      ringTimeoutMs: this.ringTimeoutMs,
    });
    return { callId, ringTimeoutMs: this.ringTimeoutMs };
  }

  accept(callId: string): void {
    const call = this.calls.get(callId);
    if (!call) {
      return;
    }
    call.active = true;
    this.clients
      .get(call.caller)
      ?.deliver('call:accepted', { callId, peer: this.user(call.callee), polite: false });
    this.clients
      .get(call.callee)
      ?.deliver('call:accepted', { callId, peer: this.user(call.caller), polite: true });
  }

  end(from: FakeSignaling, callId: string, reason: 'declined' | 'hangup' | 'cancelled'): void {
    const call = this.calls.get(callId);
    if (!call) {
      return;
    }
    this.calls.delete(callId);
    const other = call.caller === from.userId ? call.callee : call.caller;
    this.clients.get(other)?.deliver('call:ended', { callId, reason, by: from.userId });
  }

  /** As the server does: anything in an active call; while it rings, only the caller's offer and candidates. */
  relay(from: FakeSignaling, callId: string, to: string, data: SignalData): void {
    const call = this.calls.get(callId);
    const parties =
      call && [call.caller, call.callee].includes(from.userId) && [call.caller, call.callee].includes(to);
    const callersOffer =
      call?.caller === from.userId &&
      (data.kind === 'candidate' || (data.kind === 'description' && data.description.type === 'offer'));
    if (!call || !parties || (!call.active && !callersOffer)) {
      this.refused.push({ from: from.userId, data });
      return;
    }
    this.clients.get(to)?.deliver('signal', { callId, from: from.userId, data });
  }

  private user(id: string): PublicUser {
    return this.room.users.find((u) => u.id === id) ?? { id, name: 'gone', state: 'free' };
  }
}

type Request = { event: string; payload: unknown };

export class FakeSignaling extends Emitter<SignalingEvents> implements SignalingPort {
  readonly userId: string;
  /** Every request this client made, in order. */
  readonly requests: Request[] = [];
  /** While true, nothing reaches the server or comes back from it (the server is down). */
  down = false;
  /** While true, signals relayed to this client are lost on the way. */
  dropSignals = false;
  connection: ConnectionPhase = 'idle';
  sessionInfo: { room: string; name: string } | null = null;

  constructor(
    private readonly server: FakeServer,
    readonly name: string,
  ) {
    super();
    this.userId = server.id(`user-${name}-`);
  }

  deliver<E extends keyof SignalingEvents>(event: E, payload: SignalingEvents[E]): void {
    if (event === 'signal' && this.dropSignals) {
      return;
    }
    setTimeout(() => {
      if (!this.down) {
        this.emit(event, payload);
      }
    }, 1);
  }

  private record(event: string, payload: unknown): void {
    this.requests.push({ event, payload });
  }

  async connect(): Promise<void> {
    this.connection = 'connected';
    this.emit('connection', 'connected');
  }

  async join(room: string, name: string): Promise<Session> {
    this.record('room:join', { room, name });
    const session = this.server.join(this, room);
    this.sessionInfo = { room, name };
    this.emit('session', session);
    return session;
  }

  cancelKnock(): void {
    this.record('lobby:cancel', {});
  }

  async answerKnock(knockId: string, admit: boolean): Promise<void> {
    this.record(admit ? 'lobby:admit' : 'lobby:deny', { knockId });
  }

  async changeRoomSettings(patch: { askToJoin?: boolean; locked?: boolean }): Promise<void> {
    this.record('room:settings', patch);
  }

  async leave(): Promise<void> {
    this.record('room:leave', {});
    this.server.leave(this);
    this.sessionInfo = null;
  }

  async invite(to: string, media: CallMedia) {
    this.record('call:invite', { to, media });
    return this.server.invite(this, to, media);
  }

  async accept(callId: string) {
    this.record('call:accept', { callId });
    this.server.accept(callId);
    return { callId };
  }

  async decline(callId: string) {
    this.record('call:decline', { callId });
    this.server.end(this, callId, 'declined');
    return { callId };
  }

  async hangup(callId: string) {
    this.record('call:hangup', { callId });
    this.server.end(this, callId, 'hangup');
    return { callId };
  }

  async restoreCall(callId: string, key: string, role: 'caller' | 'callee') {
    this.record('call:restore', { callId, key, role });
    return { state: 'waiting' as const, peer: null };
  }

  async refreshIceServers() {
    this.record('ice:refresh', {});
    return { iceServers: this.server.iceServers, iceServersExpireAt: this.server.iceServersExpireAt };
  }

  /** The fake server always answers (a test drops the connection with its own controls). */
  async checkConnection(): Promise<boolean> {
    return this.connection === 'connected';
  }

  signal(callId: string, to: string, data: SignalData): void {
    this.record('signal', { callId, to, data });
    if (!this.down) {
      this.server.relay(this, callId, to, data);
    }
  }

  close(): void {
    this.connection = 'disconnected';
  }
}
