import { open, stat } from 'node:fs/promises';

/**
 * A file on disk as the Blob the core's sender reads (`size`, then `slice(from, to).arrayBuffer()`
 * a slice at a time, never whole), where each slice is one positioned read into one fresh
 * ArrayBuffer.
 *
 * Why not `fs.openAsBlob`: Node 20 reads a file-backed Blob slice in 64 KiB pieces and then joins
 * them, two copies and a callback per piece. Profiled on `duet send` (256 MiB, loopback): the
 * join alone was 6 % of the sending process's thread and its garbage most of the 8 % in GC, CPU
 * taken from libdatachannel's threads on a two-core machine. Here: one read per 2 MiB slice.
 *
 * Like `openAsBlob`, a file that shrank under us fails the read (the transfer fails with
 * `read_failed`) rather than sending short.
 */
export class DiskFile extends Blob {
  private constructor(
    private readonly path: string,
    private readonly start: number,
    private readonly end: number,
  ) {
    super([]);
  }

  /** The file at `path` as it is now (its size is fixed here). */
  static async open(path: string): Promise<DiskFile> {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new Error(`${path} is not a regular file`);
    }
    return new DiskFile(path, 0, info.size);
  }

  override get size(): number {
    return this.end - this.start;
  }

  override get type(): string {
    return '';
  }

  override slice(start = 0, end = this.size): DiskFile {
    const from = clamp(start, this.size);
    const to = Math.max(from, clamp(end, this.size));
    return new DiskFile(this.path, this.start + from, this.start + to);
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const buffer = new ArrayBuffer(this.size);
    const bytes = new Uint8Array(buffer);
    const handle = await open(this.path, 'r');
    try {
      let at = 0;
      while (at < bytes.byteLength) {
        const { bytesRead } = await handle.read(bytes, at, bytes.byteLength - at, this.start + at);
        if (bytesRead === 0) {
          throw new Error(`${this.path} became shorter while it was being sent`);
        }
        at += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return buffer;
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  /** The bytes a piece at a time (never whole), as a Blob's stream gives them. */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    let at = 0;
    return new ReadableStream({
      pull: async (controller) => {
        if (at >= this.size) {
          controller.close();
          return;
        }
        const next = Math.min(at + STREAM_PIECE_BYTES, this.size);
        controller.enqueue(await this.slice(at, next).bytes());
        at = next;
      },
    });
  }
}

/** What `stream()` reads at a time. */
const STREAM_PIECE_BYTES = 1024 * 1024;

/** A Blob.slice bound: negative counts from the end, then within [0, size]. */
function clamp(value: number, size: number): number {
  const n = Math.trunc(value);
  return Math.min(Math.max(n < 0 ? size + n : n, 0), size);
}
