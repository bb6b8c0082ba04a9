import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Hasher } from './transfer-types.js';

/**
 * A streaming SHA-256 over @noble/hashes: audited, pure JavaScript (the CSP forbids compiling
 * WebAssembly, so no hash-wasm), and incremental, so a file of any size is hashed a chunk at a
 * time without ever being whole in memory. WebCrypto's `digest` cannot stream.
 *
 * It runs on the calling thread (~100–150 MB/s on a laptop core). To keep hashing off the thread
 * that sends, pass a `createHasher` that forwards chunks to a worker: `update` may return a
 * promise, and the transfer engine awaits it and keeps the order.
 */
export function createSha256Hasher(): Hasher {
  const state = sha256.create();
  let finished = false;
  return {
    update(chunk: Uint8Array): void {
      if (finished) throw new Error('hasher already finished');
      state.update(chunk);
    },
    digest(): Promise<string> {
      finished = true;
      return Promise.resolve(bytesToHex(state.digest()));
    },
  };
}
