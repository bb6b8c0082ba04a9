import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FileSink } from '@duet/rtc';

/** Bytes gathered into one write. */
const BATCH_BYTES = 1024 * 1024;
/** Bytes held before `write` waits for the disk (bounds memory on a slow disk). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * A received file streamed to disk, for the core's transfer engine (its FileSink seam; the browser
 * uses a Blob or the File System Access API there). Bytes go to a hidden `.NAME.duet-part` next to
 * the target and become NAME only once the whole file arrived and its hash matched, so a half
 * file never sits under the real name. Without `force`, the final step refuses to replace a file
 * that appeared meanwhile (a hard link fails on an existing name; rename would silently replace).
 *
 * Writes are batched: `write` keeps the chunk and resolves at once while less than
 * {@link MAX_BUFFERED_BYTES} wait, and the bytes go to the kernel in {@link BATCH_BYTES} writes, in
 * order. One file-system round trip per 64 KiB chunk, awaited before the next chunk, cost about a
 * third of the throughput on a loaded machine. What the transfer acknowledges (and resumes from
 * after a dropped connection) is then what this sink holds, on disk or about to be: the same
 * process owns both, so nothing acknowledged is lost unless the process dies, and then the
 * transfer is gone anyway.
 */
export class DiskSink implements FileSink {
  private handle: Promise<FileHandle> | null;
  private readonly partPath: string;
  private done = false;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  /** Bytes accepted by `write` and not yet written. */
  private buffered = 0;
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
    if (this.failure !== undefined) {
      throw this.failure instanceof Error
        ? this.failure
        : new Error('writing failed', { cause: this.failure });
    }
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    this.buffered += chunk.byteLength;
    if (this.batchBytes >= BATCH_BYTES) {
      this.flushBatch();
    }
    if (this.buffered >= MAX_BUFFERED_BYTES) {
      await this.writing;
    }
  }

  /** Queue the gathered chunks as one write after the ones before it. */
  private flushBatch(): void {
    if (this.batchBytes === 0) {
      return;
    }
    const parts = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    const handle = this.opened();
    this.writing = this.writing.then(async () => {
      await writeAll(await handle, Buffer.concat(parts, bytes));
      this.buffered -= bytes;
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
    this.batch = [];
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
