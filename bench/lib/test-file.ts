import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * The benchmark's test file on disk, for transfers driven through a file input: the very bytes the
 * probe's `prepareBlob(size, seed)` builds in a page (xorshift32 words, little-endian, in 64 KiB
 * pieces, the state carried from piece to piece), so every system moves the same file. Resolves to
 * its SHA-256 (hex).
 */
export async function writeTestFile(path: string, size: number, seed: number): Promise<string> {
  const PIECE = 64 * 1024;
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  let x = seed >>> 0 || 1;
  for (let offset = 0; offset < size; offset += PIECE) {
    const length = Math.min(PIECE, size - offset);
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[i] = x;
    }
    const bytes = Buffer.from(words.buffer, 0, length);
    hash.update(bytes);
    if (!out.write(bytes)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}
