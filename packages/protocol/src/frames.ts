import { z } from 'zod';
import { LIMITS } from './limits.js';
import { MediaStateSchema } from './schemas.js';

/*
 * Peer-to-peer frames: what two browsers say to each other over RTCDataChannel, without the server.
 *
 * The `duet` channel (negotiated, id 0, ordered, reliable) carries JSON envelopes of a small
 * reliability layer: every `msg` has a sequence number, the receiver acknowledges cumulatively, and
 * on every (re)opened channel each side says `hello` with the next number it expects, so the other
 * resends what was lost with an old connection and the receiver drops what it already has. Chat
 * messages and file-transfer control travel as `msg` bodies.
 *
 * File bytes travel on a channel of their own per transfer (label `duet-file`), opened by the
 * sender: first a JSON header naming the transfer and the byte offset it starts at, then binary
 * chunks in order. A resumed transfer opens a new channel with a later offset.
 */

export const DATA_PROTOCOL_VERSION = 1;
export const CONTROL_CHANNEL = { label: 'duet', id: 0 } as const;
export const FILE_CHANNEL_LABEL = 'duet-file';

/** A transfer or chat message id: random, chosen by its sender. */
export const FrameIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const ByteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const ChatBodySchema = z.object({
  kind: z.literal('chat'),
  id: FrameIdSchema,
  text: z.string().min(1).max(LIMITS.maxChatMessageLength),
  /** Sender's clock, for display only. */
  sentAt: z.number().int().nonnegative(),
});

export const FileOfferBodySchema = z.object({
  kind: z.literal('file-offer'),
  transferId: FrameIdSchema,
  /** As the sender named it; the receiver sanitises it before use. */
  name: z.string().max(1024),
  size: ByteCount,
  /** As declared by the sender's browser; never trusted for rendering. */
  mime: z.string().max(255),
  /** Taken with "Take photo". */
  photo: z.boolean().optional(),
});
const TransferRef = { transferId: FrameIdSchema };
export const FileAcceptBodySchema = z.object({ kind: z.literal('file-accept'), ...TransferRef });
export const FileDeclineBodySchema = z.object({ kind: z.literal('file-decline'), ...TransferRef });
export const FileCancelBodySchema = z.object({
  kind: z.literal('file-cancel'),
  ...TransferRef,
  /** `error`: the canceller hit a failure (e.g. the file became unreadable, a size overrun). */
  reason: z.enum(['user', 'error']),
});
/** Receiver → sender: (re)start sending from this offset (what the receiver holds). */
export const FileResumeBodySchema = z.object({
  kind: z.literal('file-resume'),
  ...TransferRef,
  offset: ByteCount,
});
/** Receiver → sender: everything below `offset` is stored; the sender's progress and resume point. */
export const FileAckBodySchema = z.object({ kind: z.literal('file-ack'), ...TransferRef, offset: ByteCount });
/** Sender → receiver: every byte was sent; the SHA-256 of the whole file. */
export const FileEndBodySchema = z.object({ kind: z.literal('file-end'), ...TransferRef, sha256: Sha256Hex });
/** Receiver → sender: the receiver's own hash matched (or not). */
export const FileResultBodySchema = z.object({
  kind: z.literal('file-result'),
  ...TransferRef,
  ok: z.boolean(),
});

/**
 * Caller → callee, once per call: a secret only the two parties know (it never passes the server
 * while the call lasts). After a signaling server restart both present it with `call:restore`, which
 * proves to the new server that they are the two parties of this call.
 */
export const CallKeyBodySchema = z.object({
  kind: z.literal('call-key'),
  key: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
});

/** The sender hung up (so the call ends even when the signaling server is unreachable). */
export const ByeBodySchema = z.object({ kind: z.literal('bye') });

/**
 * The sender's microphone, camera and screen-share state, peer to peer like every other fact of a
 * running call, so a mute still shows on the other side while the signaling server is down.
 */
export const MediaBodySchema = z.object({ kind: z.literal('media'), state: MediaStateSchema });

/**
 * The sender is (or is no longer) recording the call on its own device. Sent on every change and
 * once per opened channel, like `media`, so a peer that reloaded still sees the indicator: being
 * recorded is something the other party must always know, not only when the news happened to reach it.
 */
export const RecordingBodySchema = z.object({ kind: z.literal('recording'), active: z.boolean() });

/**
 * How the sender's outgoing video is doing, so the peer knows whose connection holds the call back
 * and why the picture it receives froze or got blurry. `step` indexes the sender's video ladder
 * (0 best, `steps - 1` lowest); `reduced` says the network, not the user's setting, put it there;
 * `limitedBy` is what holds it back now; `videoOff` that even the lowest step cannot be carried and
 * the sender was asked to turn its camera off (the call keeps its audio).
 */
export const QualityBodySchema = z.object({
  kind: z.literal('quality'),
  step: z.number().int().min(0).max(15),
  steps: z.number().int().min(1).max(16),
  reduced: z.boolean(),
  limitedBy: z.enum(['bandwidth', 'loss', 'rtt', 'cpu']).nullable(),
  videoOff: z.boolean(),
});

export const BodySchema = z.discriminatedUnion('kind', [
  ByeBodySchema,
  CallKeyBodySchema,
  MediaBodySchema,
  RecordingBodySchema,
  QualityBodySchema,
  ChatBodySchema,
  FileOfferBodySchema,
  FileAcceptBodySchema,
  FileDeclineBodySchema,
  FileCancelBodySchema,
  FileResumeBodySchema,
  FileAckBodySchema,
  FileEndBodySchema,
  FileResultBodySchema,
]);
export type Body = z.infer<typeof BodySchema>;
export type BodyOf<K extends Body['kind']> = Extract<Body, { kind: K }>;

const Version = z.literal(DATA_PROTOCOL_VERSION);
const Sequence = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/**
 * The envelope with its body unchecked: a message whose body this version does not know (a newer
 * peer's) must still advance the sequence and be acknowledged, or everything after it would stall.
 */
export const LooseEnvelopeSchema = z.discriminatedUnion('t', [
  z.object({ v: Version, t: z.literal('hello'), next: Sequence }),
  z.object({ v: Version, t: z.literal('msg'), seq: Sequence, body: z.unknown() }),
  z.object({ v: Version, t: z.literal('ack'), upTo: z.number().int().min(0) }),
]);

export type LooseEnvelope = z.infer<typeof LooseEnvelopeSchema>;

export const EnvelopeSchema = z.discriminatedUnion('t', [
  /** On every open: the next sequence number I expect from you. */
  z.object({ v: Version, t: z.literal('hello'), next: Sequence }),
  z.object({ v: Version, t: z.literal('msg'), seq: Sequence, body: BodySchema }),
  /** Everything up to and including `upTo` arrived. */
  z.object({ v: Version, t: z.literal('ack'), upTo: z.number().int().min(0) }),
]);
export type Envelope = z.infer<typeof EnvelopeSchema>;

/**
 * The first (text) frame on a file channel. `channelAcks: true`: this sender moves its window on the
 * receiver's acks on the channel ({@link FileChannelAckSchema}), so a receiver that sends those may
 * send its `file-ack` at a slower pace (docs/protocol.md, "file-ack"). Absent: pace by `file-ack`.
 */
export const FileChannelHeaderSchema = z.object({
  v: Version,
  transferId: FrameIdSchema,
  offset: ByteCount,
  channelAcks: z.literal(true).optional(),
});
export type FileChannelHeader = z.infer<typeof FileChannelHeaderSchema>;

/**
 * A text frame the receiver may send back on a file channel: it stored `ack` bytes of the
 * transfer. A shortcut for the sender's window when both ends run the file in a worker (the
 * control channel's `file-ack`, which every receiver sends, lives on the page); a sender that says
 * `channelAcks` in its header moves its window on it, any other may ignore it.
 */
export const FileChannelAckSchema = z.object({ v: Version, ack: ByteCount });
export type FileChannelAck = z.infer<typeof FileChannelAckSchema>;

/** Largest JSON envelope accepted (a chat message of 4000 characters is ~16 KiB in the worst case). */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
