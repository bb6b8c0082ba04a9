import { DEFAULT_MAX_IN_MEMORY_BYTES } from './sinks.js';

/*
 * The file-transfer engine's numbers, in one place, each with the measurement or reasoning behind it.
 * Why a module of its own: the benchmark reads these from the built package (so its raw baseline
 * always sends like Duet does), and the protocol document quotes them; neither should have to load
 * the engine to see them.
 */

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

/** The values one engine runs with: the defaults, overridden by its options. */
export interface TransferSettings {
  chunkSize: number;
  highWaterMark: number;
  lowWaterMark: number;
  maxUnackedBytes: number;
  maxInMemoryBytes: number;
  stallTimeoutMs: number;
}

/** Options a caller may set; anything not a positive finite number falls back to the default. */
export type TransferSettingsOptions = Partial<TransferSettings>;

/** The settings for `options`; the low-water mark never above the high one. */
export function resolveSettings(options: TransferSettingsOptions): TransferSettings {
  const d = FILE_TRANSFER_DEFAULTS;
  const highWaterMark = positive(options.highWaterMark, d.highWaterMark);
  return {
    chunkSize: positive(options.chunkSize, d.chunkSize),
    highWaterMark,
    lowWaterMark: Math.min(positive(options.lowWaterMark, d.lowWaterMark), highWaterMark),
    maxUnackedBytes: positive(options.maxUnackedBytes, d.maxUnackedBytes),
    maxInMemoryBytes: positive(options.maxInMemoryBytes, DEFAULT_MAX_IN_MEMORY_BYTES),
    stallTimeoutMs: positive(options.stallTimeoutMs, d.stallTimeoutMs),
  };
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
