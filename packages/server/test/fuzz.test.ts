/**
 * Fuzz: thousands of random and malformed messages thrown at every client event, at names that are not
 * events, and at the Socket.IO framing itself, from sockets in each state a client can be in (connected,
 * joined, ringing, in a call). It proves that the server stays up: no unhandled rejection, uncaught
 * exception or error log; every acknowledgement is schema-valid and refuses exactly what the request
 * schemas refuse; every server event is schema-valid; an oversized or broken frame closes only its own
 * connection; no user, room or call leaks; and a whole call still works afterwards.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_EVENTS,
  CLIENT_EVENT_NAMES,
  DEFAULTS,
  FailureSchema,
  LIMITS,
  SERVER_EVENTS,
  isErrorCode,
  type ClientEventName,
  type ErrorCode,
  type ServerEventName,
} from '@duet/protocol';
import { startDuetServer, type DuetServer } from '@duet/server';
import { activeCall, connectClient, joinedClient, startTestServer, type TestClient } from './support.js';

// ---------------------------------------------------------------------------------------------
// What the test records: process faults, error logs, invalid server messages
// ---------------------------------------------------------------------------------------------

const processFaults: string[] = [];
const recordRejection = (reason: unknown): void => {
  processFaults.push(`unhandledRejection: ${describeValue(reason)}`);
};
const recordException = (error: Error): void => {
  processFaults.push(`uncaughtException: ${error.stack ?? error.message}`);
};

/** Anything the server logs at error level (a handler that threw, a socket task that failed). */
const errorLogs: string[] = [];
const logger = pino({ level: 'error' }, { write: (line: string) => void errorLogs.push(line) });

/** Server → client messages that are not a known event with a schema-valid payload. */
const badMessages: string[] = [];

/** Every client this file opened and has not closed yet, with the `protocol:error` codes it received. */
const refusalsOf = new Map<TestClient, string[]>();

const stats = { emitted: 0, oversized: 0, frames: 0, framesThatClosed: 0, flood: 0 };

let server: DuetServer;
let witness: TestClient;
let prototypeKeys: string[];

function describeValue(value: unknown): string {
  if (value instanceof Error) {
    return value.stack ?? value.message;
  }
  try {
    const json = JSON.stringify(value) as string | undefined; // undefined for undefined and functions
    return (json ?? typeof value).slice(0, 300);
  } catch {
    return typeof value;
  }
}

/** Validate every event the server sends this client, and remember the refusals. */
function watch(client: TestClient): TestClient {
  const codes: string[] = [];
  refusalsOf.set(client, codes);
  client.socket.onAny((event: string, ...args: unknown[]) => {
    const schema = Object.hasOwn(SERVER_EVENTS, event) ? SERVER_EVENTS[event as ServerEventName] : undefined;
    // With connection-state recovery on, Socket.IO appends the event's offset as a second argument.
    const offsetOk = args.length === 1 || (args.length === 2 && typeof args[1] === 'string');
    if (!schema || !offsetOk || !schema.safeParse(args[0]).success) {
      badMessages.push(`${event}: ${describeValue(args)}`);
    }
    if (event === 'protocol:error') {
      const code = (args[0] as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (!isErrorCode(code)) {
        badMessages.push(`protocol:error with unknown code ${describeValue(code)}`);
      }
      codes.push(String(code));
    }
  });
  return client;
}

function closeAll(list: Iterable<TestClient>): void {
  for (const client of [...list]) {
    client.close();
    refusalsOf.delete(client);
  }
}

// ---------------------------------------------------------------------------------------------
// Emissions: an event name, its arguments, and whether an acknowledgement callback goes with them
// ---------------------------------------------------------------------------------------------

type EventName = string | number;
interface Emission {
  event: EventName;
  /** The payload and any extra arguments; empty for an emission with no payload at all. */
  args: unknown[];
  ack: boolean;
}

/** Ids only a live scene knows (its users, call and session tokens), filled in just before sending. */
type Target = 'self' | 'peer' | 'call' | 'selfToken' | 'peerToken' | 'knock' | 'secret';
type Refs = Partial<Record<Target, string>>;
class Ref {
  constructor(readonly target: Target) {}
  [fc.toStringMethod](): string {
    return `<${this.target}>`;
  }
}

const FRAME_LIMIT = LIMITS.maxSignalingPayloadBytes;
/** Names socket.io-client refuses to emit and socket.io-parser refuses to decode (see the frame test). */
const RESERVED_NAMES = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);
const BASE64URL = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

const base64url = (length: number) =>
  fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: length, maxLength: length });
const ref = (...targets: Target[]) => fc.constantFrom(...targets).map((target) => new Ref(target));

/** Occasionally a string near or beyond the 64 KiB frame limit (in bytes: up to 4 per character). */
const hugeString = fc
  .tuple(
    fc.integer({ min: 1_000, max: 70_000 }),
    fc.constantFrom('a', 'é', '😀', '\u0000', '\u202e', '\ud800', ' '),
  )
  .map(([length, unit]) => unit.repeat(length));

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  // Any UTF-16 code unit, lone surrogates included.
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
    maxLength: 50,
  }),
  fc.constantFrom(
    '',
    ' ',
    '\t\n',
    '\u200b\u200b',
    'Bob\u202eevil',
    'ＦＵＺＺ',
    'e\u200b\u0301',
    '__proto__',
    '😀'.repeat(70),
  ),
);

/** Objects with own `__proto__` / `constructor` keys, as JSON.parse makes them on the server. */
const pollution = fc
  .constantFrom(
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":{"__proto__":{"polluted":"yes"}},"room":"x","name":"y"}',
    '[{"__proto__":{"polluted":"yes"}}]',
    '{"toString":"x","valueOf":1,"hasOwnProperty":null,"then":0}',
  )
  .map((json) => JSON.parse(json) as unknown);

const deeplyNested = fc.tuple(fc.integer({ min: 20, max: 1_000 }), fc.boolean()).map(([depth, asArray]) => {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level++) {
    value = asArray ? [value] : { a: value };
  }
  return value;
});

const anything = fc.anything({
  maxDepth: 3,
  withNullPrototype: true,
  withTypedArray: true,
  withSparseArray: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withDate: true,
});

/** A wrong value for any field. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      null,
      undefined,
      true,
      false,
      0,
      -0,
      NaN,
      Infinity,
      -Infinity,
      1e308,
      2 ** 53 + 2,
      '',
      [],
      {},
    ),
  },
  { weight: 6, arbitrary: fc.oneof(fc.integer(), fc.double()) },
  { weight: 6, arbitrary: text },
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 4, arbitrary: anything },
  { weight: 2, arbitrary: pollution },
  { weight: 2, arbitrary: deeplyNested },
  { weight: 1, arbitrary: hugeString },
);

const extraKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    'ok',
    'kind',
  ),
  fc.string(),
);

/** An object with own keys exactly as given (`__proto__` included, as an own key). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** A request-shaped object: each field usually well-formed, sometimes junk or missing; sometimes extra keys. */
function shaped(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(fields).map(([key, good]) =>
    fc.option(
      fc
        .oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: junk })
        .map((v): [string, unknown] => [key, v]),
      { freq: 8, nil: undefined },
    ),
  );
  const extras = fc.oneof(
    { weight: 4, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(extraKey, junk), { minLength: 1, maxLength: 3 }) },
  );
  return fc
    .tuple(fc.tuple(...entries), extras)
    .map(([present, extra]) => objectOf([...present.filter((entry) => entry !== undefined), ...extra]));
}

const userId = fc.oneof(
  { weight: 3, arbitrary: ref('self', 'peer') },
  { weight: 1, arbitrary: base64url(22) },
);
const callId = fc.oneof({ weight: 3, arbitrary: ref('call') }, { weight: 1, arbitrary: base64url(22) });
const sessionToken = fc.oneof(
  { weight: 3, arbitrary: ref('selfToken', 'peerToken') },
  { weight: 1, arbitrary: base64url(43) },
);
/** Almost an id: one character short or long, a padding character, or any 22 characters. */
const nearId = fc.oneof(
  base64url(21),
  base64url(23),
  base64url(21).map((id) => `${id}=`),
  fc.string({ minLength: 22, maxLength: 22 }),
);
const name = fc.oneof(
  fc.constantFrom('fuzz', 'Fuzz  Room', 'ＦＵＺＺ', 'e\u200b\u0301', '__proto__', 'constructor'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }),
);
/** Around the raw length cap (4 × 64) and past the normalised one (64). */
const longName = fc.string({ minLength: 60, maxLength: 270 });
const callMedia = fc.record({ audio: fc.boolean(), video: fc.boolean() });
const sdp = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 60_000, max: LIMITS.maxSdpLength + 10 }).map((n) => 'v'.repeat(n)),
  },
);
const candidate = fc.record(
  {
    candidate: fc.string({ maxLength: LIMITS.maxCandidateLength + 10 }),
    sdpMid: fc.option(fc.string({ maxLength: 70 })),
    sdpMLineIndex: fc.option(fc.integer({ min: -1, max: 1025 })),
    usernameFragment: fc.option(fc.string()),
  },
  { requiredKeys: ['candidate'] },
);
const mediaState = fc.record({ microphone: fc.boolean(), camera: fc.boolean(), screen: fc.boolean() });
const signalData = fc.oneof(
  fc.record({
    kind: fc.constant('description'),
    description: fc.record({ type: fc.constantFrom('offer', 'answer'), sdp }),
  }),
  fc.record({ kind: fc.constant('candidate'), candidate: fc.option(candidate) }),
  fc.record({ kind: fc.constant('media'), state: mediaState }),
);
const mangledSignalData = shaped({
  kind: fc.constantFrom('description', 'candidate', 'media', 'Description', 'chat'),
  description: shaped({ type: fc.constantFrom('offer', 'answer', 'pranswer', 'rollback'), sdp }),
  candidate: fc.oneof(fc.constant(null), shaped({ candidate: fc.string(), sdpMLineIndex: fc.double() })),
  state: shaped({ microphone: fc.boolean(), camera: fc.boolean(), screen: fc.boolean() }),
});

/** A room's secret: the scene's own (its room), a random one, or one near the length limits. */
const secret = fc.oneof(
  { weight: 3, arbitrary: ref('secret') },
  { weight: 2, arbitrary: base64url(LIMITS.minRoomSecretLength) },
  { weight: 1, arbitrary: base64url(LIMITS.maxRoomSecretLength) },
);
const nearSecret = fc.oneof(
  base64url(LIMITS.minRoomSecretLength - 1),
  base64url(LIMITS.maxRoomSecretLength + 1),
  base64url(30).map((s) => `${s}=`),
);
const password = fc.oneof(
  fc.constantFrom('door', 'wrong'),
  fc.string({ minLength: 1, maxLength: LIMITS.maxRoomPasswordLength }),
);
const knockId = fc.oneof({ weight: 3, arbitrary: ref('knock') }, { weight: 1, arbitrary: base64url(22) });
const knockRef = {
  valid: fc.record({ knockId }),
  mangled: shaped({ knockId: fc.oneof(knockId, nearId) }),
};
const fieldless = { valid: fc.constant({}), mangled: shaped({}) };
const callRef = { valid: fc.record({ callId }), mangled: shaped({ callId: fc.oneof(callId, nearId) }) };

/** Per event: requests that pass the schema (with live or random ids) and mangled ones. */
const REQUESTS: Record<ClientEventName, { valid: fc.Arbitrary<unknown>; mangled: fc.Arbitrary<unknown> }> = {
  'room:join': {
    valid: fc.oneof(
      fc.record({ room: name, name }),
      fc.record(
        {
          room: fc.oneof(name, fc.constant('fuzz-private')),
          name,
          secret,
          create: fc.boolean(),
          password,
          ticket: base64url(43),
        },
        { requiredKeys: ['room', 'name'] },
      ),
    ),
    mangled: shaped({
      room: fc.oneof(name, longName),
      name: fc.oneof(name, longName),
      secret: fc.oneof(secret, nearSecret),
      create: fc.boolean(),
      password: fc.oneof(password, fc.string({ minLength: 129, maxLength: 200 })),
      ticket: fc.oneof(base64url(43), nearId),
    }),
  },
  'room:knock': {
    valid: fc.record(
      { room: fc.oneof(name, fc.constant('fuzz-private')), name, secret, password },
      { requiredKeys: ['room', 'name'] },
    ),
    mangled: shaped({
      room: fc.oneof(name, longName),
      name: fc.oneof(name, longName),
      secret: fc.oneof(secret, nearSecret),
      password: fc.oneof(password, fc.constant('')),
    }),
  },
  'lobby:cancel': fieldless,
  'lobby:admit': knockRef,
  'lobby:deny': knockRef,
  'room:settings': {
    valid: fc.record({ askToJoin: fc.boolean(), locked: fc.boolean() }, { requiredKeys: [] }),
    mangled: shaped({ askToJoin: fc.boolean(), locked: fc.boolean() }),
  },
  'session:resume': {
    valid: fc.record({ sessionToken }),
    mangled: shaped({ sessionToken: fc.oneof(sessionToken, nearId, base64url(42)) }),
  },
  'room:leave': fieldless,
  'call:invite': {
    valid: fc.record({ to: userId, media: fc.option(callMedia, { nil: undefined }) }),
    mangled: shaped({
      to: fc.oneof(userId, nearId),
      media: fc.oneof(callMedia, shaped({ audio: fc.boolean() })),
    }),
  },
  'call:accept': callRef,
  'call:decline': callRef,
  'call:hangup': callRef,
  signal: {
    valid: fc.record({
      callId: ref('call'),
      to: ref('peer'),
      from: fc.option(ref('self'), { nil: undefined }),
      data: signalData,
    }),
    mangled: shaped({
      callId: fc.oneof(callId, nearId),
      to: fc.oneof(userId, nearId),
      from: fc.oneof(userId, nearId),
      data: fc.oneof(signalData, mangledSignalData),
    }),
  },
  'ice:refresh': fieldless,
  'call:restore': {
    valid: fc.record({ callId, key: base64url(32), role: fc.constantFrom('caller', 'callee') }),
    mangled: shaped({
      callId: fc.oneof(callId, nearId),
      key: fc.oneof(base64url(32), fc.string()),
      role: fc.string(),
    }),
  },
};

const unknownEvent: fc.Arbitrary<EventName> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'prototype',
    'error',
    'ROOM:JOIN',
    'room:join ',
    ' signal',
    'signal\u0000',
    'protocol:error',
    'presence',
    'call:incoming',
    'server:shutdown',
    'connection',
    '',
    'x'.repeat(5_000),
    // Truncated to 64 UTF-16 units in `protocol:error`, which splits a surrogate pair.
    `a${'😀'.repeat(40)}`,
  ),
  fc
    .string({ unit: 'binary', maxLength: 100 })
    .filter((n) => !RESERVED_NAMES.has(n) && !Object.hasOwn(CLIENT_EVENTS, n)),
  // Socket.IO accepts numeric event names too (NaN and ±Infinity would turn into null on the wire).
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
);

/** The payload, sometimes followed by extra arguments, sometimes no argument at all. */
const argsOf = (payload: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> =>
  fc.oneof(
    { weight: 12, arbitrary: payload.map((p) => [p]) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(payload, fc.array(junk, { minLength: 1, maxLength: 3 }))
        .map(([p, extra]) => [p, ...extra]),
    },
    { weight: 1, arbitrary: fc.constant<unknown[]>([]) },
  );
const withAck = fc.oneof(
  { weight: 3, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) },
);

const emission: fc.Arbitrary<Emission> = fc.oneof(
  ...CLIENT_EVENT_NAMES.map((event) => ({
    // A successful leave ends the scene's state, so it comes up less often; relay is the busiest path.
    weight: event === 'room:leave' ? 1 : event === 'signal' ? 5 : 3,
    arbitrary: fc.record({
      event: fc.constant<EventName>(event),
      args: argsOf(
        fc.oneof(
          { weight: 4, arbitrary: REQUESTS[event].valid },
          { weight: 3, arbitrary: REQUESTS[event].mangled },
          { weight: 1, arbitrary: junk },
        ),
      ),
      ack: withAck,
    }),
  })),
  { weight: 2, arbitrary: fc.record({ event: unknownEvent, args: argsOf(junk), ack: withAck }) },
);

/** Fill in live ids; only top-level fields of generated requests hold a `Ref`. */
function resolveArgs(args: unknown[], refs: Refs): unknown[] {
  const [payload, ...extra] = args;
  if (args.length === 0 || typeof payload !== 'object' || payload === null) {
    return args;
  }
  const entries = Object.entries(payload);
  if (!entries.some(([, value]) => value instanceof Ref)) {
    return args;
  }
  const filled = entries.map(([key, value]): [string, unknown] => {
    if (!(value instanceof Ref)) {
      return [key, value];
    }
    const fallback = value.target.endsWith('Token')
      ? 'A'.repeat(LIMITS.sessionTokenLength)
      : value.target === 'secret'
        ? 'S'.repeat(LIMITS.minRoomSecretLength)
        : 'A'.repeat(LIMITS.idLength);
    return [key, refs[value.target] ?? fallback];
  });
  return [objectOf(filled), ...extra];
}

// ---------------------------------------------------------------------------------------------
// The oracle: what the dispatcher must answer before any handler runs
// ---------------------------------------------------------------------------------------------

/** A refusal code the schema checks must give, `passes` if they must not refuse, `unknown` for binary. */
type Verdict = ErrorCode | 'passes' | 'unknown';
const SCHEMA_CODES: ReadonlySet<string> = new Set([
  'unknown_event',
  'ack_required',
  'invalid_payload',
  'payload_too_large',
]);

type Check = { safeParse(value: unknown): { success: boolean; error?: { issues: Array<{ code: string }> } } };

/** `{ ok: false, error }` with a known code, or `{ ok: true, ...fields }` with the event's response fields. */
function isValidAck(event: EventName, ack: unknown): boolean {
  if (FailureSchema.safeParse(ack).success) {
    return true;
  }
  if (!isClientEvent(event) || typeof ack !== 'object' || ack === null) {
    return false;
  }
  const { ok, ...fields } = ack as Record<string, unknown>;
  return ok === true && (CLIENT_EVENTS[event].response as Check).safeParse(fields).success;
}

function isClientEvent(event: EventName): event is ClientEventName {
  return typeof event === 'string' && Object.hasOwn(CLIENT_EVENTS, event);
}

function containsBinary(value: unknown, depth = 0): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return true;
  }
  if (depth > 16 || typeof value !== 'object' || value === null) {
    return false;
  }
  return Object.values(value).some((inner) => containsBinary(inner, depth + 1));
}

function verdict(event: EventName, args: unknown[], ack: boolean): Verdict {
  if (!isClientEvent(event)) {
    return 'unknown_event';
  }
  const spec = CLIENT_EVENTS[event];
  if (spec.ackRequired && !ack) {
    return 'ack_required';
  }
  if (containsBinary(args[0])) {
    return 'unknown';
  } // arrives as a Buffer, which JSON cannot mimic
  // The server sees the payload after a JSON round trip (an ack callback in its place means none).
  const received =
    args.length === 0 ? undefined : (JSON.parse(JSON.stringify(args.slice(0, 1))) as unknown[])[0];
  const parsed = (spec.request as Check).safeParse(received);
  if (parsed.success) {
    return 'passes';
  }
  return parsed.error?.issues.some((issue) => issue.code === 'too_big')
    ? 'payload_too_large'
    : 'invalid_payload';
}

/**
 * Whether the Socket.IO frame fits the transport limit. The ack id adds a few digits. Binary
 * attachments travel in frames of their own and socket.io-client rebuilds the rest (placeholders for
 * buffers, own `__proto__` keys dropped), so with binary the estimate is loose either way.
 */
function frameFit(event: EventName, args: unknown[]): 'fits' | 'too big' | 'unsure' {
  const bytes = Buffer.byteLength(JSON.stringify([event, ...args])) + 2;
  const binary = containsBinary(args);
  if (bytes <= FRAME_LIMIT - (binary ? 4096 : 64)) {
    return 'fits';
  }
  return bytes > FRAME_LIMIT && !binary ? 'too big' : 'unsure';
}

function label(event: EventName): string {
  return JSON.stringify(typeof event === 'string' ? event.slice(0, 64) : event);
}

function checkAck(event: EventName, ack: unknown, expected: Verdict, { rateLimited = false } = {}): void {
  expect(isValidAck(event, ack), `ack of ${label(event)}: ${describeValue(ack)}`).toBe(true);
  const code = (ack as { error?: { code: string } }).error?.code;
  expect(code, `ack of ${label(event)}`).not.toBe('internal_error');
  // The per-socket limiter answers before the schema check; handlers may have limits of their own.
  if (rateLimited && code === 'rate_limited') {
    return;
  }
  if (expected === 'passes') {
    expect(SCHEMA_CODES.has(code ?? ''), `ack of ${label(event)}: ${code}`).toBe(false);
  } else if (expected !== 'unknown') {
    expect(code, `ack of ${label(event)}`).toBe(expected);
  }
}

/** Emit with an acknowledgement callback, which must be called exactly once with one argument. */
function request(client: TestClient, event: EventName, args: unknown[], timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no acknowledgement for ${label(event)}`));
    }, timeoutMs);
    client.raw(event as string, ...args, (...results: unknown[]) => {
      clearTimeout(timer);
      if (results.length === 1) {
        resolve(results[0]);
      } else {
        reject(new Error(`acknowledgement of ${label(event)} with ${results.length} arguments`));
      }
    });
  });
}

/** An acked unknown event: its answer proves the socket is alive and every earlier event was handled. */
async function expectAlive(client: TestClient): Promise<void> {
  const ack = await client.rawWithAck('fuzz:sentinel', null);
  expect(ack).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
}

function disconnection(client: TestClient): Promise<string> {
  return new Promise((resolve) => client.socket.once('disconnect', resolve));
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out: ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Scenes: the actor whose socket sends the fuzz, and the clients around it
// ---------------------------------------------------------------------------------------------

interface Scene {
  actor: TestClient;
  clients: TestClient[];
  refs: Refs;
}

let roomCount = 0;
const nextRoom = (): string => `fuzz-${++roomCount}`;

async function member(room: string, displayName: string) {
  const { client, session } = await joinedClient(server, room, displayName);
  return { client: watch(client), id: session.self.id, token: session.sessionToken };
}

const SCENES: Record<string, () => Promise<Scene>> = {
  'a connected socket that has not joined': async () => {
    const actor = watch(await connectClient(server));
    const bystander = await member(nextRoom(), 'Bystander');
    return {
      actor,
      clients: [actor, bystander.client],
      refs: { peer: bystander.id, peerToken: bystander.token },
    };
  },
  'a socket that joined a room': async () => {
    const room = nextRoom();
    const self = await member(room, 'Actor');
    const peer = await member(room, 'Peer');
    return {
      actor: self.client,
      clients: [self.client, peer.client],
      refs: { self: self.id, selfToken: self.token, peer: peer.id, peerToken: peer.token },
    };
  },
  'the callee of a ringing call': async () => {
    const room = nextRoom();
    const caller = await member(room, 'Caller');
    const callee = await member(room, 'Callee');
    const invite = await caller.client.request('call:invite', { to: callee.id });
    if (!invite.ok) {
      throw new Error(`invite failed: ${invite.error.code}`);
    }
    await callee.client.next('call:incoming');
    return {
      actor: callee.client,
      clients: [callee.client, caller.client],
      refs: {
        self: callee.id,
        selfToken: callee.token,
        peer: caller.id,
        peerToken: caller.token,
        call: invite.callId,
      },
    };
  },
  'a member of a private room that asks to join, with someone knocking': async () => {
    const lobby = await privateLobby(undefined);
    return {
      actor: lobby.member.client,
      clients: [lobby.member.client, lobby.knocker],
      refs: {
        self: lobby.member.id,
        selfToken: lobby.member.token,
        knock: lobby.knockId,
        secret: lobby.secret,
      },
    };
  },
  'a socket knocking at a private room with a password': async () => {
    const lobby = await privateLobby('door');
    return {
      actor: lobby.knocker,
      clients: [lobby.knocker, lobby.member.client],
      refs: {
        peer: lobby.member.id,
        peerToken: lobby.member.token,
        knock: lobby.knockId,
        secret: lobby.secret,
      },
    };
  },
  'a party to an active call': async () => {
    const call = await activeCall(server, nextRoom());
    return {
      actor: watch(call.a),
      clients: [call.a, watch(call.b)],
      refs: { self: call.aId, peer: call.bId, call: call.callId },
    };
  },
};

/**
 * A private room (with `password`, if given) that asks newcomers to knock, its first member, and a
 * socket knocking at its door. Its name is the one the fuzz's own joins and knocks often use, with
 * the scene's secret, so they reach this room's lobby, password check and lock.
 */
async function privateLobby(password: string | undefined) {
  const secret = `${'s'.repeat(12)}${String(++roomCount).padStart(10, '0')}`;
  const member = watch(await connectClient(server));
  const joined = await member.request('room:join', {
    room: 'fuzz-private',
    name: 'Member',
    secret,
    create: true,
    ...(password === undefined ? {} : { password }),
  });
  if (!joined.ok) {
    throw new Error(`join failed: ${joined.error.code}`);
  }
  const settings = await member.request('room:settings', { askToJoin: true });
  if (!settings.ok) {
    throw new Error(`settings failed: ${settings.error.code}`);
  }
  const knocker = watch(await connectClient(server));
  const knock = await knocker.request('room:knock', {
    room: 'fuzz-private',
    name: 'Knocker',
    secret,
    ...(password === undefined ? {} : { password }),
  });
  if (!knock.ok) {
    throw new Error(`knock failed: ${knock.error.code}`);
  }
  await member.next('lobby:knock');
  return {
    member: { client: member, id: joined.self.id, token: joined.sessionToken },
    knocker,
    knockId: knock.knockId,
    secret,
  };
}

/** Keep the scene's ids current when the fuzz itself joins, resumes or starts a call. */
function learn(scene: Scene, event: EventName, ack: unknown): void {
  const result = ack as { ok: boolean; callId?: string; self?: { id: string }; sessionToken?: string };
  if (!result.ok) {
    return;
  }
  const knock = ack as { knockId?: string };
  if (event === 'room:knock' && knock.knockId) {
    scene.refs.knock = knock.knockId;
  }
  if (event === 'call:invite' && result.callId) {
    scene.refs.call = result.callId;
  }
  if ((event === 'room:join' || event === 'session:resume') && result.self && result.sessionToken) {
    scene.refs.self = result.self.id;
    scene.refs.selfToken = result.sessionToken;
  }
}

/** A frame over the transport limit goes out on a throwaway socket, which the server must close. */
async function sacrifice(event: EventName, args: unknown[], mustClose: boolean): Promise<void> {
  stats.oversized++;
  const victim = watch(await connectClient(server));
  try {
    const closed = disconnection(victim);
    victim.raw(event as string, ...args);
    if (mustClose) {
      await within(closed, 5000, `an oversized ${label(event)} closes its connection`);
    } else {
      await Promise.race([closed, victim.rawWithAck('fuzz:sentinel', null).catch(() => undefined)]);
    }
  } finally {
    closeAll([victim]);
  }
}

/** Send a batch from the scene's actor, checking every ack; then check the refusals sent as events. */
async function play(scene: Scene, batch: Emission[]): Promise<void> {
  const mustRefuse = new Map<string, number>();
  let mayRefuse = 0;
  let unknown = 0;
  for (const { event, args: generated, ack } of batch) {
    const args = resolveArgs(generated, scene.refs);
    stats.emitted++;
    const fit = frameFit(event, args);
    if (fit !== 'fits') {
      await sacrifice(event, args, fit === 'too big');
      continue;
    }
    const expected = verdict(event, args, ack);
    if (ack) {
      const result = await request(scene.actor, event, args);
      checkAck(event, result, expected);
      learn(scene, event, result);
    } else {
      scene.actor.raw(event as string, ...args);
      if (expected === 'passes') {
        mayRefuse++;
      } else if (expected === 'unknown') {
        unknown++;
      } else {
        mustRefuse.set(expected, (mustRefuse.get(expected) ?? 0) + 1);
      }
    }
  }
  await expectAlive(scene.actor);

  // Without a callback, every schema refusal arrives as one `protocol:error`, in order, before the
  // sentinel's ack; a request that passed the schema may still be refused by its handler.
  const received = refusalsOf.get(scene.actor) ?? [];
  const required = [...mustRefuse.values()].reduce((sum, n) => sum + n, 0);
  expect(received.length).toBeGreaterThanOrEqual(required);
  expect(received.length).toBeLessThanOrEqual(required + mayRefuse + unknown);
  for (const code of SCHEMA_CODES) {
    const count = received.filter((c) => c === code).length;
    expect(count, code).toBeGreaterThanOrEqual(mustRefuse.get(code) ?? 0);
    expect(count, code).toBeLessThanOrEqual((mustRefuse.get(code) ?? 0) + unknown);
  }
  expect(received).not.toContain('internal_error');
}

// ---------------------------------------------------------------------------------------------
// Raw frames: what a client other than socket.io-client could put on the wire
// ---------------------------------------------------------------------------------------------

type Frame = Array<string | Uint8Array>;
const CRAFTED_FRAMES: Frame[] = [
  // Reserved names: socket.io-client refuses to send these, so they only come from a hand-made client.
  ['2["disconnect","client namespace disconnect"]'],
  ['2["disconnecting"]'],
  ['2["newListener","signal"]'],
  ['2["removeListener","signal"]'],
  ['2["connect"]'],
  ['2["connect_error",{}]'],
  ['2["error",{"message":"boom"}]'],
  ['2["__proto__",{"polluted":"yes"}]'],
  ['20["room:leave",{}]'],
  ['2[1,{}]'],
  ['2[]'],
  ['2[null]'],
  ['2{"0":"room:join"}'],
  ['2["room:join"'],
  ['2'],
  [`2${'9'.repeat(400)}["room:leave",{}]`],
  ['2 ["room:leave",{}]'],
  ['21["room:join",{"room":"raw","name":"Raw"}]'],
  ['2["room:join",{"_placeholder":true,"num":0}]'],
  // A binary event waiting for an attachment that never comes, comes as text, or names a bad index.
  ['51-["signal",{"_placeholder":true,"num":0}]'],
  ['51-["signal",{"_placeholder":true,"num":0}]', new Uint8Array([1, 2, 3])],
  ['51-["signal",{"_placeholder":true,"num":5}]', new Uint8Array([1])],
  ['51-["signal",{"_placeholder":true,"num":"__proto__"}]', new Uint8Array([1])],
  ['599-["signal"]'],
  [new Uint8Array([0x34, 0x32])],
  ['0'],
  ['0{}'],
  ['0/nope,{}'],
  ['1'],
  ['1/nope,'],
  ['3'],
  ['30[]'],
  ['4{"message":"x"}'],
  ['6'],
  ['9'],
  [''],
];
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.constantFrom(...CRAFTED_FRAMES),
  fc
    .tuple(
      fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '20', '21-', '2/x,', '0/x,', ''),
      fc.oneof(fc.json(), fc.string(), fc.string({ unit: 'binary' })),
    )
    .map(([type, body]): Frame => [type + body]),
);

/**
 * Like fc.assert, but the counterexample is printed with long strings abbreviated. A failure can be
 * replayed with FUZZ_SEED=<seed> FUZZ_PATH=<path> and `-t '<test name>'`.
 */
async function check<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const { FUZZ_SEED, FUZZ_PATH } = process.env;
  const replay = FUZZ_SEED ? { seed: Number(FUZZ_SEED), path: FUZZ_PATH } : {};
  const details = await fc.check(property, { numRuns, ...replay });
  if (!details.failed) {
    return;
  }
  const error = details.errorInstance;
  throw new Error(
    `Property failed after ${details.numRuns} runs ` +
      `(FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''}):\n` +
      `${error instanceof Error ? error.message : describeValue(error)}\n` +
      `Counterexample: ${fc.stringify(abbreviate(details.counterexample)).slice(0, 20_000)}`,
    { cause: error },
  );
}

function abbreviate(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length > 120 ? `${value.slice(0, 40)}…[${value.length} chars]` : value;
  }
  if (depth > 8 || typeof value !== 'object' || value === null) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((inner: unknown) => abbreviate(inner, depth + 1));
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    return value;
  }
  return objectOf(Object.entries(value).map(([key, inner]) => [key, abbreviate(inner, depth + 1)]));
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const BATCH = 30;
const BATCHES_PER_SCENE = 40;
const PRIVATE_BATCHES_PER_SCENE = 12;

beforeAll(async () => {
  process.on('unhandledRejection', recordRejection);
  process.on('uncaughtException', recordException);
  prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
  server = await startDuetServer(
    {
      host: '127.0.0.1',
      port: 0,
      shutdownTimeoutMs: 1000,
      // High enough that the rate limiter never hides the handlers (10 000/s is the config's ceiling).
      eventsPerSecond: 10_000,
      eventBurst: 100_000,
      // Thousands of short-lived sockets from one address.
      maxConnectionsPerIp: 1_000,
      // Short, so ring timeouts, reconnect-grace expiries and knock timeouts also fire during the storm.
      ringTimeoutMs: 1_000,
      reconnectGraceMs: 300,
      knockTimeoutMs: 500,
      // Plain names for most scenes; the private ones use secrets.
      openRooms: true,
      // Password attempts are limited per address: the fuzz's own attempts must not lock its scenes out.
      passwordAttemptsPerIp: 10_000,
      passwordAttemptsPerRoom: 100_000,
    },
    { logger },
  );
  witness = (await member('witness', 'Witness')).client;
});

afterAll(async () => {
  closeAll(refusalsOf.keys());
  await server.close();
  process.off('unhandledRejection', recordRejection);
  process.off('uncaughtException', recordException);
  expect(processFaults).toEqual([]);
  expect(errorLogs).toEqual([]);
});

describe('fuzzing the signaling server', () => {
  it.each(Object.keys(SCENES))(
    'answers every random message from %s',
    async (sceneName) => {
      await check(
        fc.asyncProperty(fc.array(emission, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const scene = await SCENES[sceneName]!();
          try {
            await play(scene, batch);
          } finally {
            closeAll(scene.clients);
          }
        }),
        // Room passwords are hashed and checked with scrypt, slow on purpose: the scenes that reach
        // them play fewer batches.
        sceneName.includes('private') ? PRIVATE_BATCHES_PER_SCENE : BATCHES_PER_SCENE,
      );
    },
    120_000,
  );

  it('survives malformed Socket.IO frames: a bad frame closes only its own connection', async () => {
    let client = watch(await connectClient(server));
    await check(
      fc.asyncProperty(frame, async (parts) => {
        if (!client.socket.connected) {
          closeAll([client]);
          client = watch(await connectClient(server));
        }
        for (const part of parts) {
          client.socket.io.engine.write(part);
        }
        // Either the server closes the connection or the socket still answers; never silence.
        const outcome = await Promise.race([
          client.rawWithAck('fuzz:sentinel', null, 3000).then(
            () => 'answered',
            () => 'silent',
          ),
          disconnection(client).then(() => 'closed'),
        ]);
        stats.frames++;
        if (outcome === 'closed') {
          stats.framesThatClosed++;
        }
        expect(outcome, `after ${describeValue(parts)}`).not.toBe('silent');
      }),
      200,
    );
    closeAll([client]);
    expect(stats.framesThatClosed).toBeGreaterThan(0);
    expect(stats.framesThatClosed).toBeLessThan(stats.frames);
    await expectAlive(witness);
  });

  it('closes only the connection that sends an oversized frame', async () => {
    const { a, b, aId, bId, callId } = await activeCall(server, nextRoom());
    watch(a);
    watch(b);
    const closed = disconnection(a);
    a.raw('signal', {
      callId,
      to: bId,
      data: { kind: 'description', description: { type: 'offer', sdp: 'v'.repeat(FRAME_LIMIT + 1) } },
    });
    await within(closed, 5000, 'the oversized frame closes its connection');
    // The sender lost its connection, not its seat: after the reconnect grace its peer sees it leave.
    await expect(b.next('call:ended')).resolves.toEqual({ callId, reason: 'peer_left', by: aId });
    expect(b.socket.connected).toBe(true);
    await expectAlive(b);
    await expectAlive(witness);
    closeAll([a, b]);
  });

  it('at the default rate limit, refuses a flood of junk politely and keeps the connection', async () => {
    const limited = await startTestServer();
    const client = await connectClient(limited);
    try {
      // Twice the burst: the first half is handled, the second refused, and not one refusal more,
      // which would count as flooding and disconnect the socket.
      const flood = fc.sample(
        emission.filter((e) => frameFit(e.event, e.args) === 'fits'),
        { numRuns: 2 * DEFAULTS.eventBurst, seed: 7 },
      );
      const acks = await Promise.all(flood.map((e) => request(client, e.event, resolveArgs(e.args, {}))));
      stats.flood += flood.length;
      acks.forEach((ack, i) => {
        const { event, args } = flood[i]!;
        checkAck(event, ack, verdict(event, resolveArgs(args, {}), true), { rateLimited: true });
      });
      const refusedForRate = acks.filter(
        (ack) => (ack as { error?: { code: string } }).error?.code === 'rate_limited',
      );
      expect(refusedForRate.length).toBeGreaterThan(0);
      expect(refusedForRate.length).toBeLessThanOrEqual(DEFAULTS.eventBurst);
      expect(client.socket.connected).toBe(true);
      expect((await fetch(`${limited.url()}/healthz`)).status).toBe(200);
    } finally {
      client.close();
      await limited.close();
    }
  });

  it('leaks nothing: once every fuzz client has gone, no user, room, call or knock is left', async () => {
    await expectAlive(witness);
    closeAll(refusalsOf.keys());
    const gauges =
      /^duet_users 0$|^duet_rooms 0$|^duet_knocks_waiting 0$|^duet_calls\{state="(ringing|active)"\} 0$/gm;
    let body = '';
    const deadline = Date.now() + 5000;
    // Disconnects are handled asynchronously (and killed sockets keep their seat for the grace): poll.
    while (Date.now() < deadline) {
      body = await (await fetch(`${server.url()}/metrics`)).text();
      if ((body.match(gauges) ?? []).length === 5) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(
      body.match(gauges) ?? [],
      body
        .split('\n')
        .filter((l) => /^duet_(users|rooms|calls|knocks_waiting)/.test(l))
        .join('\n'),
    ).toHaveLength(5);
  });

  it('still serves a whole call after the storm', async () => {
    expect((await fetch(`${server.url()}/healthz`)).status).toBe(200);
    const { a, b, aId, bId, callId } = await activeCall(server, 'after the storm');
    watch(a);
    watch(b);
    const data = { kind: 'media', state: { microphone: true, camera: false, screen: false } } as const;
    await expect(a.request('signal', { callId, to: bId, data })).resolves.toEqual({ ok: true });
    await expect(b.next('signal')).resolves.toEqual({ callId, from: aId, data });
    await expect(b.request('call:hangup', { callId })).resolves.toEqual({ ok: true, callId });
    await expect(a.next('call:ended')).resolves.toEqual({ callId, reason: 'hangup', by: bId });
    closeAll([a, b]);

    const refused = await server.metrics.registry.getSingleMetricAsString('duet_refused_messages_total');
    for (const code of [
      'invalid_payload',
      'payload_too_large',
      'unknown_event',
      'ack_required',
      'not_in_room',
    ]) {
      expect(refused).toContain(`code="${code}"`);
    }
    expect(refused).not.toContain('internal_error');
  });

  it('recorded no fault: no unhandled rejection, uncaught exception, error log or invalid message', () => {
    expect(stats.emitted + stats.frames + stats.flood).toBeGreaterThanOrEqual(3000);
    expect(stats.oversized).toBeGreaterThan(0);
    expect(processFaults).toEqual([]);
    expect(errorLogs).toEqual([]);
    expect(badMessages).toEqual([]);
    // The server runs in this process: its parsing polluted no prototype.
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
