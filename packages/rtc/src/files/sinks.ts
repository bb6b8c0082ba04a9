import type { FileSink } from './transfer-types.js';

/*
 * Where a received file's bytes go. Why apart from the receiver: the choice (memory, or a file on
 * disk through the File System Access API) is the app's, made at accept time, and each kind has its
 * own limits (a Blob's size, a stream's backpressure) that the transfer need not know.
 */

/** Received files are offered for download only, never rendered in the app's origin. */
export const DOWNLOAD_MIME = 'application/octet-stream';

/**
 * How much a {@link MemorySink} keeps as loose chunks before folding them into its Blob. Chromium
 * keeps Blob data outside the renderer's JS heap (in the blob registry, spilling to disk when
 * large), so folding every 8 MiB bounds the JS heap to about that much per incoming file, while
 * not rebuilding the Blob so often that building it costs more than the bytes it holds.
 */
export const MEMORY_SINK_CONSOLIDATE_BYTES = 8 * 1024 * 1024;

/**
 * The default largest file received into memory (when there is no save location on disk): 2 GiB.
 * Blob storage is bounded by the browser (Chromium: a share of the disk and of RAM; Safari keeps
 * blobs in memory), and the final Blob plus the download that follows must fit. Larger files need
 * a {@link WritableSink} (File System Access API) or are refused with `too_large`.
 */
export const DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 1024 * 1024 * 1024;

/** A view over a plain ArrayBuffer (what Blob accepts); copies only the rare shared-memory view. */
function ownBytes(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  return chunk.buffer instanceof ArrayBuffer ? (chunk as Uint8Array<ArrayBuffer>) : new Uint8Array(chunk);
}

/**
 * Collects a received file as a Blob without holding two copies: chunks accumulate until
 * `consolidateBytes`, then become part of one Blob (`new Blob([previous, ...parts])`, which
 * references the previous Blob's data rather than copying it into the heap).
 */
export class MemorySink implements FileSink {
  private blob: Blob | null = null;
  private parts: Array<Uint8Array<ArrayBuffer>> = [];
  private pending = 0;
  private total = 0;
  private closed = false;

  constructor(private readonly consolidateBytes = MEMORY_SINK_CONSOLIDATE_BYTES) {}

  /** Bytes held as loose chunks on the JS heap (at most about `consolidateBytes`). */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.total;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.closed) {
      return Promise.reject(new Error('sink closed'));
    }
    this.parts.push(ownBytes(chunk));
    this.pending += chunk.byteLength;
    this.total += chunk.byteLength;
    if (this.pending >= this.consolidateBytes) {
      this.consolidate();
    }
    return Promise.resolve();
  }

  close(): Promise<Blob | null> {
    if (this.closed) {
      return Promise.reject(new Error('sink closed'));
    }
    this.closed = true;
    const file = new Blob(this.blob ? [this.blob, ...this.parts] : this.parts, { type: DOWNLOAD_MIME });
    this.blob = null;
    this.parts = [];
    this.pending = 0;
    return Promise.resolve(file);
  }

  abort(): Promise<void> {
    this.closed = true;
    this.blob = null;
    this.parts = [];
    this.pending = 0;
    return Promise.resolve();
  }

  private consolidate(): void {
    this.blob = new Blob(this.blob ? [this.blob, ...this.parts] : this.parts);
    this.parts = [];
    this.pending = 0;
  }
}

/**
 * Writes a received file straight to a WHATWG WritableStream as chunks arrive, e.g. the one from
 * `showSaveFilePicker()` then `createWritable()`. Nothing stays in memory; `close` resolves to
 * null (the file is on disk). `abort` discards it: a FileSystemWritableFileStream writes to a
 * temporary file and only replaces the target on close.
 */
export class WritableSink implements FileSink {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(stream: WritableStream<Uint8Array>) {
    this.writer = stream.getWriter();
  }

  async write(chunk: Uint8Array): Promise<void> {
    // `ready` honours the stream's own backpressure (a slow disk) before queueing more.
    await this.writer.ready;
    await this.writer.write(chunk);
  }

  async close(): Promise<Blob | null> {
    await this.writer.close();
    return null;
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}
