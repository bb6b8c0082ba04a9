/*
 * Diagnostic only (the "duet-core-nohash" build): stands in for `@noble/hashes/sha2.js` so that
 * Duet's transfer path runs exactly as shipped except that SHA-256 costs nothing (every digest is
 * zeros, so both ends still agree). The gap between duet-core and duet-core-nohash is what hashing
 * on the main thread costs a transfer. The benchmark checks the received bytes itself.
 */
interface NoHash {
  update(data: Uint8Array): NoHash;
  digest(): Uint8Array;
}

export const sha256 = {
  create(): NoHash {
    const hash: NoHash = { update: () => hash, digest: () => new Uint8Array(32) };
    return hash;
  },
};
