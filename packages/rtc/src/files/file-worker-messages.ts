import type { ImageMime } from './file-names.js';

/*
 * What the page and the file worker say to each other (file-worker.ts is the worker, worker-channels.ts
 * the page's side). Why a types-only module: both sides import it, and the worker bundle must not
 * pull in the page's engine.
 *
 * The worker is same-origin code of ours, so these messages are not a trust boundary; what the
 * peer sends still is, and it is checked where it arrives: the channel header by the page (the
 * worker passes its text on unread), file bytes against the declared size in the worker.
 */

/** The sender's pacing, as the page resolved it (see FILE_TRANSFER_DEFAULTS). */
export interface WorkerSendSettings {
  chunkSize: number;
  highWaterMark: number;
  lowWaterMark: number;
  maxUnackedBytes: number;
  sliceBytes: number;
  readAheadSlices: number;
}

export type ToFileWorker =
  /** A channel the peer opened (transferred): report its header, then hold its bytes. */
  | { op: 'receive'; cid: number; channel: RTCDataChannel }
  /**
   * Store the bytes of channel `cid` for transfer `tid`, which holds `from` bytes so far. `quiet`:
   * the sender is paced by the worker's acks on the channel, so the page needs `stored` only for
   * its progress (every ~100 ms), not every 256 KiB for its file-ack.
   */
  | { op: 'store'; cid: number; tid: string; size: number; from: number; quiet: boolean }
  /** Hand the bytes of channel `cid` to the page (its transfer stores them itself). */
  | { op: 'relay'; cid: number }
  /** Bytes the page received on a channel it kept: store them for `tid`, in order. */
  | { op: 'write'; tid: string; size: number; bytes: ArrayBuffer }
  /** How many bytes of `tid` are stored (the page is about to ask the sender for the rest). */
  | { op: 'where'; tid: string }
  /** Every byte of `tid` is in: answer with its SHA-256, the file, and its image type. */
  | { op: 'finish'; tid: string }
  /** Forget `tid` (either direction): its bytes, its hash, its file. */
  | { op: 'discard'; tid: string }
  /** A channel we opened (transferred): when open, send `blob` from `from` for `tid`. */
  | {
      op: 'send';
      cid: number;
      channel: RTCDataChannel;
      tid: string;
      blob: Blob;
      from: number;
      acked: number;
      settings: WorkerSendSettings;
    }
  /** The receiver confirmed `offset` bytes of `tid`. */
  | { op: 'ack'; tid: string; offset: number }
  /** Read whatever of `tid` was not hashed yet, then answer with its SHA-256. */
  | { op: 'digest'; tid: string }
  /** Close channel `cid` and forget it. */
  | { op: 'close'; cid: number }
  /** For tests and diagnostics: what this worker has written to file channels. */
  | { op: 'sends' };

/** What a file worker wrote to file channels: the bytes, and each channel's header. */
export interface FileChannelSends {
  fileBytes: number;
  headers: string[];
}

export type FromFileWorker =
  | { op: 'ready' }
  | { op: 'open'; cid: number }
  /** The channel's first frame: its text, or null when it was not text. */
  | { op: 'header'; cid: number; text: string | null }
  /** A frame of a relayed channel. */
  | { op: 'frame'; cid: number; data: ArrayBuffer | string }
  /** `tid` now holds `stored` bytes (stored and hashed), the last of them from channel `cid`. */
  | { op: 'stored'; cid: number; tid: string; stored: number }
  /** The answer to `where`. */
  | { op: 'at'; tid: string; stored: number }
  /** Channel `cid` closed by itself (after every `stored` for its bytes). */
  | { op: 'closed'; cid: number }
  | { op: 'failed'; tid: string; error: 'size_exceeded' | 'storage_failed' | 'read_failed'; message: string }
  | { op: 'finished'; tid: string; sha256: string; file: Blob; imageType: ImageMime | null }
  /** Channel `cid` may carry bytes of `tid` up to `upTo` (announced before they are sent). */
  | { op: 'sending'; cid: number; tid: string; upTo: number }
  /** How channel `cid`'s send loop ended. */
  | { op: 'send-end'; cid: number; tid: string; end: 'sent' | 'read_failed' | 'send_failed'; message: string }
  | { op: 'digest'; tid: string; sha256: string }
  | { op: 'sends'; sends: FileChannelSends };
