import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { testBytes } from '../pages/test-bytes.js';

/**
 * The benchmark's test file on disk, for transfers driven through a file input: the very bytes the
 * probe's `prepareBlob(size, seed)` builds in a page (pages/test-bytes.ts), so every system moves
 * the same file. Resolves to its SHA-256 (hex).
 */
export async function writeTestFile(path: string, size: number, seed: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (const piece of testBytes(size, seed)) {
    hash.update(piece);
    if (!out.write(piece)) {
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}
