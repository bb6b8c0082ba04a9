import { MemorySink } from '../../src/files/sinks.js';
import type { FileSink } from '../../src/files/transfer-types.js';

/** A MemorySink that reports what happens to it (and can call back on each write). */
export class RecordingSink implements FileSink {
  readonly inner = new MemorySink();
  written = 0;
  closed = false;
  aborted = false;
  /** Called after each write with the total written so far. */
  onWrite: ((total: number) => void) | null = null;
  /** Make writes fail after this many bytes. */
  failAfter = Infinity;

  async write(chunk: Uint8Array): Promise<void> {
    if (this.written + chunk.byteLength > this.failAfter) {
      throw new Error('disk full');
    }
    await this.inner.write(chunk);
    this.written += chunk.byteLength;
    this.onWrite?.(this.written);
  }

  close(): Promise<Blob | null> {
    this.closed = true;
    return this.inner.close();
  }

  abort(): Promise<void> {
    this.aborted = true;
    return this.inner.abort();
  }
}
