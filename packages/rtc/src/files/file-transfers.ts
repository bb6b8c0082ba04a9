import { FILE_CHANNEL_LABEL, FileChannelHeaderSchema, type Body, type BodyOf } from '@duet/protocol';
import { Emitter } from '../emitter.js';
import { IMAGE_SNIFF_BYTES, sanitizeFileName, sniffImageType } from './file-names.js';
import { DEFAULT_MAX_IN_MEMORY_BYTES, DOWNLOAD_MIME, MemorySink } from './sinks.js';
import { createSha256Hasher } from './hashing.js';
import type {
  ChannelProvider,
  ControlLink,
  FileSink,
  Hasher,
  TransferError,
  TransferState,
  TransferView,
} from './transfer-types.js';

/*
 * Peer-to-peer file transfer.
 *
 * Control (offer, accept, acks, the final hash, the verdict, resume requests) travels over the
 * reliable ControlLink; the bytes travel over a data channel of their own per transfer, opened by
 * the sender: a JSON header `{v, transferId, offset}`, then binary chunks in order. When the data
 * path breaks, the receiver asks for the rest with `file-resume {offset}` (exactly what it has
 * stored) and the sender opens a new channel from there. Both ends hash as they go (SHA-256,
 * streaming); the sender reports its hash in `file-end`, the receiver compares and answers
 * `file-result {ok}`.
 *
 *   sender                                              receiver
 *   file-offer ───────────────────────────────────────▶ offered
 *   waiting    ◀─────────────────────────────────────── file-accept (or file-decline)
 *   open channel: header, chunk, chunk, … ────────────▶ store + hash; file-ack every 512 KiB / 250 ms
 *   file-end {sha256} (after the last byte) ──────────▶ waits for the last byte, then compares
 *   done / failed ◀─────────────────────────────────── file-result {ok}
 *   on a break: paused ◀────────────────────────────── file-resume {offset} (on reconnect or close)
 *   either side, any time: file-cancel {reason}
 */

// -------------------------------------------------------------------------------------------------
// Tuning
// -------------------------------------------------------------------------------------------------

/** The engine's tuning, in one place. Every value here is a default; the options override some. */
export const FILE_TRANSFER_DEFAULTS = {
  /**
   * Bytes per data-channel message. 64 KiB is the largest size every browser pair accepts without
   * fragmentation trouble (older Firefox↔Chromium interop broke above it), and the largest is what
   * we want: in Chromium each `send()` costs ~0.2–0.4 ms of main thread whatever its size (profiled
   * on a 2-core VM), so smaller chunks only multiply that. Always capped by the peer's
   * `maxMessageSize`.
   */
  chunkSize: 64 * 1024,
  /**
   * Backpressure: stop sending while the channel buffers this much, continue at `lowWaterMark`
   * (`bufferedamountlow`). Chromium closes a channel whose send queue passes 16 MiB ("send queue
   * is full"); this stays far below. Bytes buffered here die with a broken connection and are
   * re-sent after a resume, so the buffer is kept small: a quarter of `maxUnackedBytes`, the hard
   * bound on a resume's re-send (the rest covers what SCTP has in flight and acks on their way).
   * The 128 KiB still queued when `bufferedamountlow` fires keeps SCTP busy while the event reaches
   * the page and the pump refills from a slice already read.
   */
  highWaterMark: 512 * 1024,
  lowWaterMark: 128 * 1024,
  /**
   * The sender reads its file in slices of this size (one `blob.slice().arrayBuffer()` each) and
   * sends views into them: one allocation per 32 chunks, and disk reads big enough to be cheap.
   * `Blob.slice` is a synchronous call into the browser process in Chromium, 5–9 ms of blocked main
   * thread each on a busy 2-core VM (profiled), so fewer, larger slices; 2 MiB keeps what is read
   * ahead (three slices) at 6 MiB.
   */
  sliceBytes: 2 * 1024 * 1024,
  /** Slices read ahead of the one being sent, so the next disk read overlaps the sending. */
  readAheadSlices: 2,
  /**
   * The receiver acknowledges at least every this many bytes stored (a quarter of the window)…
   * Each ack is a `send()` on the control channel, which in Chromium waits for the network thread:
   * 1–6 ms of the receiver's main thread while data pours in (profiled on a 2-core VM), plus a
   * parse on the sender: 800 blocking sends per 200 MiB. Fewer (512 KiB with a 2 MiB window) were
   * measured no faster within noise here, and a larger window re-sends more on resume.
   */
  ackIntervalBytes: 256 * 1024,
  /** …and at most this long after storing bytes it has not acknowledged. */
  ackDelayMs: 250,
  /**
   * The sender never gets further than this ahead of what the receiver acknowledged as stored.
   * - It bounds what a broken connection costs: the receiver resumes from at least its last ack,
   *   so a resume re-sends at most this much, whatever SCTP had buffered or in flight (the water
   *   marks alone do not bound the bytes in flight, and those are lost with the connection too).
   * - Receiving has no backpressure in WebRTC: a receiver whose sink is slower than the network (a
   *   slow disk) would otherwise pile messages up on its JS heap without bound; this caps it.
   * The price: at most this much per round trip, 1 MiB/RTT ≈ 800 Mbit/s at 10 ms, 160 Mbit/s at
   * 50 ms — above what data channels usually reach on such paths. The "round trip" includes both
   * main threads: a receiver busy for 40 ms (folding 8 MiB into its Blob, a UI update, a GC)
   * holds its acks back that long, and the sender of a fast loopback transfer waits. 2 MiB (with
   * an ack every 512 KiB) was tried: no faster within this machine's noise, and a resume then
   * re-sent more than the 1 MiB Duet promises. Raise it for long fat paths, accepting a larger
   * re-send on resume.
   */
  maxUnackedBytes: 1024 * 1024,
  /** A receiver asks to resume at most this often (except right after a reconnection). */
  resumeIntervalMs: 1000,
  /**
   * A receiver that gets no byte (and no new channel) for this long while it expects some drops
   * the channel and asks for the rest again. Covers what no event reports: a request or channel
   * lost with a dying connection, a channel whose data vanished (libwebrtc can reuse the stream id
   * of a channel still being reset). Long enough that a slow but live path (a 64 KiB chunk every
   * few seconds) never trips it; a false alarm costs one resume.
   */
  stallTimeoutMs: 10_000,
  /** A file channel must name its transfer within this time, or it is closed. */
  headerTimeoutMs: 10_000,
  /** Channels waiting for their header at one time; more are closed at once (a hostile peer). */
  maxPendingChannels: 16,
  /** Offers waiting for the user's answer at one time; more are dropped (a hostile peer). */
  maxPendingOffers: 64,
  /**
   * After `file-end`, channels in a row that close without delivering a byte before the receiver
   * gives up: the sender claims it sent everything but cannot deliver the rest.
   */
  maxEmptyChannelsAfterEnd: 3,
  /** Progress is emitted at most this often (state changes at once). */
  progressIntervalMs: 100,
  /** Speed is measured over this window. */
  speedWindowMs: 3000,
  /** Re-check `bufferedAmount` this often in case `bufferedamountlow` never comes (old stacks). */
  drainPollMs: 50,
} as const;

export { DEFAULT_MAX_IN_MEMORY_BYTES };

// -------------------------------------------------------------------------------------------------
// One transfer's state machine
// -------------------------------------------------------------------------------------------------

/*
 * States (TransferState) and the events that move them. Outgoing transfers start in `waiting`,
 * incoming ones in `offered`. Any event not listed for a state is ignored, which is what makes the
 * engine indifferent to the order in which a peer's messages and channel events arrive.
 *
 *   offered | waiting  --accept-->   transferring  (the receiver said yes; the sender opens a channel)
 *   offered | waiting  --decline-->  declined
 *   transferring       --break-->    paused        (the channel closed or the connection dropped)
 *   transferring       --resume-->   transferring  (a new channel replaces the current one)
 *   paused             --resume-->   transferring
 *   transferring | paused --complete--> verifying  (receiver: every byte stored; sender: every byte acked)
 *   verifying          --verified--> done
 *   any active         --fail-->     failed        (hash mismatch, size overrun, read/storage error, peer error)
 *   any active         --cancel-->   cancelled
 *   done, failed, cancelled, declined: final.
 */

export type TransferEvent =
  'accept' | 'decline' | 'break' | 'resume' | 'complete' | 'verified' | 'fail' | 'cancel';

const FINAL_STATES: ReadonlySet<TransferState> = new Set(['done', 'failed', 'cancelled', 'declined']);

/** The next state of a transfer, or null when `event` does not apply in `state` (ignore it). */
export function nextTransferState(state: TransferState, event: TransferEvent): TransferState | null {
  if (FINAL_STATES.has(state)) return null;
  if (event === 'fail') return 'failed';
  if (event === 'cancel') return 'cancelled';
  switch (state) {
    case 'offered':
    case 'waiting':
      if (event === 'accept') return 'transferring';
      if (event === 'decline') return 'declined';
      return null;
    case 'transferring':
      if (event === 'break') return 'paused';
      if (event === 'resume') return 'transferring';
      if (event === 'complete') return 'verifying';
      return null;
    case 'paused':
      if (event === 'resume') return 'transferring';
      if (event === 'complete') return 'verifying';
      return null;
    case 'verifying':
      return event === 'verified' ? 'done' : null;
    default:
      return null;
  }
}

const isActive = (state: TransferState): boolean => !FINAL_STATES.has(state);
const isMoving = (state: TransferState): boolean => state === 'transferring' || state === 'paused';

// -------------------------------------------------------------------------------------------------
// The engine
// -------------------------------------------------------------------------------------------------

export interface FileTransfersOptions {
  link: ControlLink;
  channels: ChannelProvider;
  /** Where an accepted incoming file goes, unless accept() is given a sink. Default: memory sink. */
  createSink?: (offer: { name: string; size: number; mime: string }) => FileSink;
  /** Default: streaming SHA-256 from @noble/hashes on this thread. */
  createHasher?: () => Hasher;
  /**
   * Refuse incoming files larger than this without a disk sink (state failed, error too_large):
   * applies when the sink is a {@link MemorySink}. Default {@link DEFAULT_MAX_IN_MEMORY_BYTES}.
   */
  maxInMemoryBytes?: number;
  /** Default: min({@link FILE_TRANSFER_DEFAULTS}.chunkSize, channels.maxMessageSize()). */
  chunkSize?: number;
  /** `bufferedAmount` backpressure; see {@link FILE_TRANSFER_DEFAULTS} for why these values. */
  highWaterMark?: number;
  lowWaterMark?: number;
  /** How far the sender may run ahead of the receiver's acks; see {@link FILE_TRANSFER_DEFAULTS}. */
  maxUnackedBytes?: number;
  /** Receiver's watchdog; see {@link FILE_TRANSFER_DEFAULTS}. */
  stallTimeoutMs?: number;
  /** Milliseconds, monotonic. Default: performance.now(). */
  now?: () => number;
  log?: (message: string, detail?: unknown) => void;
}

/** Things dropped or refused, for tests and diagnostics. */
export interface FileTransferCounters {
  /** File channels closed for a missing, malformed or unexpected header. */
  rejectedChannels: number;
  /** Control bodies ignored: unknown transfer, wrong direction or state, duplicate offer. */
  ignoredBodies: number;
  /** Frames ignored on an adopted channel (text after the header, unknown data types). */
  ignoredFrames: number;
  /** Exceptions caught inside the engine's handlers. */
  handlerErrors: number;
}

interface TransferBase {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly photo: boolean;
  state: TransferState;
  error: TransferError | null;
  cancelledBy: 'self' | 'peer' | null;
  sha256: string | null;
  channel: RTCDataChannel | null;
  /** Removes the engine's listeners from `channel`. */
  detach: (() => void) | null;
  readonly meter: RateMeter;
}

interface Outgoing extends TransferBase {
  readonly direction: 'send';
  blob: Blob | null;
  reader: SliceReader | null;
  hasher: Hasher | null;
  /** Bytes [0, hashedUpTo) went through the hasher: each byte is hashed once, even across resumes. */
  hashedUpTo: number;
  /** What the receiver confirmed it stored. */
  acked: number;
  /** The furthest byte ever handed to a channel: a resume request can not ask for more. */
  maxSent: number;
  /** Bumped whenever the running pump must stop (new channel, cancel). */
  generation: number;
  /** Where the current channel started, and in which connection epoch it was opened. */
  channelStart: number;
  channelEpoch: number;
  /** A resume (or the start) that found no connection: open a channel from here on reconnect. */
  wantOffset: number | null;
  ending: Promise<void> | null;
  /** Pumps waiting for an ack or for the buffer to drain. */
  readonly wakers: Set<() => void>;
}

interface Incoming extends TransferBase {
  readonly direction: 'receive';
  sink: FileSink | null;
  hasher: Hasher | null;
  /** Bytes taken from channels, in order (some may still be on their way into the sink). */
  received: number;
  /** Bytes written to the sink and hashed. */
  stored: number;
  lastAck: number;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
  writes: Promise<void>;
  readonly head: Uint8Array;
  headLength: number;
  expectedSha256: string | null;
  verifying: boolean;
  /** Bytes delivered by the current channel. */
  channelBytes: number;
  emptyChannelsAfterEnd: number;
  resumeTimer: ReturnType<typeof setTimeout> | undefined;
  lastResumeAt: number;
  /** When a byte or a channel last arrived; checked by the stall watchdog. */
  lastProgressAt: number;
  watchdog: ReturnType<typeof setInterval> | undefined;
  file: Blob | null;
  image: Blob | null;
}

type Transfer = Outgoing | Incoming;

interface Settings {
  chunkSize: number;
  highWaterMark: number;
  lowWaterMark: number;
  maxUnackedBytes: number;
  maxInMemoryBytes: number;
  stallTimeoutMs: number;
}

/**
 * Sends and receives files over data channels: chunked, with backpressure, verified end to end with
 * SHA-256, resumed from the receiver's offset after a broken connection, and safe against a
 * hostile peer (names sanitised, sizes enforced, nothing the peer sends can throw out of here).
 */
export class FileTransfers extends Emitter<{ change: readonly TransferView[] }> {
  /** Things dropped or refused so far. */
  readonly counters: FileTransferCounters = {
    rejectedChannels: 0,
    ignoredBodies: 0,
    ignoredFrames: 0,
    handlerErrors: 0,
  };

  private readonly link: ControlLink;
  private readonly channels: ChannelProvider;
  private readonly createSink: (offer: { name: string; size: number; mime: string }) => FileSink;
  private readonly createHasher: () => Hasher;
  private readonly settings: Settings;
  private readonly now: () => number;
  private readonly log: (message: string, detail?: unknown) => void;
  private readonly transfersById = new Map<string, Transfer>();
  /** Channels whose header has not arrived, with what to undo for each. */
  private readonly pendingChannels = new Map<RTCDataChannel, () => void>();
  private readonly unsubscribe: Array<() => void>;
  private views: readonly TransferView[] = [];
  /** Counts reconnections: a channel opened in an earlier epoch may be dead without knowing it. */
  private epoch = 0;
  private emitTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(options: FileTransfersOptions) {
    super();
    const d = FILE_TRANSFER_DEFAULTS;
    this.link = options.link;
    this.channels = options.channels;
    this.createSink = options.createSink ?? (() => new MemorySink());
    this.createHasher = options.createHasher ?? createSha256Hasher;
    const highWaterMark = positive(options.highWaterMark, d.highWaterMark);
    this.settings = {
      chunkSize: positive(options.chunkSize, d.chunkSize),
      highWaterMark,
      lowWaterMark: Math.min(positive(options.lowWaterMark, d.lowWaterMark), highWaterMark),
      maxUnackedBytes: positive(options.maxUnackedBytes, d.maxUnackedBytes),
      maxInMemoryBytes: positive(options.maxInMemoryBytes, DEFAULT_MAX_IN_MEMORY_BYTES),
      stallTimeoutMs: positive(options.stallTimeoutMs, d.stallTimeoutMs),
    };
    this.now = options.now ?? (() => performance.now());
    this.log = options.log ?? (() => {});
    this.unsubscribe = [
      this.link.onBody(this.onBody),
      this.channels.onChannel(this.onChannel),
      this.channels.onReconnected(this.onReconnected),
    ];
  }

  /** Every transfer of this call, oldest first. A fresh array (and objects) after every change. */
  get transfers(): readonly TransferView[] {
    return this.views;
  }

  /** Incoming files larger than this need a disk sink (`accept(id, new WritableSink(…))`). */
  get maxInMemoryBytes(): number {
    return this.settings.maxInMemoryBytes;
  }

  /**
   * Offer a file to the peer. The Blob is read in slices when the peer accepts, never whole.
   * Returns the transfer id.
   */
  send(file: Blob, name: string, options: { photo?: boolean } = {}): string {
    if (this.disposed) throw new Error('FileTransfers is disposed');
    const id = randomId();
    const t: Outgoing = {
      direction: 'send',
      id,
      name: sanitizeFileName(name),
      size: file.size,
      mime: file.type.length <= 255 ? file.type : '',
      photo: options.photo === true,
      state: 'waiting',
      error: null,
      cancelledBy: null,
      sha256: null,
      channel: null,
      detach: null,
      meter: new RateMeter(FILE_TRANSFER_DEFAULTS.speedWindowMs),
      blob: file,
      reader: null,
      hasher: null,
      hashedUpTo: 0,
      acked: 0,
      maxSent: 0,
      generation: 0,
      channelStart: 0,
      channelEpoch: 0,
      wantOffset: null,
      ending: null,
      wakers: new Set(),
    };
    this.sendOffer(t);
    this.transfersById.set(id, t);
    this.changed();
    return id;
  }

  /**
   * Accept an incoming file into `sink` (default: `createSink`, else memory). Without a disk sink,
   * a file over `maxInMemoryBytes` fails with `too_large`. Does nothing for an unknown transfer or
   * one no longer offered.
   */
  async accept(transferId: string, sink?: FileSink): Promise<void> {
    const t = this.transfersById.get(transferId);
    if (this.disposed || t?.direction !== 'receive' || t.state !== 'offered') return;
    let target: FileSink;
    try {
      target = sink ?? this.createSink({ name: t.name, size: t.size, mime: t.mime });
    } catch (error) {
      this.fail(t, 'storage_failed', true, error);
      return;
    }
    if (target instanceof MemorySink && t.size > this.settings.maxInMemoryBytes) {
      this.fail(t, 'too_large', true);
      await target.abort();
      return;
    }
    t.sink = target;
    t.hasher = this.createHasher();
    this.apply(t, 'accept');
    this.link.send({ kind: 'file-accept', transferId: t.id });
    // An empty file is complete at once; it still waits for the sender's hash.
    if (t.size === 0) {
      this.completeIncoming(t);
      return;
    }
    t.lastProgressAt = this.now();
    const { stallTimeoutMs } = this.settings;
    t.watchdog = setInterval(() => this.guard('watchdog', () => this.checkStall(t)), stallTimeoutMs / 4);
  }

  /** Refuse an offered file. */
  decline(transferId: string): void {
    const t = this.transfersById.get(transferId);
    if (this.disposed || t?.direction !== 'receive' || t.state !== 'offered') return;
    this.link.send({ kind: 'file-decline', transferId: t.id });
    this.apply(t, 'decline');
    this.cleanup(t);
  }

  /** Stop a transfer in any active state, either direction: the peer is told, everything freed. */
  cancel(transferId: string): void {
    const t = this.transfersById.get(transferId);
    if (this.disposed || !t || !isActive(t.state)) return;
    this.link.send({ kind: 'file-cancel', transferId: t.id, reason: 'user' });
    t.cancelledBy = 'self';
    this.apply(t, 'cancel');
    this.cleanup(t);
  }

  /** Stop listening and free every transfer (channels closed, sinks aborted). The peer is not told. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    for (const [channel, undo] of this.pendingChannels) {
      undo();
      closeQuietly(channel);
    }
    this.pendingChannels.clear();
    for (const t of this.transfersById.values()) this.cleanup(t);
    clearTimeout(this.emitTimer);
    this.removeAllListeners();
  }

  // -----------------------------------------------------------------------------------------------
  // Control bodies from the peer
  // -----------------------------------------------------------------------------------------------

  private readonly onBody = (body: Body): void => {
    this.guard(`body ${body.kind}`, () => {
      if (this.disposed) return;
      switch (body.kind) {
        case 'chat':
          return;
        case 'file-offer':
          this.onOffer(body);
          return;
        case 'file-cancel':
          this.onPeerCancel(body);
          return;
        case 'file-end':
          this.onEnd(body);
          return;
        case 'file-accept':
        case 'file-decline':
        case 'file-resume':
        case 'file-ack':
        case 'file-result':
          this.onReceiverBody(body);
          return;
        default:
          this.counters.ignoredBodies++;
      }
    });
  };

  private sendOffer(t: Outgoing): void {
    this.link.send({
      kind: 'file-offer',
      transferId: t.id,
      name: t.name,
      size: t.size,
      mime: t.mime,
      ...(t.photo ? { photo: true } : {}),
    });
  }

  private onOffer(body: BodyOf<'file-offer'>): void {
    const pending = [...this.transfersById.values()].filter((t) => t.state === 'offered').length;
    if (this.transfersById.has(body.transferId) || pending >= FILE_TRANSFER_DEFAULTS.maxPendingOffers) {
      this.counters.ignoredBodies++;
      return;
    }
    const t: Incoming = {
      direction: 'receive',
      id: body.transferId,
      name: sanitizeFileName(body.name),
      size: body.size,
      mime: body.mime,
      photo: body.photo === true,
      state: 'offered',
      error: null,
      cancelledBy: null,
      sha256: null,
      channel: null,
      detach: null,
      meter: new RateMeter(FILE_TRANSFER_DEFAULTS.speedWindowMs),
      sink: null,
      hasher: null,
      received: 0,
      stored: 0,
      lastAck: 0,
      ackTimer: undefined,
      writes: Promise.resolve(),
      head: new Uint8Array(IMAGE_SNIFF_BYTES),
      headLength: 0,
      expectedSha256: null,
      verifying: false,
      channelBytes: 0,
      emptyChannelsAfterEnd: 0,
      resumeTimer: undefined,
      lastResumeAt: -Infinity,
      lastProgressAt: 0,
      watchdog: undefined,
      file: null,
      image: null,
    };
    this.transfersById.set(t.id, t);
    this.changed();
  }

  private onPeerCancel(body: BodyOf<'file-cancel'>): void {
    const t = this.transfersById.get(body.transferId);
    if (!t || !isActive(t.state)) {
      this.counters.ignoredBodies++;
      return;
    }
    if (body.reason === 'error') {
      this.fail(t, 'peer_failed', false);
      return;
    }
    t.cancelledBy = 'peer';
    this.apply(t, 'cancel');
    this.cleanup(t);
  }

  /** Bodies only a receiver sends, so they concern our outgoing transfers. */
  private onReceiverBody(
    body: BodyOf<'file-accept' | 'file-decline' | 'file-resume' | 'file-ack' | 'file-result'>,
  ): void {
    const t = this.transfersById.get(body.transferId);
    if (!t && body.kind === 'file-resume') {
      // The peer resumes a transfer this page does not know: it was lost with a reload. Tell the
      // peer, or its transfer would wait for us forever.
      this.log(`transfer ${body.transferId}: resume asked, but it is not ours (lost with a reload?)`);
      this.link.send({ kind: 'file-cancel', transferId: body.transferId, reason: 'error' });
    }
    if (t?.direction !== 'send' || !isActive(t.state)) {
      this.counters.ignoredBodies++;
      return;
    }
    switch (body.kind) {
      case 'file-accept':
        if (isMoving(t.state)) {
          // Accepted again: the receiver lost the transfer (a reload), was offered it again on
          // reconnecting (see onReconnected), and said yes. Start over from the first byte.
          this.log(`transfer ${t.id}: accepted again by a receiver that lost it; from the start`);
          this.onResume(t, 0);
          return;
        }
        if (t.state !== 'waiting') break;
        this.apply(t, 'accept');
        this.startSending(t);
        return;
      case 'file-decline':
        if (!this.apply(t, 'decline')) break;
        this.cleanup(t);
        return;
      case 'file-resume':
        if (!isMoving(t.state)) break;
        this.onResume(t, body.offset);
        return;
      case 'file-ack':
        if (!isMoving(t.state) || body.offset > t.maxSent) break;
        this.onAck(t, body.offset);
        return;
      case 'file-result':
        this.onResult(t, body.ok);
        return;
    }
    this.counters.ignoredBodies++;
  }

  // -----------------------------------------------------------------------------------------------
  // Sending
  // -----------------------------------------------------------------------------------------------

  private startSending(t: Outgoing): void {
    const blob = t.blob;
    if (!blob) return;
    t.hasher = this.createHasher();
    t.reader = new SliceReader(
      blob,
      FILE_TRANSFER_DEFAULTS.sliceBytes,
      FILE_TRANSFER_DEFAULTS.readAheadSlices,
      (start, bytes) => this.hashSlice(t, start, bytes),
    );
    if (t.size === 0) {
      void this.run('file end', () => this.finishSending(t));
      return;
    }
    this.openChannel(t, 0);
  }

  /** Hash what the reader read, once per byte: a re-read after a resume skips what was hashed. */
  private async hashSlice(t: Outgoing, start: number, bytes: Uint8Array): Promise<void> {
    const end = start + bytes.byteLength;
    if (!t.hasher || start > t.hashedUpTo || end <= t.hashedUpTo) return;
    await t.hasher.update(bytes.subarray(t.hashedUpTo - start));
    t.hashedUpTo = end;
  }

  private onResume(t: Outgoing, requested: number): void {
    if (t.acked >= t.size) {
      this.counters.ignoredBodies++;
      return;
    }
    // The receiver can hold at most what was sent; a larger claim is clamped (and will not verify).
    const offset = Math.min(requested, t.maxSent);
    const channel = t.channel;
    if (
      channel &&
      t.channelStart === offset &&
      t.channelEpoch === this.epoch &&
      (channel.readyState === 'open' || channel.readyState === 'connecting')
    ) {
      // Already answered: this channel starts there and was opened on the current connection
      // (e.g. on our own reconnect, while the receiver asked for the same on its reconnect).
      this.log(`transfer ${t.id}: resume at ${offset} already under way`);
      return;
    }
    t.acked = offset;
    this.apply(t, 'resume');
    this.openChannel(t, offset);
  }

  private onAck(t: Outgoing, offset: number): void {
    if (offset > t.acked) {
      t.acked = offset;
      t.meter.add(this.now(), offset);
      this.wake(t);
    }
    if (t.acked >= t.size) {
      this.dropChannel(t);
      this.apply(t, 'complete');
      return;
    }
    this.dirty();
  }

  private onResult(t: Outgoing, ok: boolean): void {
    if (!ok) {
      this.fail(t, 'hash_mismatch', false);
      return;
    }
    t.acked = t.size;
    this.apply(t, 'complete');
    this.apply(t, 'verified');
    this.cleanup(t);
  }

  /** A new channel for `t`, starting at `offset`; the previous one (if any) is closed. */
  private openChannel(t: Outgoing, offset: number): void {
    this.dropChannel(t);
    let channel: RTCDataChannel | null = null;
    try {
      channel = this.channels.open(FILE_CHANNEL_LABEL);
    } catch (error) {
      this.log('could not open a file channel', error);
    }
    this.log(`transfer ${t.id}: ${channel ? 'sending' : 'no connection to send'} from ${offset}`);
    if (!channel) {
      // No connection now: open one when it is back.
      t.wantOffset = offset;
      this.apply(t, 'break');
      return;
    }
    t.wantOffset = null;
    t.channelStart = offset;
    t.channelEpoch = this.epoch;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = this.settings.lowWaterMark;
    t.channel = channel;
    const generation = t.generation;
    let started = false;
    const start = (): void => {
      if (started || t.generation !== generation) return;
      started = true;
      void this.run('send', () => this.pump(t, channel, generation, offset));
    };
    const onClose = (): void => {
      this.guard('file channel close', () => {
        if (t.channel !== channel) return;
        this.dropChannel(t);
        // Wait for the receiver's file-resume: only it knows what it stored.
        if (t.acked < t.size) this.apply(t, 'break');
      });
    };
    channel.addEventListener('open', start);
    channel.addEventListener('close', onClose);
    t.detach = () => {
      channel.removeEventListener('open', start);
      channel.removeEventListener('close', onClose);
    };
    if (channel.readyState === 'open') queueMicrotask(start);
  }

  /**
   * Send `t` from `from` on `channel` until the end or until this pump is superseded: the header,
   * then views into slices read ahead, paced by `bufferedAmount` and by the receiver's acks.
   */
  private async pump(t: Outgoing, channel: RTCDataChannel, generation: number, from: number): Promise<void> {
    const { highWaterMark, maxUnackedBytes } = this.settings;
    const chunkSize = this.chunkSize();
    const live = (): boolean =>
      t.generation === generation && t.channel === channel && channel.readyState === 'open';
    const reader = t.reader;
    if (!live() || !reader) return;
    let offset = from;
    try {
      channel.send(JSON.stringify({ v: 1, transferId: t.id, offset }));
      while (offset < t.size) {
        let slice: { start: number; bytes: Uint8Array<ArrayBuffer> };
        try {
          slice = await reader.read(offset);
        } catch (error) {
          if (t.generation === generation) this.fail(t, 'read_failed', true, error);
          return;
        }
        const { start, bytes } = slice;
        let at = offset - start;
        while (at < bytes.byteLength) {
          if (!live()) return;
          if (channel.bufferedAmount >= highWaterMark) {
            await this.drained(t, channel);
            continue;
          }
          if (offset - t.acked >= maxUnackedBytes) {
            await this.nextWake(t);
            continue;
          }
          const length = Math.min(chunkSize, bytes.byteLength - at);
          channel.send(bytes.subarray(at, at + length));
          at += length;
          offset += length;
          if (offset > t.maxSent) t.maxSent = offset;
        }
      }
    } catch (error) {
      // send() throws once the channel is closing; its close event handles that. Anything else:
      // drop this channel, the receiver will ask for the rest.
      if (!live()) return;
      this.log('file channel send failed', error);
      this.dropChannel(t);
      this.apply(t, 'break');
      return;
    }
    await this.finishSending(t);
  }

  /** After the last byte: make sure every byte was hashed, then send the hash (once). */
  private finishSending(t: Outgoing): Promise<void> {
    t.ending ??= (async () => {
      const { reader, hasher } = t;
      if (!reader || !hasher) return;
      try {
        while (t.hashedUpTo < t.size && isActive(t.state)) await reader.readAt(t.hashedUpTo);
      } catch (error) {
        this.fail(t, 'read_failed', true, error);
        return;
      }
      if (!isActive(t.state)) return;
      let sha256: string;
      try {
        sha256 = await hasher.digest();
      } catch (error) {
        this.fail(t, 'read_failed', true, error);
        return;
      }
      if (!isActive(t.state)) return;
      t.sha256 = sha256;
      this.link.send({ kind: 'file-end', transferId: t.id, sha256 });
      this.changed();
    })();
    return t.ending;
  }

  private chunkSize(): number {
    let remoteMax = Infinity;
    try {
      const reported = this.channels.maxMessageSize();
      if (reported > 0) remoteMax = reported;
    } catch (error) {
      this.log('maxMessageSize failed', error);
    }
    return Math.max(1, Math.floor(Math.min(this.settings.chunkSize, remoteMax)));
  }

  /** Resolves when the channel's buffer fell to the low-water mark, it closed, or `t` was woken. */
  private drained(t: Outgoing, channel: RTCDataChannel): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearInterval(poll);
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', done);
        t.wakers.delete(done);
        resolve();
      };
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', done);
      t.wakers.add(done);
      // A safety net only: browsers fire `bufferedamountlow`; some Node stacks never do.
      const poll = setInterval(() => {
        if (channel.bufferedAmount <= this.settings.lowWaterMark || channel.readyState !== 'open') done();
      }, FILE_TRANSFER_DEFAULTS.drainPollMs);
    });
  }

  private nextWake(t: Outgoing): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        t.wakers.delete(done);
        resolve();
      };
      t.wakers.add(done);
    });
  }

  private wake(t: Outgoing): void {
    for (const waker of [...t.wakers]) waker();
  }

  // -----------------------------------------------------------------------------------------------
  // Receiving
  // -----------------------------------------------------------------------------------------------

  private readonly onChannel = (channel: RTCDataChannel): void => {
    this.guard('incoming channel', () => {
      if (channel.label !== FILE_CHANNEL_LABEL) return;
      if (this.disposed || this.pendingChannels.size >= FILE_TRANSFER_DEFAULTS.maxPendingChannels) {
        this.reject(channel);
        return;
      }
      channel.binaryType = 'arraybuffer';
      let adopted: Incoming | null = null;
      const timer = setTimeout(() => {
        this.pendingChannels.delete(channel);
        detach();
        this.reject(channel);
      }, FILE_TRANSFER_DEFAULTS.headerTimeoutMs);
      const onMessage = (event: MessageEvent): void => {
        this.guard('file frame', () => {
          if (adopted) {
            if (adopted.channel === channel) this.onFrame(adopted, event.data);
            return;
          }
          clearTimeout(timer);
          this.pendingChannels.delete(channel);
          adopted = this.adopt(channel, event.data, detach);
          if (!adopted) {
            detach();
            this.reject(channel);
          }
        });
      };
      const onClose = (): void => {
        this.guard('file channel close', () => {
          clearTimeout(timer);
          this.pendingChannels.delete(channel);
          if (adopted?.channel === channel) this.onIncomingBreak(adopted);
          else detach();
        });
      };
      const detach = (): void => {
        clearTimeout(timer);
        channel.removeEventListener('message', onMessage);
        channel.removeEventListener('close', onClose);
      };
      channel.addEventListener('message', onMessage);
      channel.addEventListener('close', onClose);
      this.pendingChannels.set(channel, detach);
    });
  };

  private reject(channel: RTCDataChannel): void {
    this.counters.rejectedChannels++;
    closeQuietly(channel);
  }

  /** The header names an accepted transfer and starts exactly where our stored bytes end. */
  private adopt(channel: RTCDataChannel, data: unknown, detach: () => void): Incoming | null {
    if (typeof data !== 'string' || data.length > 1024) return null;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return null;
    }
    const header = FileChannelHeaderSchema.safeParse(json);
    if (!header.success) return null;
    const t = this.transfersById.get(header.data.transferId);
    if (t?.direction !== 'receive' || !isMoving(t.state)) return null;
    if (header.data.offset !== t.received) {
      // A channel from a stale request (or a confused sender). If we have none, say where we are.
      if (!t.channel) this.scheduleResume(t, false);
      return null;
    }
    this.dropChannel(t);
    clearTimeout(t.resumeTimer);
    this.log(`transfer ${t.id}: receiving from ${t.received}`);
    t.channel = channel;
    t.detach = detach;
    t.channelBytes = 0;
    t.lastProgressAt = this.now();
    this.apply(t, 'resume');
    return t;
  }

  private onFrame(t: Incoming, data: unknown): void {
    let bytes: Uint8Array<ArrayBuffer>;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer)
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (typeof Blob !== 'undefined' && data instanceof Blob) {
      // binaryType was not honoured: convert in order, inside the write queue.
      if (!this.take(t, data.size)) return;
      const converted = data.arrayBuffer().then((buffer) => new Uint8Array(buffer));
      converted.catch(() => undefined); // the write queue reports it, in its turn
      this.store(t, converted);
      return;
    } else {
      this.counters.ignoredFrames++;
      return;
    }
    if (bytes.byteLength === 0 || !this.take(t, bytes.byteLength)) return;
    this.store(t, bytes);
  }

  /** Count `length` more bytes in, refusing any beyond the declared size. */
  private take(t: Incoming, length: number): boolean {
    if (t.received + length > t.size) {
      this.fail(t, 'size_exceeded', true);
      return false;
    }
    t.received += length;
    t.channelBytes += length;
    t.lastProgressAt = this.now();
    return true;
  }

  /** Write, then hash, strictly in arrival order. */
  private store(t: Incoming, chunk: Uint8Array | Promise<Uint8Array>): void {
    t.writes = t.writes
      .then(async () => {
        const bytes = await chunk;
        const { sink, hasher } = t;
        if (!sink || !hasher || !isActive(t.state)) return;
        await sink.write(bytes);
        await hasher.update(bytes);
        if (t.headLength < t.head.byteLength) {
          const part = bytes.subarray(0, t.head.byteLength - t.headLength);
          t.head.set(part, t.headLength);
          t.headLength += part.byteLength;
        }
        t.stored += bytes.byteLength;
        t.meter.add(this.now(), t.stored);
        if (t.stored >= t.size) this.completeIncoming(t);
        else if (t.stored - t.lastAck >= FILE_TRANSFER_DEFAULTS.ackIntervalBytes) this.sendAck(t);
        else t.ackTimer ??= setTimeout(() => this.sendAck(t), FILE_TRANSFER_DEFAULTS.ackDelayMs);
        this.dirty();
      })
      .catch((error: unknown) => {
        if (isActive(t.state)) this.fail(t, 'storage_failed', true, error);
      });
  }

  private sendAck(t: Incoming): void {
    clearTimeout(t.ackTimer);
    t.ackTimer = undefined;
    if (!isActive(t.state) || t.stored <= t.lastAck) return;
    t.lastAck = t.stored;
    this.guard('ack', () => this.link.send({ kind: 'file-ack', transferId: t.id, offset: t.stored }));
  }

  private completeIncoming(t: Incoming): void {
    // The final ack, even for an empty file: it tells the sender to close the channel.
    clearTimeout(t.ackTimer);
    t.ackTimer = undefined;
    t.lastAck = t.stored;
    this.link.send({ kind: 'file-ack', transferId: t.id, offset: t.stored });
    this.apply(t, 'complete');
    this.verifyIfReady(t);
  }

  private onEnd(body: BodyOf<'file-end'>): void {
    const t = this.transfersById.get(body.transferId);
    if (t?.direction !== 'receive' || !(isMoving(t.state) || t.state === 'verifying') || t.expectedSha256) {
      this.counters.ignoredBodies++;
      return;
    }
    // Bytes may still be on their way on the data channel: wait for them.
    t.expectedSha256 = body.sha256;
    this.verifyIfReady(t);
  }

  private verifyIfReady(t: Incoming): void {
    if (t.state !== 'verifying' || t.expectedSha256 === null || t.verifying) return;
    t.verifying = true;
    void this.run('verify', () => this.verify(t));
  }

  private async verify(t: Incoming): Promise<void> {
    await t.writes;
    const { sink, hasher } = t;
    if (!sink || !hasher || !isActive(t.state)) return;
    let file: Blob | null;
    let sha256: string;
    try {
      sha256 = await hasher.digest();
      if (!isActive(t.state)) return;
      if (sha256 !== t.expectedSha256) {
        this.link.send({ kind: 'file-result', transferId: t.id, ok: false });
        this.fail(t, 'hash_mismatch', false);
        return;
      }
      t.sink = null; // closing, not to be aborted
      file = await sink.close();
    } catch (error) {
      this.fail(t, 'storage_failed', true, error);
      return;
    }
    if (!isActive(t.state)) return;
    if (file && file.type !== DOWNLOAD_MIME) file = file.slice(0, file.size, DOWNLOAD_MIME);
    const imageType = sniffImageType(t.head.subarray(0, t.headLength));
    t.file = file;
    t.image = file && imageType ? file.slice(0, file.size, imageType) : null;
    t.sha256 = sha256;
    this.link.send({ kind: 'file-result', transferId: t.id, ok: true });
    this.apply(t, 'verified');
    this.cleanup(t);
  }

  /** The adopted channel closed under us. */
  private onIncomingBreak(t: Incoming): void {
    const delivered = t.channelBytes;
    this.dropChannel(t);
    if (t.received >= t.size || !isMoving(t.state)) return;
    if (t.expectedSha256 !== null && delivered === 0) {
      // The sender says it sent everything, yet its channels end without bytes.
      if (++t.emptyChannelsAfterEnd >= FILE_TRANSFER_DEFAULTS.maxEmptyChannelsAfterEnd) {
        this.fail(t, 'peer_failed', true);
        return;
      }
    } else if (delivered > 0) {
      t.emptyChannelsAfterEnd = 0;
    }
    this.apply(t, 'break');
    this.scheduleResume(t, false);
  }

  /**
   * Ask the sender for the rest, once every received byte is stored (so the offset is exact).
   * Rate-limited unless `now`: a channel closed by the sender while it switches to a newer one
   * must not trigger a request that makes it switch again.
   */
  private scheduleResume(t: Incoming, now: boolean): void {
    clearTimeout(t.resumeTimer);
    const wait = now ? 0 : Math.max(0, t.lastResumeAt + FILE_TRANSFER_DEFAULTS.resumeIntervalMs - this.now());
    t.resumeTimer = setTimeout(() => {
      t.resumeTimer = undefined;
      void this.run('resume', async () => {
        await t.writes;
        if (!isMoving(t.state) || t.channel || t.received >= t.size) return;
        t.lastResumeAt = this.now();
        this.log(`transfer ${t.id}: asking to resume from ${t.received}`);
        this.link.send({ kind: 'file-resume', transferId: t.id, offset: t.received });
      });
    }, wait);
  }

  /** Nothing arrived for too long although bytes are missing: start over from what is stored. */
  private checkStall(t: Incoming): void {
    if (!isMoving(t.state) || t.received >= t.size) return;
    if (this.now() - t.lastProgressAt < this.settings.stallTimeoutMs) return;
    this.log(`transfer ${t.id} stalled at ${t.received}; asking to resume`);
    t.lastProgressAt = this.now();
    this.dropChannel(t);
    this.apply(t, 'break');
    this.scheduleResume(t, false);
  }

  // -----------------------------------------------------------------------------------------------
  // Connection events
  // -----------------------------------------------------------------------------------------------

  private readonly onReconnected = (): void => {
    this.guard('reconnected', () => {
      if (this.disposed) return;
      this.epoch++;
      for (const t of this.transfersById.values()) {
        if (!isMoving(t.state)) continue;
        if (t.direction === 'receive') {
          // Channels from before may be dead without knowing it (a replaced connection): ask for
          // everything from what is stored, on a fresh channel. The sender's in-flight bytes are
          // bounded, so this costs at most those.
          if (t.received >= t.size) continue;
          this.dropChannel(t);
          this.apply(t, 'break');
          this.scheduleResume(t, true);
        } else {
          if (t.wantOffset !== null) {
            this.apply(t, 'resume');
            this.openChannel(t, t.wantOffset);
          } else if (t.channel && t.channel.readyState !== 'open' && t.channel.readyState !== 'connecting') {
            // Closed with its old connection without telling (browsers fire no close event then).
            // The receiver's resume request follows.
            this.dropChannel(t);
            this.apply(t, 'break');
          }
          // The peer may be a reloaded page that lost the transfer: offer it again. A peer that
          // still has it ignores the duplicate offer; one that lost it asks its user again, and
          // an accept then restarts the transfer (see onReceiverBody).
          this.sendOffer(t);
        }
      }
    });
  };

  // -----------------------------------------------------------------------------------------------
  // Shared
  // -----------------------------------------------------------------------------------------------

  private apply(t: Transfer, event: TransferEvent): boolean {
    const next = nextTransferState(t.state, event);
    if (next === null) return false;
    if (next === t.state) return true;
    const wasTransferring = t.state === 'transferring';
    t.state = next;
    if (next === 'transferring' && !wasTransferring) {
      t.meter.reset();
      t.meter.add(this.now(), t.direction === 'send' ? t.acked : t.stored);
    }
    this.changed();
    return true;
  }

  private fail(t: Transfer, error: TransferError, tellPeer: boolean, cause?: unknown): void {
    if (!isActive(t.state)) return;
    this.log(`transfer ${t.id} failed: ${error}`, cause);
    // A disposed engine stays silent: its call (or page) is over, and a failure it causes itself by
    // aborting its sinks is no news for the peer (which may be talking to our successor already).
    if (tellPeer && !this.disposed)
      this.guard('cancel', () => this.link.send({ kind: 'file-cancel', transferId: t.id, reason: 'error' }));
    t.error = error;
    this.apply(t, 'fail');
    this.cleanup(t);
  }

  /** Detach from and close the current channel of `t` (ours to close: no break follows). */
  private dropChannel(t: Transfer): void {
    const channel = t.channel;
    t.detach?.();
    t.detach = null;
    t.channel = null;
    if (t.direction === 'send') {
      t.generation++;
      this.wake(t);
    }
    if (channel) closeQuietly(channel);
  }

  /** Free everything a finished (or disposed) transfer holds. */
  private cleanup(t: Transfer): void {
    this.dropChannel(t);
    t.meter.reset();
    if (t.direction === 'send') {
      t.reader?.close();
      t.reader = null;
      t.blob = null;
      t.hasher = null;
      t.wantOffset = null;
      return;
    }
    clearTimeout(t.resumeTimer);
    clearTimeout(t.ackTimer);
    clearInterval(t.watchdog);
    const sink = t.sink;
    t.sink = null;
    t.hasher = null;
    if (sink) sink.abort().catch((error: unknown) => this.log('sink abort failed', error));
  }

  /** Emit the state at once. */
  private changed(): void {
    clearTimeout(this.emitTimer);
    this.emitTimer = undefined;
    if (this.disposed) return;
    const now = this.now();
    this.views = [...this.transfersById.values()].map((t) => view(t, now));
    this.emit('change', this.views);
  }

  /** Emit progress soon (throttled). */
  private dirty(): void {
    if (this.emitTimer !== undefined || this.disposed) return;
    this.emitTimer = setTimeout(() => this.changed(), FILE_TRANSFER_DEFAULTS.progressIntervalMs);
  }

  /** Run `fn`, counting and logging instead of throwing: nothing a peer sends escapes. */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.counters.handlerErrors++;
      this.log(`file transfer: ${where} failed`, error);
    }
  }

  private run(where: string, task: () => Promise<void>): Promise<void> {
    return task().catch((error: unknown) => {
      this.counters.handlerErrors++;
      this.log(`file transfer: ${where} failed`, error);
    });
  }
}

function view(t: Transfer, now: number): TransferView {
  const bytes = t.direction === 'send' ? t.acked : t.stored;
  const rate = t.state === 'transferring' ? t.meter.rate(now) : 0;
  return {
    id: t.id,
    direction: t.direction,
    name: t.name,
    size: t.size,
    mime: t.mime,
    photo: t.photo,
    state: t.state,
    bytes,
    bytesPerSecond: Math.round(rate),
    secondsLeft: rate > 0 ? Math.max(0, t.size - bytes) / rate : null,
    error: t.error,
    cancelledBy: t.cancelledBy,
    file: t.direction === 'receive' ? t.file : null,
    image: t.direction === 'receive' ? t.image : null,
    sha256: t.sha256,
  };
}

// -------------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------------

class ReaderClosedError extends Error {
  override readonly name = 'ReaderClosedError';
}

/**
 * Reads a Blob in aligned slices, one at a time in file order, keeping the slice being sent and
 * the next `readAhead` ones (so a disk read is always under way while the channel drains).
 * `onSlice` sees every slice read, in read order, before anyone else does (the hasher).
 */
class SliceReader {
  private readonly slices = new Map<number, Promise<Uint8Array<ArrayBuffer>>>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly blob: Blob,
    private readonly sliceBytes: number,
    private readonly readAhead: number,
    private readonly onSlice: (start: number, bytes: Uint8Array) => Promise<void>,
  ) {}

  /** The slice holding `offset`. */
  async read(offset: number): Promise<{ start: number; bytes: Uint8Array<ArrayBuffer> }> {
    const start = offset - (offset % this.sliceBytes);
    const last = start + this.readAhead * this.sliceBytes;
    for (const key of this.slices.keys()) if (key < start || key > last) this.slices.delete(key);
    const current = this.slice(start);
    for (let next = start + this.sliceBytes; next <= last && next < this.blob.size; next += this.sliceBytes) {
      void this.slice(next);
    }
    return { start, bytes: await current };
  }

  /** Read (and so hash) the bytes from `offset` to the end of its slice, bypassing the cache. */
  readAt(offset: number): Promise<void> {
    return this.enqueue(async () => {
      const bytes = await this.load(offset);
      await this.onSlice(offset, bytes);
    });
  }

  close(): void {
    this.closed = true;
    this.slices.clear();
  }

  private slice(start: number): Promise<Uint8Array<ArrayBuffer>> {
    let slice = this.slices.get(start);
    if (!slice) {
      slice = this.enqueue(async () => {
        const bytes = await this.load(start);
        await this.onSlice(start, bytes);
        return bytes;
      });
      // A read-ahead may fail before anyone awaits it; whoever reads it later sees the error.
      slice.catch(() => undefined);
      this.slices.set(start, slice);
    }
    return slice;
  }

  private async load(from: number): Promise<Uint8Array<ArrayBuffer>> {
    this.assertOpen();
    const to = Math.min(from - (from % this.sliceBytes) + this.sliceBytes, this.blob.size);
    const bytes = new Uint8Array(await this.blob.slice(from, to).arrayBuffer());
    this.assertOpen(); // closed while reading: drop the bytes, hash nothing
    return bytes;
  }

  private assertOpen(): void {
    if (this.closed) throw new ReaderClosedError('reader closed');
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Bytes per second over a sliding window, from (time, total bytes) samples. */
class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];
  private latest: { at: number; bytes: number } | null = null;

  constructor(private readonly windowMs: number) {}

  add(at: number, bytes: number): void {
    this.latest = { at, bytes };
    const last = this.samples.at(-1);
    // A sample every 1/20 of the window is plenty; the latest total is kept exactly.
    if (!last || at - last.at >= this.windowMs / 20) this.samples.push({ at, bytes });
    // Keep one sample at or before the window's start as the anchor.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - this.windowMs) this.samples.shift();
  }

  rate(now: number): number {
    const first = this.samples[0];
    const latest = this.latest;
    if (!first || !latest || latest.bytes <= first.bytes || now - latest.at > this.windowMs) return 0;
    const span = now - first.at;
    return span > 0 ? ((latest.bytes - first.bytes) * 1000) / span : 0;
  }

  reset(): void {
    this.samples = [];
    this.latest = null;
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function closeQuietly(channel: RTCDataChannel): void {
  try {
    if (channel.readyState !== 'closed') channel.close();
  } catch {
    // Already gone with its connection.
  }
}

/** 128 random bits, base64url (22 characters): matches FrameIdSchema. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
