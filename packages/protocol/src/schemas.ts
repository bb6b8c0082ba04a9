import { z } from 'zod';
import { LIMITS } from './limits.js';
import { ProtocolErrorSchema } from './errors.js';
import { normalizeDisplayName, normalizeRoomName } from './normalize.js';

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A 128-bit random id, base64url: server-assigned for users, calls and sessions. */
export const IdSchema = z.string().length(LIMITS.idLength).regex(BASE64URL, 'must be base64url');
export const UserIdSchema = IdSchema;
export const CallIdSchema = IdSchema;
export const SessionTokenSchema = z
  .string()
  .length(LIMITS.sessionTokenLength)
  .regex(BASE64URL, 'must be base64url');

// Raw input may be a little longer than the limit (it shrinks when whitespace folds); the
// normalised value is what the limit applies to.
const RAW_NAME_SLACK = 4;

export const DisplayNameSchema = z
  .string()
  .max(LIMITS.maxDisplayNameLength * RAW_NAME_SLACK)
  .transform(normalizeDisplayName)
  .pipe(z.string().min(1, 'must not be empty').max(LIMITS.maxDisplayNameLength));

export const RoomNameSchema = z
  .string()
  .max(LIMITS.maxRoomNameLength * RAW_NAME_SLACK)
  .transform(normalizeRoomName)
  .pipe(z.string().min(1, 'must not be empty').max(LIMITS.maxRoomNameLength));

/** A user as others see them. `in-call` covers ringing too: such a user cannot take another call. */
export const UserStateSchema = z.enum(['free', 'in-call']);
/**
 * What kind of peer a user is, as it said when joining. `terminal`: the `duet` command line, which
 * takes data-only calls (chat and files) and has no camera or microphone. Absent: a browser.
 */
export const AgentSchema = z.enum(['browser', 'terminal']);
export type Agent = z.infer<typeof AgentSchema>;
export const PublicUserSchema = z.object({
  id: UserIdSchema,
  name: DisplayNameSchema,
  state: UserStateSchema,
  agent: AgentSchema.optional(),
});
export type PublicUser = z.infer<typeof PublicUserSchema>;
export type UserState = z.infer<typeof UserStateSchema>;

/**
 * The secret in a private room's link (`#k=…`, the URL fragment, which browsers never send to a
 * server in a request or a `Referer`). The client makes it: at least 128 random bits, base64url.
 */
export const RoomSecretSchema = z
  .string()
  .regex(
    new RegExp(`^[A-Za-z0-9_-]{${LIMITS.minRoomSecretLength},${LIMITS.maxRoomSecretLength}}$`),
    `must be ${LIMITS.minRoomSecretLength}–${LIMITS.maxRoomSecretLength} base64url characters`,
  );
export const RoomPasswordSchema = z.string().min(1).max(LIMITS.maxRoomPasswordLength);

/**
 * How a room lets people in, as every member sees it. `access`: `private` rooms need the link's
 * secret; `open` rooms (only where the operator allows them) need just the name.
 */
export const RoomSettingsSchema = z.object({
  access: z.enum(['private', 'open']),
  /** Newcomers knock and wait until a member admits them. */
  askToJoin: z.boolean(),
  /** Nobody else may join or knock, even with the link. */
  locked: z.boolean(),
  /** Joining needs the password the first member set. */
  password: z.boolean(),
});
export type RoomSettings = z.infer<typeof RoomSettingsSchema>;

/** Someone waiting at the door, as the members see them. */
export const KnockIdSchema = IdSchema;
export const KnockSchema = z.object({ knockId: KnockIdSchema, name: DisplayNameSchema });
export type Knock = z.infer<typeof KnockSchema>;

export const RoomSnapshotSchema = z.object({
  name: RoomNameSchema,
  capacity: z.number().int().positive(),
  /** Everyone in the room, the receiver included, in join order. */
  users: z.array(PublicUserSchema),
  settings: RoomSettingsSchema,
  /** People waiting to be admitted, oldest first. */
  knocks: z.array(KnockSchema).max(LIMITS.maxKnocksPerRoom),
});
export type RoomSnapshot = z.infer<typeof RoomSnapshotSchema>;

export const IceServerSchema = z.object({
  urls: z.union([z.string().max(512), z.array(z.string().max(512)).max(16)]),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof IceServerSchema>;

/**
 * What the caller intends to send; the callee's UI shows "video call" or "audio call". Neither audio
 * nor video is a data-only call (chat and files, e.g. with a terminal peer): its peer connection
 * carries data channels and no media sections, and neither side opens a camera or microphone.
 */
export const CallMediaSchema = z.object({ audio: z.boolean(), video: z.boolean() });
export type CallMedia = z.infer<typeof CallMediaSchema>;

/** The media of a data-only call (see CallMediaSchema). */
export const DATA_ONLY_MEDIA: CallMedia = Object.freeze({ audio: false, video: false });

/** Whether a call carries no media at all: data channels only. */
export function isDataOnly(media: CallMedia): boolean {
  return !media.audio && !media.video;
}

export const CallRoleSchema = z.enum(['caller', 'callee']);
export const CallStateSchema = z.enum(['ringing', 'active']);

/** A call as one of its parties sees it (on resume). */
export const CallInfoSchema = z.object({
  callId: CallIdSchema,
  state: CallStateSchema,
  role: CallRoleSchema,
  peer: PublicUserSchema,
  media: CallMediaSchema,
  /** Perfect negotiation: the callee is polite. */
  polite: z.boolean(),
});
export type CallInfo = z.infer<typeof CallInfoSchema>;

export const CallEndReasonSchema = z.enum([
  /** The callee declined while ringing. */
  'declined',
  /** The caller hung up while ringing. */
  'cancelled',
  /** Nobody answered within the ring timeout (the callee's "missed call"). */
  'timeout',
  /** One party hung up an active call. */
  'hangup',
  /** The other party left the room or lost its connection beyond the grace period. */
  'peer_left',
]);
export type CallEndReason = z.infer<typeof CallEndReasonSchema>;

/**
 * How a hang-up ends a call, decided once for the server (which tells the other party) and the client
 * (which tells its own user at once): before the answer the caller cancels and the callee declines.
 */
export function hangupReason(
  call: 'ringing' | 'active',
  by: 'caller' | 'callee',
): Extract<CallEndReason, 'hangup' | 'cancelled' | 'declined'> {
  if (call === 'active') {
    return 'hangup';
  }
  return by === 'caller' ? 'cancelled' : 'declined';
}

// ---------------------------------------------------------------------------------------------
// Relayed signaling (SDP and ICE), opaque to the server beyond its shape and size
// ---------------------------------------------------------------------------------------------

export const SessionDescriptionSchema = z.object({
  type: z.enum(['offer', 'answer']),
  sdp: z.string().max(LIMITS.maxSdpLength),
});

export const IceCandidateSchema = z.object({
  candidate: z.string().max(LIMITS.maxCandidateLength),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

/** What a party tells its peer about its own media, so the peer can show "muted" or an avatar. */
export const MediaStateSchema = z.object({
  microphone: z.boolean(),
  camera: z.boolean(),
  screen: z.boolean(),
});
export type MediaState = z.infer<typeof MediaStateSchema>;

/**
 * Which peer connection of a call a description or candidate belongs to. A call replaces its peer
 * connection when one dies for good (or a party reloads): only the caller starts a new epoch, and
 * signals of an older epoch are dropped.
 */
export const EpochSchema = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);

export const SignalDataSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('description'),
    description: SessionDescriptionSchema,
    epoch: EpochSchema.optional(),
  }),
  // `candidate: null` marks the end of candidates.
  z.object({
    kind: z.literal('candidate'),
    candidate: IceCandidateSchema.nullable(),
    epoch: EpochSchema.optional(),
  }),
  z.object({ kind: z.literal('media'), state: MediaStateSchema }),
  /**
   * Callee → caller: my peer connection is gone (failed, or I reloaded); please start a new epoch.
   * `fresh`: I hold no connection of this call at all (my page reloaded), so an epoch you started
   * meanwhile never reached me: start another one even if yours is young.
   */
  z.object({ kind: z.literal('reconnect'), fresh: z.boolean().optional() }),
]);
export type SignalData = z.infer<typeof SignalDataSchema>;

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

/** Socket.IO `auth` sent with the handshake. */
export const HandshakeAuthSchema = z.object({ protocolVersion: z.number().int() });
export type HandshakeAuth = z.infer<typeof HandshakeAuthSchema>;

// ---------------------------------------------------------------------------------------------
// Client → server requests
// ---------------------------------------------------------------------------------------------

/** Events without fields accept `{}` or nothing at all. */
export const EmptyRequestSchema = z.object({}).default({});
/** A secret the client makes (≥128 random bits, base64url): a join key, a call's restore key. */
export const ClientKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be 22–64 base64url characters');
/**
 * `joinKey` makes the join safe to send again: when the connection drops before the answer, the
 * client repeats the same join on its new connection and gets the same seat, not a second one.
 */
export const JoinRequestSchema = z.object({
  room: RoomNameSchema,
  name: DisplayNameSchema,
  joinKey: ClientKeySchema.optional(),
  /** Default `browser`; others see it on this user (PublicUser.agent). */
  agent: AgentSchema.optional(),
  /** The private room's secret (from the link). Without it only an open room can be joined. */
  secret: RoomSecretSchema.optional(),
  /** Make the room if nobody is in it (the lobby's "new room"); otherwise a missing room is refused. */
  create: z.boolean().optional(),
  /** The room's password; with `create`, the password the new room will ask for. */
  password: RoomPasswordSchema.optional(),
  /** From `lobby:admitted`: a member let this person in, so the join skips asking again. */
  ticket: SessionTokenSchema.optional(),
});
/** Ask to be let into a room that asks newcomers to knock. */
export const KnockRequestSchema = z.object({
  room: RoomNameSchema,
  name: DisplayNameSchema,
  secret: RoomSecretSchema.optional(),
  password: RoomPasswordSchema.optional(),
});
export const KnockRefRequestSchema = z.object({ knockId: KnockIdSchema });
/** A member changes how the room lets people in; fields left out stay as they are. */
export const RoomSettingsRequestSchema = z.object({
  askToJoin: z.boolean().optional(),
  locked: z.boolean().optional(),
});
export const ResumeRequestSchema = z.object({ sessionToken: SessionTokenSchema });
export const InviteRequestSchema = z.object({
  to: UserIdSchema,
  media: CallMediaSchema.default({ audio: true, video: true }),
});
export const CallRefRequestSchema = z.object({ callId: CallIdSchema });
/** After a server restart: the two parties of a running call each prove it with the call's key. */
export const RestoreRequestSchema = z.object({
  callId: CallIdSchema,
  key: ClientKeySchema,
  role: CallRoleSchema,
});
export const SignalRequestSchema = z.object({
  callId: CallIdSchema,
  to: UserIdSchema,
  /** Optional; the server stamps the real sender and refuses a `from` that is not the sender. */
  from: UserIdSchema.optional(),
  data: SignalDataSchema,
});

// ---------------------------------------------------------------------------------------------
// Successful acknowledgements (the fields besides `ok: true`)
// ---------------------------------------------------------------------------------------------

export const SessionSchema = z.object({
  self: PublicUserSchema,
  /** Keep it (e.g. in sessionStorage) and send it with `session:resume` after a reload or reconnect. */
  sessionToken: SessionTokenSchema,
  room: RoomSnapshotSchema,
  /** STUN/TURN servers for this user; TURN credentials are the user's own and short-lived. */
  iceServers: z.array(IceServerSchema),
  /** When the TURN credentials expire (ms since epoch); refresh with `ice:refresh` before. Null: never. */
  iceServersExpireAt: z.number().int().nullable(),
  /** `relay`: the deployment hides addresses: connect only through TURN (RTCConfiguration). */
  iceTransportPolicy: z.enum(['all', 'relay']),
  /** The user's current call, if any (always null on a fresh join). */
  call: CallInfoSchema.nullable(),
});
export type Session = z.infer<typeof SessionSchema>;
export const IceServersAckSchema = z.object({
  iceServers: z.array(IceServerSchema),
  iceServersExpireAt: z.number().int().nullable(),
});
export const RestoreAckSchema = z.object({
  /** `waiting`: the other party has not claimed the call yet; `call:restored` follows when it does. */
  state: z.enum(['waiting', 'restored']),
  /** The other party (with its new id) once restored. */
  peer: PublicUserSchema.nullable(),
});
export const InviteAckSchema = z.object({ callId: CallIdSchema, ringTimeoutMs: z.number().int() });
export const CallAckSchema = z.object({ callId: CallIdSchema });
export const KnockAckSchema = z.object({
  knockId: KnockIdSchema,
  /** The knock is refused with `knock_timeout` if nobody answers within this long. */
  timeoutMs: z.number().int(),
});
export const RoomSettingsAckSchema = z.object({ settings: RoomSettingsSchema });

// ---------------------------------------------------------------------------------------------
// Server → client events
// ---------------------------------------------------------------------------------------------

export const PresenceEventSchema = z.object({
  room: RoomNameSchema,
  change: z.enum(['joined', 'left', 'updated']),
  user: PublicUserSchema,
});
export const CallIncomingEventSchema = z.object({
  callId: CallIdSchema,
  from: PublicUserSchema,
  media: CallMediaSchema,
  ringTimeoutMs: z.number().int(),
});
export const CallAcceptedEventSchema = z.object({
  callId: CallIdSchema,
  peer: PublicUserSchema,
  /** Perfect negotiation role: the callee is polite, the caller is not. */
  polite: z.boolean(),
});
export const CallEndedEventSchema = z.object({
  callId: CallIdSchema,
  reason: CallEndReasonSchema,
  /** The user whose action or departure ended the call; absent for a timeout. */
  by: UserIdSchema.optional(),
});
/** The other party claimed the call too: it is active again on this server. */
export const CallRestoredEventSchema = z.object({ callId: CallIdSchema, peer: PublicUserSchema });
export const SignalEventSchema = z.object({
  callId: CallIdSchema,
  from: UserIdSchema,
  data: SignalDataSchema,
});
/** To every member: the room's settings changed (`by`: the member who changed them). */
export const RoomSettingsEventSchema = z.object({
  room: RoomNameSchema,
  settings: RoomSettingsSchema,
  by: UserIdSchema,
});
/** To every member: someone knocks. */
export const LobbyKnockEventSchema = KnockSchema;
/** To every member: a knock is over (admitted, denied, cancelled, timed out), so drop it from the list. */
export const LobbyKnockEndedEventSchema = z.object({
  knockId: KnockIdSchema,
  outcome: z.enum(['admitted', 'denied', 'cancelled', 'timeout']),
});
/** To the knocker: a member let them in; join with this ticket (valid for a minute, once). */
export const LobbyAdmittedEventSchema = z.object({ knockId: KnockIdSchema, ticket: SessionTokenSchema });
/** To the knocker: the knock is over without admission. */
export const LobbyRefusedEventSchema = z.object({
  knockId: KnockIdSchema,
  /** `knock_denied`: a member said no; `knock_timeout`: nobody answered; `room_closed`: everyone left. */
  code: z.enum(['knock_denied', 'knock_timeout', 'room_closed']),
});
export const ProtocolErrorEventSchema = z.object({
  /** The event that was refused (truncated when the name itself is junk). */
  event: z.string().max(64),
  error: ProtocolErrorSchema,
});
export const ServerShutdownEventSchema = z.object({
  /** Reconnect after about this long; the client's session survives if it is back within the grace. */
  retryAfterMs: z.number().int().nonnegative(),
});
