import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFastSha256State } from '../src/files/fast-sha256.js';
import { createSha256Hasher } from '../src/files/hashing.js';

/** Odd-sized pieces of one buffer, as a transfer's chunks and slices cut it. */
function pieces(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size * 7 + 13) % 70_001) {
    out.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
  }
  return out;
}

describe('streaming SHA-256', () => {
  const bytes = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
  const expected = createHash('sha256').update(bytes).digest('hex');

  it('hash-wasm (the hash worker’s) equals OpenSSL’s digest over any cut of the bytes', async () => {
    const state = await createFastSha256State();
    for (const piece of pieces(bytes)) {
      state.update(piece);
    }
    expect(state.digestHex()).toBe(expected);
  });

  it('@noble/hashes (the in-thread fallback) equals OpenSSL’s digest', async () => {
    const hasher = createSha256Hasher();
    for (const piece of pieces(bytes)) {
      await hasher.update(piece);
    }
    expect(await hasher.digest()).toBe(expected);
  });

  it('keeps concurrent states apart, and hashes nothing to the empty digest', async () => {
    const [a, b, empty] = await Promise.all([
      createFastSha256State(),
      createFastSha256State(),
      createFastSha256State(),
    ]);
    a.update(bytes.subarray(0, 1000));
    b.update(bytes.subarray(1000, 2000));
    a.update(bytes.subarray(1000, 2000));
    expect(a.digestHex()).toBe(createHash('sha256').update(bytes.subarray(0, 2000)).digest('hex'));
    expect(b.digestHex()).toBe(createHash('sha256').update(bytes.subarray(1000, 2000)).digest('hex'));
    expect(empty.digestHex()).toBe(createHash('sha256').digest('hex'));
  });
});
