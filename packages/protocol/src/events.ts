import type { z } from 'zod';
import { ErrorCodeSchema, type ProtocolError } from './errors.js';
import * as S from './schemas.js';

/**
 * Every client → server event: its request schema, the fields of its successful acknowledgement, and
 * whether an acknowledgement callback is required (events that return data need one; relay and
 * call-control events may be fire-and-forget, and then a refusal arrives as `protocol:error`).
 */
export const CLIENT_EVENTS = {
  'room:join': { request: S.JoinRequestSchema, response: S.SessionSchema, ackRequired: true },
  'session:resume': { request: S.ResumeRequestSchema, response: S.SessionSchema, ackRequired: true },
  'room:leave': { request: S.EmptyRequestSchema, response: S.EmptyRequestSchema, ackRequired: false },
  'call:invite': { request: S.InviteRequestSchema, response: S.InviteAckSchema, ackRequired: true },
  'call:accept': { request: S.CallRefRequestSchema, response: S.CallAckSchema, ackRequired: false },
  'call:decline': { request: S.CallRefRequestSchema, response: S.CallAckSchema, ackRequired: false },
  'call:hangup': { request: S.CallRefRequestSchema, response: S.CallAckSchema, ackRequired: false },
  signal: { request: S.SignalRequestSchema, response: S.EmptyRequestSchema, ackRequired: false },
  'ice:refresh': { request: S.EmptyRequestSchema, response: S.IceServersAckSchema, ackRequired: true },
  'call:restore': { request: S.RestoreRequestSchema, response: S.RestoreAckSchema, ackRequired: true },
  'room:knock': { request: S.KnockRequestSchema, response: S.KnockAckSchema, ackRequired: true },
  'lobby:cancel': { request: S.EmptyRequestSchema, response: S.EmptyRequestSchema, ackRequired: false },
  'lobby:admit': { request: S.KnockRefRequestSchema, response: S.EmptyRequestSchema, ackRequired: false },
  'lobby:deny': { request: S.KnockRefRequestSchema, response: S.EmptyRequestSchema, ackRequired: false },
  'room:settings': {
    request: S.RoomSettingsRequestSchema,
    response: S.RoomSettingsAckSchema,
    ackRequired: false,
  },
} as const;

/** Every server → client event and its payload schema. */
export const SERVER_EVENTS = {
  presence: S.PresenceEventSchema,
  'call:incoming': S.CallIncomingEventSchema,
  'call:accepted': S.CallAcceptedEventSchema,
  'call:ended': S.CallEndedEventSchema,
  'call:restored': S.CallRestoredEventSchema,
  signal: S.SignalEventSchema,
  'protocol:error': S.ProtocolErrorEventSchema,
  'server:shutdown': S.ServerShutdownEventSchema,
  'room:settings': S.RoomSettingsEventSchema,
  'lobby:knock': S.LobbyKnockEventSchema,
  'lobby:knock-ended': S.LobbyKnockEndedEventSchema,
  'lobby:admitted': S.LobbyAdmittedEventSchema,
  'lobby:refused': S.LobbyRefusedEventSchema,
} as const;

export type ClientEventName = keyof typeof CLIENT_EVENTS;
export type ServerEventName = keyof typeof SERVER_EVENTS;

export const CLIENT_EVENT_NAMES = Object.keys(CLIENT_EVENTS) as ClientEventName[];

/** What a client sends for event `E` (before the server's normalisation). */
export type RequestOf<E extends ClientEventName> = z.input<(typeof CLIENT_EVENTS)[E]['request']>;
/** What the server handles for event `E` (after parsing and normalisation). */
export type ParsedRequestOf<E extends ClientEventName> = z.output<(typeof CLIENT_EVENTS)[E]['request']>;
/** zod infers `z.object({})` as an index signature of `never`; an empty ack has simply no fields. */
type NoFields = Record<never, never>; // eslint-disable-line @typescript-eslint/no-generated-empty-object-type -- an ack with no fields
type Fields<T> = string extends keyof T ? NoFields : T;
/** The fields of a successful acknowledgement of event `E`. */
export type ResponseOf<E extends ClientEventName> = Fields<z.output<(typeof CLIENT_EVENTS)[E]['response']>>;
/** The acknowledgement of event `E`. */
export type AckOf<E extends ClientEventName> =
  ({ ok: true } & ResponseOf<E>) | { ok: false; error: ProtocolError };
export type ServerPayloadOf<E extends ServerEventName> = z.output<(typeof SERVER_EVENTS)[E]>;

/** Socket.IO event map: client → server. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: RequestOf<E>, ack?: (result: AckOf<E>) => void) => void;
};

/** Socket.IO event map: server → client. */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerPayloadOf<E>) => void;
};

/**
 * Events between signaling processes (Socket.IO `serverSideEmit`). A single process uses none; the
 * Redis scale-out uses them to hand timers (ring timeout, reconnect grace) to the node that owns them.
 */
export type InterServerEvents = NoFields;

/** Per-socket server state (Socket.IO `socket.data`). */
export interface SocketData {
  /** Set once the socket has joined a room or resumed a session. */
  userId?: string;
  /** The client address used for the per-IP connection limit. */
  ip: string;
  /** The knock this socket is waiting on (not in a room yet), so a disconnect withdraws it. */
  knockId?: string;
}

/** Narrow an unknown error code (e.g. from a `connect_error`) to the protocol's set. */
export function isErrorCode(value: unknown): value is z.infer<typeof ErrorCodeSchema> {
  return ErrorCodeSchema.safeParse(value).success;
}
