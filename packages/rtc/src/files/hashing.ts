import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Hasher } from './transfer-types.js';

/**
 * A streaming SHA-256 over @noble/hashes: audited, pure JavaScript, and incremental, so a file of
 * any size is hashed a chunk at a time without ever being whole in memory. WebCrypto's `digest`
 * cannot stream.
 *
 * It runs on the calling thread (~40–150 MB/s a core). To keep hashing off the thread that sends,
 * pass a `createHasher` that forwards chunks to a worker (`createWorkerHasherFactory` in
 * worker-hasher.ts, which the web app uses, and whose worker hashes with `createFastSha256State`, fast-sha256.ts):
 * `update` may return a promise, and the transfer engine awaits it and keeps the order.
 */
export function createSha256Hasher(): Hasher {
  const state = sha256.create();
  let finished = false;
  return {
    update(chunk: Uint8Array): void {
      if (finished) {
        throw new Error('hasher already finished');
      }
      state.update(chunk);
    },
    digest(): Promise<string> {
      finished = true;
      return Promise.resolve(bytesToHex(state.digest()));
    },
  };
}

/**
 * A hash fed from slices that may be read more than once (a resume reads them again): each byte
 * goes into `hasher` once, in order; a slice that starts past the bytes hashed so far is left out
 * (the sender reads the gap before it asks for the digest).
 */
export class HashedOnce {
  /** Bytes [0, upTo) went through the hasher. */
  private hashedUpTo = 0;

  constructor(readonly hasher: Hasher) {}

  get upTo(): number {
    return this.hashedUpTo;
  }

  /** The slice `bytes` read at `start`: whatever of it is new goes into the hash. */
  async add(start: number, bytes: Uint8Array): Promise<void> {
    const end = start + bytes.byteLength;
    if (start > this.hashedUpTo || end <= this.hashedUpTo) {
      return;
    }
    await this.hasher.update(bytes.subarray(this.hashedUpTo - start));
    this.hashedUpTo = end;
  }
}
