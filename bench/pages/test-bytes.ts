/**
 * The benchmark's test file, piece by piece: `size` bytes of xorshift32 words from `seed`
 * (little-endian, in 64 KiB pieces, the state carried from piece to piece). The probe builds its
 * Blob from these (`prepareBlob`, in every page) and lib/test-file.ts writes them to disk (for
 * Duet's file input): one generator, so every system moves the very same file. No imports: the
 * probe, a classic script, inlines this module (see transpileToScript).
 */
export function* testBytes(size: number, seed: number): Generator<Uint8Array<ArrayBuffer>> {
  const PIECE = 64 * 1024;
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
    yield new Uint8Array(words.buffer, 0, length);
  }
}
