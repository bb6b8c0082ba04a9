import { afterEach, beforeEach, expect } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  type AckOf,
  type ClientEventName,
  type ClientToServerEvents,
  type RequestOf,
  type ServerEventName,
  type ServerPayloadOf,
  type ServerToClientEvents,
  type Session,
} from '@duet/protocol';
import { startDuetServer, type DuetServer, type ServerConfigInput } from '@duet/server';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * A real server on a free loopback port, silent, with test-friendly overrides. Open rooms are on, so
 * tests about something else join rooms by plain name; the private-room tests turn them off.
 */
export async function startTestServer(overrides: ServerConfigInput = {}): Promise<DuetServer> {
  return startDuetServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    shutdownTimeoutMs: 1000,
    openRooms: true,
    ...overrides,
  });
}

interface Recorded {
  event: string;
  payload: unknown;
}

/**
 * A real socket.io-client that records every server event, so a test can `await client.next('x')`
 * for an event whether it arrived before or after the call (no sleeps, no races).
 */
export class TestClient {
  private readonly inbox: Recorded[] = [];
  private readonly waiters: Array<{ match: (r: Recorded) => boolean; resolve: (r: Recorded) => void }> = [];

  constructor(readonly socket: ClientSocket) {
    socket.onAny((event: string, payload: unknown) => {
      const record = { event, payload };
      const index = this.waiters.findIndex((w) => w.match(record));
      if (index >= 0) {
        this.waiters.splice(index, 1)[0]!.resolve(record);
      } else {
        this.inbox.push(record);
      }
    });
  }

  /** Send a request and wait for its acknowledgement. */
  request<E extends ClientEventName>(event: E, payload: RequestOf<E>, timeoutMs = 5000): Promise<AckOf<E>> {
    // The typed emitWithAck cannot take a generic event name; the payload type is checked above.
    const socket = this.socket.timeout(timeoutMs) as unknown as {
      emitWithAck(e: E, p: unknown): Promise<AckOf<E>>;
    };
    return socket.emitWithAck(event, payload);
  }

  /** Send anything at all (for abuse tests), with or without an acknowledgement. */
  raw(event: string, ...args: unknown[]): void {
    (this.socket.emit as (e: string, ...a: unknown[]) => void)(event, ...args);
  }

  rawWithAck(event: string, payload: unknown, timeoutMs = 5000): Promise<unknown> {
    const socket = this.socket.timeout(timeoutMs) as unknown as {
      emitWithAck(e: string, p: unknown): Promise<unknown>;
    };
    return socket.emitWithAck(event, payload);
  }

  /** The next `event` (matching `where`), recorded already or yet to come. */
  next<E extends ServerEventName>(
    event: E,
    where: (payload: ServerPayloadOf<E>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<ServerPayloadOf<E>> {
    const match = (r: Recorded) => r.event === event && where(r.payload as ServerPayloadOf<E>);
    const index = this.inbox.findIndex(match);
    if (index >= 0) {
      return Promise.resolve(this.inbox.splice(index, 1)[0]!.payload as ServerPayloadOf<E>);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (r: Recorded) => (clearTimeout(timer), resolve(r.payload as ServerPayloadOf<E>)),
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out waiting for ${event}; inbox: ${JSON.stringify(this.inbox.map((r) => r.event))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Events of this name received and not yet consumed by `next`. */
  pending(event: ServerEventName): unknown[] {
    return this.inbox.filter((r) => r.event === event).map((r) => r.payload);
  }

  close(): void {
    this.socket.disconnect();
  }
}

export interface ConnectOptions {
  protocolVersion?: unknown;
  origin?: string;
  transports?: Array<'polling' | 'websocket'>;
  /** Let socket.io-client reconnect on its own (off by default, so tests decide). */
  reconnection?: boolean;
  /** Extra handshake headers (e.g. X-Forwarded-For, for a server that trusts its proxy). */
  headers?: Record<string, string>;
}

/** Connect a client and wait until the server accepted it. */
export async function connectClient(server: DuetServer, options: ConnectOptions = {}): Promise<TestClient> {
  const socket = openSocket(server, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return new TestClient(socket);
}

/** Open a socket without waiting (for tests of refused connections). */
export function openSocket(server: DuetServer, options: ConnectOptions = {}): ClientSocket {
  const headers =
    options.origin === undefined && options.headers === undefined
      ? undefined
      : { ...options.headers, ...(options.origin === undefined ? {} : { origin: options.origin }) };
  return connect(server.url(), {
    auth: { protocolVersion: 'protocolVersion' in options ? options.protocolVersion : PROTOCOL_VERSION },
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    forceNew: true,
    extraHeaders: headers,
  });
}

/** Connect and join: the usual start of a test. */
export async function joinedClient(server: DuetServer, room: string, name: string) {
  const client = await connectClient(server);
  const session = await client.request('room:join', { room, name });
  if (!session.ok) {
    throw new Error(`join failed: ${session.error.code}`);
  }
  return { client, session };
}

/** A fresh server for each test of a `describe`, and the clients the test opened on it. */
export interface ServerPerTest {
  /** This test's server (in a test or hook only). */
  readonly server: DuetServer;
  /** Clients to close after the test: push every one a test opens. */
  readonly clients: TestClient[];
  /** A client joined to `room` as `name`, closed after the test. */
  readonly open: (
    room: string,
    name: string,
  ) => Promise<{ client: TestClient; id: string; session: Session }>;
  /** An active call between two new clients in `room` (see activeCall), closed after the test. */
  readonly call: (room?: string) => ReturnType<typeof activeCall>;
}

/**
 * Call inside a `describe`: each of its tests gets a server of its own started with `overrides`,
 * and after each test its clients and the server are closed.
 */
export function serverPerTest(overrides: ServerConfigInput = {}): ServerPerTest {
  let current: DuetServer | undefined;
  const clients: TestClient[] = [];
  const server = (): DuetServer => {
    if (!current) {
      throw new Error('no server outside a test');
    }
    return current;
  };
  beforeEach(async () => {
    current = await startTestServer(overrides);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.close();
    }
    await current?.close();
    current = undefined;
  });
  return {
    get server() {
      return server();
    },
    clients,
    open: async (room, name) => {
      const joined = await joinedClient(server(), room, name);
      clients.push(joined.client);
      return { client: joined.client, id: joined.session.self.id, session: joined.session };
    },
    call: async (room = 'r') => {
      const c = await activeCall(server(), room);
      clients.push(c.a, c.b);
      return c;
    },
  };
}

/** Caller invites callee and the callee accepts: an active call. */
export async function activeCall(
  server: DuetServer,
  room = 'call-room',
): Promise<{
  a: TestClient;
  b: TestClient;
  aId: string;
  bId: string;
  callId: string;
  aSession: Session;
  bSession: Session;
}> {
  const { client: a, session: sa } = await joinedClient(server, room, 'Alice');
  const { client: b, session: sb } = await joinedClient(server, room, 'Bob');
  const invite = await a.request('call:invite', { to: sb.self.id });
  if (!invite.ok) {
    throw new Error(`invite failed: ${invite.error.code}`);
  }
  await b.next('call:incoming');
  const accepted = await b.request('call:accept', { callId: invite.callId });
  if (!accepted.ok) {
    throw new Error(`accept failed: ${accepted.error.code}`);
  }
  await Promise.all([a.next('call:accepted'), b.next('call:accepted')]);
  return { a, b, aId: sa.self.id, bId: sb.self.id, callId: invite.callId, aSession: sa, bSession: sb };
}

/**
 * Both parties claim a call back with the key they share (after a server restart), the caller
 * first: it waits, then the callee's claim restores the call and names the caller.
 */
export async function expectCallRestored(
  caller: { client: TestClient; id: string; name: string },
  callee: { client: TestClient },
  callId: string,
  key: string,
): Promise<void> {
  expect(await caller.client.request('call:restore', { callId, key, role: 'caller' })).toEqual({
    ok: true,
    state: 'waiting',
    peer: null,
  });
  expect(await callee.client.request('call:restore', { callId, key, role: 'callee' })).toEqual({
    ok: true,
    state: 'restored',
    peer: { id: caller.id, name: caller.name, state: 'in-call' },
  });
}
