import type { Body } from '@duet/protocol';

/*
 * The file engine's contracts with the rest of the core (the control link, the channels, sinks,
 * hashers) and with the UI (TransferView). Why a types-only module: the messenger, the call link and
 * the client implement or consume these without loading the engine.
 */

/**
 * The reliable, ordered control link to the peer (the messenger over the `duet` channel): a body
 * sent here arrives exactly once and in order, even across a lost and rebuilt peer connection.
 */
export interface ControlLink {
  send(body: Body): void;
  /** Bodies from the peer, already validated, duplicates removed. Returns an unsubscribe function. */
  onBody(listener: (body: Body) => void): () => void;
}

/** Data channels of the current peer connection, for file bytes. */
export interface ChannelProvider {
  /** A new ordered, reliable channel on the current connection; null while there is none. */
  open(label: string): RTCDataChannel | null;
  /** Channels the peer opened (label `duet-file`). Returns an unsubscribe function. */
  onChannel(listener: (channel: RTCDataChannel) => void): () => void;
  /** The data path came back up (a new or restarted connection): time to resume. */
  onReconnected(listener: () => void): () => void;
  /** The peer's largest message (SCTP maxMessageSize); chunks stay below it. */
  maxMessageSize(): number;
}

/** The part of a data channel the file engine uses: a real RTCDataChannel, here or in a worker. */
export type FileChannelLike = Pick<
  RTCDataChannel,
  | 'label'
  | 'readyState'
  | 'bufferedAmount'
  | 'bufferedAmountLowThreshold'
  | 'binaryType'
  | 'send'
  | 'close'
  | 'addEventListener'
  | 'removeEventListener'
>;

/** Where received bytes go: memory (a Blob) or a file on disk (File System Access API). */
export interface FileSink {
  /** Append bytes; resolves once they are stored. */
  write(chunk: Uint8Array): Promise<void>;
  /** Everything arrived: the finished file as a Blob (memory sink) or null (written to disk). */
  close(): Promise<Blob | null>;
  /** Give up: discard what was stored. */
  abort(): Promise<void>;
}

/** A streaming SHA-256 (a well-kept library, possibly in a worker). */
export interface Hasher {
  update(chunk: Uint8Array): void | Promise<void>;
  /** Lowercase hex. */
  digest(): Promise<string>;
}

export type TransferState =
  /** Incoming, waiting for the user's accept or decline. */
  | 'offered'
  /** Outgoing, waiting for the peer's accept. */
  | 'waiting'
  | 'transferring'
  /** The connection dropped; resumes by itself when it is back. */
  | 'paused'
  /** All bytes moved; hashes being compared. */
  | 'verifying'
  | 'done'
  | 'failed'
  | 'cancelled'
  | 'declined';

export type TransferError =
  /** The receiver's SHA-256 differs from the sender's. */
  | 'hash_mismatch'
  /** The sender sent more bytes than it declared. */
  | 'size_exceeded'
  /** Reading the local file failed (moved, deleted, permission). */
  | 'read_failed'
  /** Storing failed (disk full, quota). */
  | 'storage_failed'
  /** Larger than this browser can hold in memory without a save location. */
  | 'too_large'
  /** The peer reported a failure. */
  | 'peer_failed';

/** One transfer as the UI shows it. A fresh object on every change. */
export interface TransferView {
  id: string;
  direction: 'send' | 'receive';
  /** Sanitised base name (incoming names are never used raw). */
  name: string;
  size: number;
  /** As declared by the sender; informational only. */
  mime: string;
  photo: boolean;
  state: TransferState;
  /** Bytes confirmed stored by the receiver (sender side) or stored (receiver side). */
  bytes: number;
  /** Over the last seconds; 0 when idle. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null when unknown. */
  secondsLeft: number | null;
  error: TransferError | null;
  cancelledBy: 'self' | 'peer' | null;
  /** A received, verified file: offered for download as application/octet-stream. */
  file: Blob | null;
  /** A received, verified raster image (PNG, JPEG, GIF, WebP by its bytes, never SVG): for a preview. */
  image: Blob | null;
  /** Outgoing: the SHA-256 the sender computed; incoming: the one verified. */
  sha256: string | null;
}
