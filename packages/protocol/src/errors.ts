import { z } from 'zod';

/**
 * The closed set of error codes. Every refusal the server sends, in an acknowledgement, a
 * `protocol:error` event or a `connect_error`, carries one of these; clients translate them.
 */
export const ERROR_CODES = [
  /** The handshake's `auth.protocolVersion` is missing or not the server's. */
  'unsupported_protocol_version',
  /** The `Origin` header is not on the allow-list. */
  'origin_not_allowed',
  /** Too many concurrent connections from one IP address. */
  'too_many_connections',
  /** The server is shutting down and accepts no new work. */
  'server_shutting_down',
  /** The payload failed its schema. */
  'invalid_payload',
  /** A field is longer than its limit. */
  'payload_too_large',
  /** The event name is not part of the protocol. */
  'unknown_event',
  /** The event was sent without an acknowledgement callback where one is required. */
  'ack_required',
  /** The socket sent events faster than its rate limit. */
  'rate_limited',
  /** The action needs a joined room. */
  'not_in_room',
  /** `room:join` on a socket that is already in a room. */
  'already_in_room',
  /** The room has as many members as its capacity. */
  'room_full',
  /** `session:resume` with a token the server does not know (expired or never issued). */
  'session_expired',
  /** The target user is not in the sender's room. */
  'user_not_found',
  /** A user tried to call themselves. */
  'cannot_call_self',
  /** The sender is already in a call (ringing or active). */
  'already_in_call',
  /** The callee is in another call (ringing or active). */
  'busy',
  /** No such call, or the sender is not one of its parties. */
  'call_not_found',
  /** The call is not in a state that allows the action (e.g. accepting an active call). */
  'invalid_call_state',
  /** A relayed message targets someone who is not the sender's peer in an active call. */
  'not_in_call',
  /** A message claims a `from` that is not the sender. */
  'forged_sender',
  /**
   * No room answers to this name and secret: it never existed, it ended (its last member left), or
   * the secret is wrong or missing. The three are answered alike on purpose, so that nobody without
   * the link learns whether a room exists.
   */
  'room_not_found',
  /** A member locked the room: nobody else may join or knock until it is unlocked. */
  'room_locked',
  /** The room asks newcomers to knock (`room:knock`) and wait for a member to admit them. */
  'knock_required',
  /** `room:knock` on a room that lets people in without asking: join it directly. */
  'knock_not_needed',
  /** The room has as many people waiting to be admitted as it accepts. */
  'lobby_full',
  /** No such knock is waiting (already admitted, denied, cancelled or timed out). */
  'knock_not_found',
  /** To a knocker (`lobby:refused`): a member denied the knock. */
  'knock_denied',
  /** To a knocker (`lobby:refused`): nobody answered the knock in time. */
  'knock_timeout',
  /** To a knocker (`lobby:refused`): the last member left while they waited; the room is gone. */
  'room_closed',
  /** The room has a password and none was given. */
  'password_required',
  /** The password was wrong. */
  'wrong_password',
  /** Too many password attempts from this address or for this room; `retryAfterMs` says when to retry. */
  'too_many_attempts',
  /** A bug on the server; logged with details, the client sees only this code. */
  'internal_error',
] as const;

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ProtocolErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string().max(1000),
  /** With `too_many_attempts` (and other limits): how long to wait before trying again. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
/** The error shape in every failed acknowledgement and refusal. */
export type ProtocolError = z.infer<typeof ProtocolErrorSchema>;

/** Data attached to a Socket.IO `connect_error` raised by the server's handshake checks. */
export const ConnectErrorDataSchema = ProtocolErrorSchema.extend({
  serverProtocolVersion: z.number().int().optional(),
});
export type ConnectErrorData = z.infer<typeof ConnectErrorDataSchema>;
