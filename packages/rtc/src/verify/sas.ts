import { fingerprintKey } from './fingerprints.js';
import { SAS_SYMBOLS, type SasSymbol } from './sas-emoji.js';

/*
 * The short authentication string (SAS) of a call: six symbols both people read out to each other.
 * Both browsers compute it from the same two DTLS certificate fingerprints, the caller's first, so
 * it is the same on both screens unless someone in the middle (e.g. the signaling server, which
 * relays the descriptions) made each side talk to a certificate of its own. The exact algorithm is
 * in docs/protocol.md ("Verified calls"); a terminal peer must do the same bit for bit.
 *
 * Why PBKDF2 and not one SHA-256: the fingerprints are not committed to before they are seen. A
 * man in the middle who holds back its answer to the caller until it knows the callee's
 * fingerprint can try certificates until its two strings agree; 36 bits are 2^36 tries, seconds
 * for a GPU running SHA-256. With 100 000 iterations of HMAC-SHA-256 per try the same search costs
 * ~2^53 hashes, weeks, while the call setup waits; one derivation costs ~30–100 ms, once per
 * connection.
 */

/** Versioned, so a changed derivation can never produce strings that look comparable to this one's. */
export const SAS_DOMAIN = 'DUET-SAS-1';
export const SAS_SALT = 'duet short authentication string';
export const SAS_ITERATIONS = 100_000;
/** Six symbols of 6 bits each: a random guess matches one time in 2^36 (~69 billion). */
export const SAS_LENGTH = 6;

export interface Sas {
  /** Indices into SAS_SYMBOLS, in reading order. */
  indices: number[];
  symbols: SasSymbol[];
  /** The indices as one string, for comparing two strings (not shown to people). */
  code: string;
}

/** The text that goes into the key derivation: domain, then the caller's and the callee's certificate. */
export function sasInput(
  callerFingerprints: readonly string[],
  calleeFingerprints: readonly string[],
): string {
  return `${SAS_DOMAIN}\ncaller ${fingerprintKey(callerFingerprints)}\ncallee ${fingerprintKey(calleeFingerprints)}`;
}

/** The first `count` 6-bit groups of `bytes`, most significant bit first. */
export function sixBitGroups(bytes: Uint8Array, count: number): number[] {
  const groups: number[] = [];
  for (let i = 0; i < count; i++) {
    let value = 0;
    for (let bit = i * 6; bit < i * 6 + 6; bit++) {
      const byte = bytes[bit >> 3] ?? 0;
      value = (value << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    groups.push(value);
  }
  return groups;
}

/** The SAS whose symbols are `indices`. */
export function sasOfIndices(indices: number[]): Sas {
  return {
    indices,
    symbols: indices.map((index) => {
      const symbol = SAS_SYMBOLS[index];
      if (!symbol) {
        throw new RangeError(`no SAS symbol ${index}`);
      }
      return symbol;
    }),
    code: indices.join('.'),
  };
}

/**
 * Derive the SAS: PBKDF2-HMAC-SHA-256(password = sasInput, salt = SAS_SALT, SAS_ITERATIONS) → the
 * first 36 bits, as six indices into SAS_SYMBOLS. Each side passes the caller's fingerprints first,
 * whichever of the two it is (its local description's or the remote one's).
 */
export async function deriveSas(
  callerFingerprints: readonly string[],
  calleeFingerprints: readonly string[],
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<Sas> {
  const encoder = new TextEncoder();
  const key = await subtle.importKey(
    'raw',
    encoder.encode(sasInput(callerFingerprints, calleeFingerprints)),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: encoder.encode(SAS_SALT), iterations: SAS_ITERATIONS },
    key,
    64,
  );
  return sasOfIndices(sixBitGroups(new Uint8Array(bits), SAS_LENGTH));
}
