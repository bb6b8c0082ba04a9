import {
  FILE_CHANNEL_LABEL,
  FileChannelAckSchema,
  FileChannelHeaderSchema,
  type FileChannelHeader,
} from '@duet/protocol';
import type { ChannelProvider, FileChannelLike } from './transfer-types.js';
import { FILE_TRANSFER_DEFAULTS } from './tuning.js';

/*
 * The data channels that carry file bytes: one per transfer at a time, opened by the sender, a JSON
 * header `{v, transferId, offset}` first, then binary chunks in order.
 *
 * Why a module of its own: a channel is held by one transfer, which must be able to let go of it
 * in one call (listeners off, waits ended, channel closed) whenever a resume replaces it or the
 * transfer ends; and a channel the peer opens belongs to nobody until its header names a transfer,
 * which is where a hostile peer is kept out (too many channels, no header, a bad one). Both
 * directions share the first; the receiving side's admission is the second.
 */

/** A file channel held by one transfer, with everything to undo when it lets go. */
export class HeldChannel {
  private readonly controller = new AbortController();
  private readonly undo: Array<() => void> = [];

  constructor(readonly channel: FileChannelLike) {}

  /** Aborted when the channel is dropped: every wait on this channel listens to it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Listen on the channel until it is detached or dropped. */
  on(
    type: 'open' | 'close' | 'message' | 'stored' | 'sending' | 'send-end',
    listener: (event: Event) => void,
  ): this {
    this.channel.addEventListener(type, listener);
    this.undo.push(() => this.channel.removeEventListener(type, listener));
    return this;
  }

  /** Run `cleanup` when the channel is detached or dropped (a timer to clear). */
  onDetach(cleanup: () => void): this {
    this.undo.push(cleanup);
    return this;
  }

  /** Remove our listeners, leaving the channel as it is (it closed by itself). */
  detach(): void {
    for (const undo of this.undo.splice(0)) {
      undo();
    }
  }

  /** Ours to close: listeners off first (so no break follows), waits ended, the channel closed. */
  drop(): void {
    this.detach();
    this.controller.abort();
    closeQuietly(this.channel);
  }
}

/** Open, or about to be: a channel that can still carry bytes. */
export function isChannelLive(channel: FileChannelLike): boolean {
  return channel.readyState === 'open' || channel.readyState === 'connecting';
}

/** The chunk size to send with: `wanted`, never above the peer's largest message. */
export function chunkSizeFor(
  wanted: number,
  channels: ChannelProvider,
  log: (message: string, detail?: unknown) => void,
): number {
  let remoteMax = Infinity;
  try {
    const reported = channels.maxMessageSize();
    if (reported > 0) {
      remoteMax = reported;
    }
  } catch (error) {
    log('maxMessageSize failed', error);
  }
  return Math.max(1, Math.floor(Math.min(wanted, remoteMax)));
}

/** A binary frame's bytes (an ArrayBuffer or a view of one), or null for anything else. */
export function binaryFrameBytes(data: unknown): Uint8Array<ArrayBuffer> | null {
  if (data instanceof ArrayBuffer) {
    return new Uint8Array(data);
  }
  if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null;
}

export function closeQuietly(channel: FileChannelLike): void {
  try {
    if (channel.readyState !== 'closed') {
      channel.close();
    }
  } catch {
    // Already gone with its connection.
  }
}

/** The transfer a channel was handed to: it gets the channel's frames and its end. */
export interface ChannelOwner {
  /** Whether `channel` is still the one this transfer receives on. */
  holds(channel: FileChannelLike): boolean;
  onFrame(data: unknown): void;
  /** The channel closed under us. */
  onBreak(): void;
}

export interface AdmissionOptions {
  /** The header named a transfer: hand it `held`, or return null to have the channel rejected. */
  adopt(header: FileChannelHeader, held: HeldChannel): ChannelOwner | null;
  /** A channel was closed for a missing, malformed or unexpected header (or for too many). */
  onReject(): void;
  /** Run a handler, counting and logging what it throws. */
  guard(where: string, fn: () => void): void;
  /**
   * Move the channel off the page (see worker-channels.ts): what to hold instead, or null to keep
   * it here. Called at once, in the task the channel arrived in (the only time it can move).
   */
  move?(channel: RTCDataChannel): FileChannelLike | null;
}

/** Channels the peer opened, until their header names a transfer (then that transfer owns them). */
export class ChannelAdmission {
  private readonly pending = new Map<FileChannelLike, HeldChannel>();
  private closed = false;

  constructor(private readonly options: AdmissionOptions) {}

  readonly onChannel = (incoming: RTCDataChannel): void => {
    const { options } = this;
    options.guard('incoming channel', () => {
      if (incoming.label !== FILE_CHANNEL_LABEL) {
        return;
      }
      if (this.closed || this.pending.size >= FILE_TRANSFER_DEFAULTS.maxPendingChannels) {
        this.reject(incoming);
        return;
      }
      const channel = options.move?.(incoming) ?? incoming;
      channel.binaryType = 'arraybuffer';
      const held = new HeldChannel(channel);
      let owner: ChannelOwner | null = null;
      const timer = setTimeout(() => {
        this.pending.delete(channel);
        held.detach();
        this.reject(channel);
      }, FILE_TRANSFER_DEFAULTS.headerTimeoutMs);
      held
        .on('message', (event) => {
          options.guard('file frame', () => {
            const data: unknown = (event as MessageEvent).data;
            if (owner) {
              if (owner.holds(channel)) {
                owner.onFrame(data);
              }
              return;
            }
            clearTimeout(timer);
            this.pending.delete(channel);
            const header = parseHeader(data);
            owner = header ? options.adopt(header, held) : null;
            if (!owner) {
              held.detach();
              this.reject(channel);
            }
          });
        })
        .on('close', () => {
          options.guard('file channel close', () => {
            clearTimeout(timer);
            this.pending.delete(channel);
            if (owner?.holds(channel)) {
              owner.onBreak();
            } else {
              held.detach();
            }
          });
        })
        .onDetach(() => clearTimeout(timer));
      this.pending.set(channel, held);
    });
  };

  /** Close every channel still waiting for its header, and take no more. */
  dispose(): void {
    this.closed = true;
    for (const held of this.pending.values()) {
      held.drop();
    }
    this.pending.clear();
  }

  private reject(channel: FileChannelLike): void {
    this.options.onReject();
    closeQuietly(channel);
  }
}

/** A header is short JSON text matching the schema; anything else is no header. */
function parseHeader(data: unknown): FileChannelHeader | null {
  if (typeof data !== 'string' || data.length > 1024) {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const header = FileChannelHeaderSchema.safeParse(json);
  return header.success ? header.data : null;
}

/**
 * The byte count of a receiver's ack on a file channel (`{v, ack}`), or null for any other frame.
 * Text the sender does not understand is ignored, as the protocol says.
 */
export function parseChannelAck(data: unknown): number | null {
  if (typeof data !== 'string' || data.length > 1024) {
    return null;
  }
  try {
    const parsed = FileChannelAckSchema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data.ack : null;
  } catch {
    return null; // not JSON
  }
}
