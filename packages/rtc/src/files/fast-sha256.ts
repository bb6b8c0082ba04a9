import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createSHA256 } from 'hash-wasm';

/*
 * The workers' SHA-256. Why apart from hashing.ts: only the hash and file workers use it, and
 * hash-wasm is heavy to load where it is not used. Its module carries every algorithm's
 * WebAssembly as base64 text: importing it took ~10 MiB of resident memory in Node (measured on
 * the terminal peer, which hashes with OpenSSL and never needs it).
 */

/** A synchronous streaming SHA-256, as the hash worker holds one per transfer. */
export interface Sha256State {
  update(bytes: Uint8Array): void;
  digestHex(): string;
}

let wasmUnavailable = false;

/**
 * hash-wasm's SHA-256 (hand-tuned WebAssembly, streaming; 4–5× @noble/hashes on this machine's
 * cores, see bench/README.md) where WebAssembly may be compiled — Duet's CSP allows it with
 * 'wasm-unsafe-eval' — and @noble/hashes where it may not (an older engine, a stricter CSP).
 * Both compute the same digest; only the speed differs.
 */
export async function createFastSha256State(): Promise<Sha256State> {
  if (!wasmUnavailable) {
    try {
      const hasher = await createSHA256();
      hasher.init();
      return {
        update: (bytes) => void hasher.update(bytes),
        digestHex: () => hasher.digest('hex'),
      };
    } catch {
      wasmUnavailable = true;
    }
  }
  const state = sha256.create();
  return {
    update: (bytes) => void state.update(bytes),
    digestHex: () => bytesToHex(state.digest()),
  };
}
