/**
 * Limits shared by client and server. The server enforces them; the client uses them to refuse early
 * with a clear message instead of a round trip.
 */
export const LIMITS = {
  /** Socket.IO `maxHttpBufferSize`: a larger frame closes the connection at the transport. */
  maxSignalingPayloadBytes: 64 * 1024,
  /** An SDP blob; leaves headroom below the transport limit for the envelope. */
  maxSdpLength: 60 * 1024,
  /** An ICE candidate line is ~100–200 characters; 1 KiB is generous and bounds abuse. */
  maxCandidateLength: 1024,
  maxDisplayNameLength: 64,
  maxRoomNameLength: 64,
  /** User, call and session ids are 128-bit random values, base64url-encoded (22 characters). */
  idLength: 22,
  sessionTokenLength: 43,
  maxChatMessageLength: 4000,
  /** A room secret: at least 128 random bits, base64url (22 characters); longer ones are accepted. */
  minRoomSecretLength: 22,
  maxRoomSecretLength: 86,
  maxRoomPasswordLength: 128,
  /** People waiting at one room's door at once: bounds what one link holder can pile on members. */
  maxKnocksPerRoom: 8,
} as const;

/** Server defaults; each is configurable (see the README's configuration table). */
export const DEFAULTS = {
  port: 3000,
  roomCapacity: 2,
  maxRoomCapacity: 16,
  ringTimeoutMs: 30_000,
  /** How long a user whose connection dropped keeps their seat, so a reload or a blip does not drop them. */
  reconnectGraceMs: 15_000,
  /** Rate limit per socket: `eventBurst` events per window of ceil(eventBurst / eventsPerSecond) s. */
  eventsPerSecond: 50,
  eventBurst: 100,
  maxConnectionsPerIp: 20,
  shutdownTimeoutMs: 10_000,
  turnTtlSeconds: 3600,
  /** `ice:refresh` per user per minute: clients need about one per TTL. */
  iceRefreshPerMinute: 6,
  /** A knock nobody answers is refused after this long (`knock_timeout`). */
  knockTimeoutMs: 60_000,
  /** Password attempts per client address, and per room, in each window below. */
  passwordAttemptsPerIp: 5,
  passwordAttemptsPerRoom: 20,
  passwordAttemptWindowMs: 60_000,
} as const;
