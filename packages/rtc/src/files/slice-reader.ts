/*
 * Reading the file being sent. Why its own module: reading is where the sender's main-thread time
 * goes in Chromium (each `Blob.slice` is a synchronous call into the browser process), so how much is
 * read, how far ahead and how often is one decision, kept apart from pacing and protocol. It is also
 * where each byte is handed to the hasher exactly once, in file order.
 */

class ReaderClosedError extends Error {
  override readonly name = 'ReaderClosedError';
}

/**
 * Reads a Blob in aligned slices, one at a time in file order, keeping the slice being sent and
 * the next `readAhead` ones (so a disk read is always under way while the channel drains).
 * `onSlice` sees every slice read, in read order, before anyone else does (the hasher).
 */
export class SliceReader {
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
    for (const key of this.slices.keys()) {
      if (key < start || key > last) {
        this.slices.delete(key);
      }
    }
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
    if (this.closed) {
      throw new ReaderClosedError('reader closed');
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
