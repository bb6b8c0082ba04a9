import { io, type Socket } from 'socket.io-client';
import {
  CLIENT_EVENTS,
  ConnectErrorDataSchema,
  FailureSchema,
  PROTOCOL_VERSION,
  SERVER_EVENTS,
  normalizeRoomName,
  type AckOf,
  type Agent,
  type CallMedia,
  type ClientEventName,
  type ClientToServerEvents,
  type RequestOf,
  type ResponseOf,
  type ServerEventName,
  type ServerPayloadOf,
  type ServerToClientEvents,
  type Session,
  type SignalData,
} from '@duet/protocol';
import type { ConnectionPhase } from '../client/client-types.js';
import { Emitter } from '../emitter.js';
import { DuetError } from '../errors.js';
import { randomBase64Url } from '../ids.js';
import { SessionStore, type StorageLike, type StoredSession } from './session-store.js';

export type { StorageLike } from './session-store.js';

export type SignalingEvents = { [E in ServerEventName]: ServerPayloadOf<E> } & {
  connection: ConnectionPhase;
  /** A session began or was restored (join, resume, or an automatic re-join). */
  session: Session;
  /** The server forgot us (e.g. it restarted): the owner should join again (with `access`). */
  'session-lost': { room: string; name: string; access: RoomAccess };
  /** This connection is waiting to be let into a room (null: not, or no longer). */
  knocking: { knockId: string; timeoutMs: number } | null;
  /** The server closed this connection because another one now speaks for the same session. */
  replaced: undefined;
  /** A server event failed its schema and was dropped. */
  'invalid-event': { event: string; issues: string };
};

export interface SignalingClientOptions {
  /** Server URL; empty or undefined means the page's own origin. */
  url?: string;
  storage?: StorageLike;
  requestTimeoutMs?: number;
  /** For tests: the transports to use (default: websocket, falling back to polling). */
  transports?: Array<'websocket' | 'polling'>;
  /** The kind of peer this is, told to the server on join (others see it); default: a browser. */
  agent?: Agent;
}

/**
 * How a join reaches its room: the private room's `secret` (from the link), `create` to make the
 * room when nobody is in it, the room's `password`. Without a secret only an open room is reached.
 */
export interface RoomAccess {
  secret?: string;
  create?: boolean;
  password?: string;
}

/** A join whose connection dropped before the answer is sent again, this many times in all. */
const JOIN_ATTEMPTS = 3;
/**
 * How long `checkConnection` waits for the server: a live connection answers within a round trip
 * (and a busy server's queue); a dead one never does.
 */
const CONNECTION_CHECK_MS = 3000;

/**
 * What the call core needs of a signaling client: `DuetClient` takes any object of this shape, so
 * it can be tested against a fake server and another transport could stand in.
 */
export type SignalingPort = Pick<
  SignalingClient,
  | 'connection'
  | 'sessionInfo'
  | 'connect'
  | 'join'
  | 'leave'
  | 'invite'
  | 'accept'
  | 'decline'
  | 'hangup'
  | 'restoreCall'
  | 'refreshIceServers'
  | 'checkConnection'
  | 'signal'
  | 'close'
  | 'on'
  | 'cancelKnock'
  | 'answerKnock'
  | 'changeRoomSettings'
>;

/**
 * The client side of the signaling protocol over Socket.IO. Every server event is parsed with its
 * schema before anyone sees it; every request resolves with the parsed acknowledgement or rejects
 * with a DuetError carrying the server's code. After a reconnect it restores the session by itself:
 * Socket.IO's state recovery when it can, `session:resume` with the stored token otherwise.
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly requestTimeoutMs: number;
  private readonly sessionStore: SessionStore;
  private everConnected = false;
  private restartExpected = false;
  private retryAfterMs = 1000;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private phase: ConnectionPhase = 'idle';
  private readonly agent: Agent | undefined;
  /** Ends the wait of a knock in progress (the user cancelled). */
  private stopWaiting: ((error: DuetError) => void) | undefined;
  /** The user gave up while the knock was still on its way: the wait ends as soon as it starts. */
  private cancelRequested = false;

  constructor(options: SignalingClientOptions = {}) {
    super();
    this.agent = options.agent;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.sessionStore = new SessionStore(options.storage);
    const socketOptions = {
      auth: { protocolVersion: PROTOCOL_VERSION },
      autoConnect: false,
      transports: options.transports ?? ['websocket', 'polling'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    };
    this.socket = options.url ? io(options.url, socketOptions) : io(socketOptions);
    for (const event of Object.keys(SERVER_EVENTS) as ServerEventName[]) {
      (this.socket as unknown as Socket).on(event, (payload: unknown) => this.receive(event, payload));
    }
    this.socket.on('connect', () => void this.onConnect());
    this.on('server:shutdown', ({ retryAfterMs }) => {
      this.restartExpected = true;
      this.retryAfterMs = Math.min(retryAfterMs, 30_000);
    });
    this.socket.on('disconnect', (reason) => {
      // Socket.IO retries everything but a disconnect by us or by the server. The server only drops
      // a healthy connection when another one (another tab, a reloaded page) took over the session.
      if (reason === 'io server disconnect' && this.restartExpected) {
        // The server announced a restart: come back after the pause it asked for.
        this.restartExpected = false;
        this.setPhase('reconnecting');
        this.reconnectTimer = setTimeout(() => this.socket.connect(), this.retryAfterMs);
        return;
      }
      if (reason === 'io server disconnect') {
        this.emit('replaced', undefined);
      }
      const final = reason === 'io client disconnect' || reason === 'io server disconnect';
      this.setPhase(final ? 'disconnected' : 'reconnecting');
    });
  }

  get connection(): ConnectionPhase {
    return this.phase;
  }

  /** The room and name of the current (or stored) session, and the private room's secret. */
  get sessionInfo(): { room: string; name: string; secret?: string } | null {
    const current = this.sessionStore.current;
    return (
      current && {
        room: current.room,
        name: current.name,
        ...(current.secret === undefined ? {} : { secret: current.secret }),
      }
    );
  }

  /** Connect; rejects with `unsupported_protocol_version` or `server_unreachable`. */
  connect(): Promise<void> {
    if (this.socket.connected) {
      return Promise.resolve();
    }
    this.setPhase('connecting');
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.socket.off('connect', onConnect);
        this.socket.off('connect_error', onError);
      };
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const onError = (error: Error & { data?: unknown }) => {
        const data = ConnectErrorDataSchema.safeParse(error.data);
        if (data.success && data.data.code === 'unsupported_protocol_version') {
          cleanup();
          this.socket.disconnect();
          this.setPhase('disconnected');
          reject(new DuetError('unsupported_protocol_version', data.data.message));
          return;
        }
        // Socket.IO keeps retrying by itself; the first failure is reported, a later connect still lands.
        cleanup();
        this.setPhase('reconnecting');
        reject(
          new DuetError('server_unreachable', `Cannot reach the Duet server (${error.message}).`, {
            cause: error,
          }),
        );
      };
      this.socket.on('connect', onConnect);
      this.socket.on('connect_error', onError);
      this.socket.connect();
    });
  }

  /**
   * Join a room, or, after a reload in the same tab, take back the session we had in it. A room that
   * asks newcomers to knock is knocked on, and joined once a member lets us in (`knocking` tells
   * the UI meanwhile); a refusal rejects with its code (`knock_denied`, `knock_timeout`, …).
   */
  async join(room: string, name: string, access: RoomAccess = {}): Promise<Session> {
    this.cancelRequested = false;
    const stored = this.sessionStore.current;
    if (stored && stored.room === normalizeRoomName(room) && stored.secret === access.secret) {
      const resumed = await this.tryResume(stored);
      if (resumed) {
        this.emit('session', resumed);
        return resumed;
      }
    }
    let session: Session;
    try {
      session = await this.joinSurvivingDrops(room, name, access);
    } catch (error) {
      if (!(error instanceof DuetError) || error.reason !== 'knock_required') {
        throw error;
      }
      const ticket = await this.waitToBeLetIn(room, name, access);
      session = await this.joinSurvivingDrops(room, name, { ...access, ticket });
    }
    this.sessionStore.remember({
      token: session.sessionToken,
      room: session.room.name,
      name: session.self.name,
      ...(access.secret === undefined ? {} : { secret: access.secret }),
    });
    this.emit('session', session);
    return session;
  }

  /** Stop waiting to be let in: the knock is withdrawn and the join rejects with `join_cancelled`. */
  cancelKnock(): void {
    this.cancelRequested = true;
    this.stopWaiting?.(new DuetError('join_cancelled', 'You stopped waiting to be let in.'));
  }

  /** A member lets a knocker in, or turns them away. */
  async answerKnock(knockId: string, admit: boolean): Promise<void> {
    await this.request(admit ? 'lobby:admit' : 'lobby:deny', { knockId });
  }

  /** A member switches "ask to join" or the lock. */
  async changeRoomSettings(patch: RequestOf<'room:settings'>): Promise<void> {
    await this.request('room:settings', patch);
  }

  /**
   * Knock and wait for the answer: the ticket when a member admits us; a rejection with the code
   * when they deny, nobody answers, everyone leaves, the connection drops, or the user gives up.
   */
  private async waitToBeLetIn(room: string, name: string, access: RoomAccess): Promise<string> {
    const { knockId, timeoutMs } = await this.request('room:knock', {
      room,
      name,
      ...(access.secret === undefined ? {} : { secret: access.secret }),
      ...(access.password === undefined ? {} : { password: access.password }),
    });
    this.emit('knocking', { knockId, timeoutMs });
    const cleanups: Array<() => void> = [];
    try {
      return await new Promise<string>((resolve, reject) => {
        cleanups.push(
          this.on('lobby:admitted', (event) => event.knockId === knockId && resolve(event.ticket)),
          this.on('lobby:refused', (event) => {
            if (event.knockId === knockId) {
              reject(new DuetError(event.code, `The knock ended: ${event.code}.`));
            }
          }),
        );
        const onDisconnect = () =>
          reject(new DuetError('connection_lost', 'The connection dropped while waiting to be let in.'));
        this.socket.once('disconnect', onDisconnect);
        cleanups.push(() => this.socket.off('disconnect', onDisconnect));
        this.stopWaiting = (error) => {
          if (this.socket.connected) {
            this.socket.emit('lobby:cancel', {});
          }
          reject(error);
        };
        if (this.cancelRequested) {
          this.stopWaiting(new DuetError('join_cancelled', 'You stopped waiting to be let in.'));
        }
      });
    } finally {
      this.stopWaiting = undefined;
      for (const cleanup of cleanups) {
        cleanup();
      }
      this.emit('knocking', null);
    }
  }

  async leave(): Promise<void> {
    this.sessionStore.forget();
    if (this.socket.connected) {
      await this.request('room:leave', {});
    }
  }

  invite(to: string, media: CallMedia): Promise<ResponseOf<'call:invite'>> {
    return this.request('call:invite', { to, media });
  }

  accept(callId: string): Promise<ResponseOf<'call:accept'>> {
    return this.request('call:accept', { callId });
  }

  decline(callId: string): Promise<ResponseOf<'call:decline'>> {
    return this.request('call:decline', { callId });
  }

  hangup(callId: string): Promise<ResponseOf<'call:hangup'>> {
    return this.request('call:hangup', { callId });
  }

  /** Claim a running call on a server that forgot it (see the server's `call:restore`). */
  restoreCall(callId: string, key: string, role: 'caller' | 'callee'): Promise<ResponseOf<'call:restore'>> {
    return this.request('call:restore', { callId, key, role });
  }

  /** Fresh STUN/TURN servers (new short-lived TURN credentials). */
  refreshIceServers(): Promise<ResponseOf<'ice:refresh'>> {
    return this.request('ice:refresh', {});
  }

  /**
   * Make sure the connection to the server is alive, now. A network change (a phone leaving Wi-Fi,
   * an address that went away) kills the WebSocket without a word, and Socket.IO notices only when
   * the server's heartbeat is missed: up to pingInterval + pingTimeout (25 s), while the call needs
   * the server at once for its ICE restart. So when the call's path breaks, ask the server something
   * small with a short bound; without an answer, close the transport, and Socket.IO reconnects (and
   * the session resumes) right away. Resolves true when the connection answered.
   */
  async checkConnection(timeoutMs = CONNECTION_CHECK_MS): Promise<boolean> {
    if (!this.socket.connected) {
      return false;
    }
    try {
      const socket = this.socket.timeout(timeoutMs) as unknown as {
        emitWithAck(event: 'ice:refresh', payload: RequestOf<'ice:refresh'>): Promise<unknown>;
      };
      await socket.emitWithAck('ice:refresh', {});
      return true;
    } catch {
      // (A transport that closed meanwhile ignores this.)
      this.socket.io.engine.close();
      return false;
    }
  }

  /** Fire and forget (ICE candidates are many and independent); refusals come as `protocol:error`. */
  signal(callId: string, to: string, data: SignalData): void {
    this.socket.emit('signal', { callId, to, data });
  }

  close(): void {
    clearTimeout(this.reconnectTimer);
    this.socket.disconnect();
    this.socket.removeAllListeners();
    this.removeAllListeners();
  }

  /**
   * Join with a join key, and when the connection drops before the answer, send the same join again
   * on the next connection: the server hands back the seat the first one took (if it landed), so a
   * blip while joining neither fails the join nor leaves a ghost of us holding a seat.
   */
  private async joinSurvivingDrops(
    room: string,
    name: string,
    access: RoomAccess & { ticket?: string },
  ): Promise<Session> {
    const joinKey = randomBase64Url(16);
    // Only the fields that are set: the server's schema has no room for `undefined`.
    const fields = {
      ...(access.secret === undefined ? {} : { secret: access.secret }),
      ...(access.create === undefined ? {} : { create: access.create }),
      ...(access.password === undefined ? {} : { password: access.password }),
      ...(access.ticket === undefined ? {} : { ticket: access.ticket }),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request('room:join', {
          room,
          name,
          joinKey,
          ...fields,
          ...(this.agent ? { agent: this.agent } : {}),
        });
      } catch (error) {
        const lost = error instanceof DuetError && error.reason === 'connection_lost';
        if (!lost || attempt >= JOIN_ATTEMPTS) {
          throw error;
        }
        await this.reconnected();
      }
    }
  }

  /** Resolves on the next connect; rejects when none comes within the request timeout. */
  private reconnected(): Promise<void> {
    if (this.socket.connected) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.socket.off('connect', onConnect);
        reject(new DuetError('server_unreachable', 'The connection to the Duet server did not come back.'));
      }, this.requestTimeoutMs);
      this.socket.once('connect', onConnect);
    });
  }

  /**
   * Send a request and parse its acknowledgement; a refusal rejects with the server's code. A
   * connection that drops while we wait rejects at once (`connection_lost`): its answer cannot come.
   */
  async request<E extends ClientEventName>(event: E, payload: RequestOf<E>): Promise<ResponseOf<E>> {
    let raw: unknown;
    let onDisconnect = (): void => undefined;
    const dropped = new Promise<never>((_, reject) => {
      onDisconnect = () =>
        reject(
          new DuetError('connection_lost', `The connection dropped before the server answered ${event}.`),
        );
    });
    // Only a request sent on a live connection can lose it; one sent while offline waits in
    // Socket.IO's buffer for the next connection.
    if (this.socket.connected) {
      this.socket.once('disconnect', onDisconnect);
    }
    try {
      const socket = this.socket.timeout(this.requestTimeoutMs) as unknown as {
        emitWithAck(event: E, payload: RequestOf<E>): Promise<AckOf<E>>;
      };
      raw = await Promise.race([socket.emitWithAck(event, payload), dropped]);
    } catch (error) {
      if (error instanceof DuetError) {
        throw error;
      }
      throw new DuetError('timeout', `The server did not answer ${event} in time.`, { cause: error });
    } finally {
      this.socket.off('disconnect', onDisconnect);
    }
    const failure = FailureSchema.safeParse(raw);
    if (failure.success) {
      const { code, message, retryAfterMs } = failure.data.error;
      throw new DuetError(code, message, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    const parsed = CLIENT_EVENTS[event].response.safeParse(raw);
    if (!parsed.success) {
      throw new DuetError('invalid_payload', `The server's answer to ${event} was malformed.`);
    }
    return parsed.data as ResponseOf<E>;
  }

  private async onConnect(): Promise<void> {
    const reconnect = this.everConnected;
    this.everConnected = true;
    if (!reconnect || this.socket.recovered || !this.sessionStore.current) {
      this.setPhase('connected');
      return;
    }
    // A new connection after a drop: take our seat back, or join again if the server forgot us.
    const stored = this.sessionStore.current;
    const session = await this.tryResume(stored).catch(() => null);
    this.setPhase('connected');
    if (session) {
      this.emit('session', session);
    } else {
      // A private room the server forgot is made again with its secret (its settings are lost).
      const access = stored.secret === undefined ? {} : { secret: stored.secret, create: true };
      this.emit('session-lost', { room: stored.room, name: stored.name, access });
    }
  }

  private async tryResume(stored: StoredSession): Promise<Session | null> {
    try {
      return await this.request('session:resume', { sessionToken: stored.token });
    } catch (error) {
      if (error instanceof DuetError && error.reason === 'session_expired') {
        this.sessionStore.forget();
        return null;
      }
      throw error;
    }
  }

  private receive(event: ServerEventName, payload: unknown): void {
    const parsed = SERVER_EVENTS[event].safeParse(payload);
    if (!parsed.success) {
      this.emit('invalid-event', { event, issues: parsed.error.message.slice(0, 500) });
      return;
    }
    this.emit(event, parsed.data);
  }

  private setPhase(phase: ConnectionPhase): void {
    if (this.phase === phase) {
      return;
    }
    this.phase = phase;
    this.emit('connection', phase);
  }
}
