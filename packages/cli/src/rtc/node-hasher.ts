import { createHash } from 'node:crypto';
import type { Hasher } from '@duet/rtc';

/**
 * Streaming SHA-256 on OpenSSL (node:crypto): the same digest the browser computes with
 * hash-wasm, several times faster than the core's pure-JS default, and off the JS heap.
 */
export function createNodeHasher(): Hasher {
  const hash = createHash('sha256');
  return {
    update(chunk: Uint8Array): void {
      hash.update(chunk);
    },
    digest(): Promise<string> {
      return Promise.resolve(hash.digest('hex'));
    },
  };
}
