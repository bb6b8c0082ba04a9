import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileSink } from '@duet/rtc';

/**
 * Bytes gathered into one write: few enough writes to be cheap (4 per MiB), small buffers to hold.
 * One file-system round trip per 64 KiB chunk, awaited before the next, cost about a third of the
 * throughput on a loaded machine.
 */
const BATCH_BYTES = 256 * 1024;
/**
 * Batch buffers a sink may hold: one filling while the others are written. When all are with the
 * disk, `write` waits for one: 1 MiB in all, the sender's window, so a slow disk holds the sender
 * back (no acks) rather than piling bytes up here.
 */
const BATCH_BUFFERS = 4;

/**
 * A received file streamed to disk, for the core's transfer engine (its FileSink seam; the browser
 * uses a Blob or the File System Access API there). Bytes go to a hidden `.NAME.duet-part` next to
 * the target and become NAME only once the whole file arrived and its hash matched, so a half
 * file never sits under the real name. Without `force`, the final step refuses to replace a file
 * that appeared meanwhile (a hard link fails on an existing name; rename would silently replace).
 *
 * Writes are batched: `write` copies the chunk into a batch buffer and resolves at once while one
 * is free, and full batches go to the kernel as one write each, in order. What the transfer
 * acknowledges (and resumes from after a dropped connection) is then what this sink holds, on disk
 * or about to be: the same process owns both, so nothing acknowledged is lost unless the process
 * dies, and then the transfer is gone anyway.
 *
 * Why copy into a few buffers made once, rather than keep the chunks and join them per write: a
 * chunk kept until its batch is written may outlive a young-generation GC, land in V8's old space
 * and be freed only by a full GC, which V8 starts after tens of MiB of such garbage. Copied at
 * once, a chunk dies young (joining copied it too), and the batch buffers are reused, never
 * garbage. See also rtc/young-garbage.ts: together they took the receiving CLI's peak RSS during
 * a 1 GiB transfer from 117–133 MiB to ~94 MiB.
 */
export class DiskSink implements FileSink {
  private handle: Promise<FileHandle> | null;
  private readonly partPath: string;
  private done = false;
  /** The batch being filled, and how much of it is. */
  private batch: Uint8Array | null = null;
  private batchBytes = 0;
  /** Batch buffers not in use, and how many were made. */
  private readonly spare: Uint8Array[] = [];
  private made = 0;
  /** Writers waiting for a batch buffer to come back from the disk. */
  private readonly waiting: Array<() => void> = [];
  /** The chain of batch writes, in order; rejects once one failed. */
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    readonly path: string,
    private readonly force: boolean,
  ) {
    this.partPath = join(dirname(path), `.${basename(path)}.duet-part`);
    this.handle = open(this.partPath, 'w', 0o600);
    // A failed open is reported by the first write; until then it must not count as unhandled.
    this.handle.catch(() => undefined);
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.opened();
    let at = 0;
    while (at < chunk.byteLength) {
      this.throwIfFailed();
      const batch = this.batch ?? (await this.takeBuffer());
      this.batch = batch;
      const length = Math.min(batch.byteLength - this.batchBytes, chunk.byteLength - at);
      batch.set(chunk.subarray(at, at + length), this.batchBytes);
      this.batchBytes += length;
      at += length;
      if (this.batchBytes === batch.byteLength) {
        this.flushBatch();
      }
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw this.failure instanceof Error
        ? this.failure
        : new Error('writing failed', { cause: this.failure });
    }
  }

  /** A free batch buffer: a spare one, a new one while fewer than BATCH_BUFFERS exist, or the next returned. */
  private async takeBuffer(): Promise<Uint8Array> {
    for (;;) {
      const spare = this.spare.pop();
      if (spare) {
        return spare;
      }
      if (this.made < BATCH_BUFFERS) {
        this.made++;
        return new Uint8Array(BATCH_BYTES);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.throwIfFailed();
      await this.opened();
    }
  }

  /** Queue the batch being filled as one write after the ones before it. */
  private flushBatch(): void {
    const batch = this.batch;
    const bytes = this.batchBytes;
    this.batch = null;
    this.batchBytes = 0;
    if (!batch) {
      return;
    }
    if (bytes === 0) {
      this.spare.push(batch);
      return;
    }
    const handle = this.opened();
    this.writing = this.writing
      .then(async () => writeAll(await handle, batch.subarray(0, bytes)))
      .finally(() => {
        // Back to the pool whether or not the write succeeded: a waiting writer then sees the failure.
        this.spare.push(batch);
        this.waiting.shift()?.();
      });
    // A failed write is reported by the next write or close (the transfer then fails with
    // storage_failed); until then it must not count as unhandled.
    this.writing.catch((error: unknown) => {
      this.failure ??= error;
    });
  }

  async close(): Promise<Blob | null> {
    const handle = await this.opened();
    this.flushBatch();
    await this.writing;
    this.done = true;
    this.handle = null;
    await handle.close();
    if (this.force) {
      await rename(this.partPath, this.path);
    } else {
      await link(this.partPath, this.path);
      await unlink(this.partPath);
    }
    return null;
  }

  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    this.done = true;
    this.batch = null;
    this.batchBytes = 0;
    for (const wake of this.waiting.splice(0)) {
      wake();
    }
    await this.writing.catch(() => undefined);
    await (await handle?.catch(() => null))?.close().catch(() => undefined);
    await unlink(this.partPath).catch(() => undefined);
  }

  private opened(): Promise<FileHandle> {
    if (!this.handle || this.done) {
      return Promise.reject(new Error('sink closed'));
    }
    return this.handle;
  }
}

/** Write all of `bytes` (a write may take less than asked, e.g. on a nearly full disk). */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    if (bytesWritten <= 0) {
      throw new Error('the disk took no bytes');
    }
    offset += bytesWritten;
  }
}
