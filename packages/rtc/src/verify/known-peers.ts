import type { StorageLike } from '../signaling/signaling-client.js';

/*
 * The peers' certificates this browser verified, by the name the peer had then (key continuity).
 * The name is only a label: what counts is the fingerprint, which only the holder of the
 * certificate's private key can present over DTLS. So a known fingerprint means the same device as
 * the one verified before, and an unknown one under a known name means another device (or a man in
 * the middle: the string has to be compared again, which the UI asks for without alarm).
 * localStorage: small, per browser profile, like the certificate it pairs with.
 */

const KEY = 'duet.verifiedPeers';
/** Bounds, so the entry never grows without limit: names kept, and certificates per name. */
const MAX_NAMES = 200;
const MAX_PER_NAME = 8;

interface Entry {
  fingerprint: string;
  verifiedAt: number;
}
type Book = Record<string, Entry[]>;

export interface KnownPeerLookup {
  /** When this fingerprint was verified under this name, or null. */
  knownSince: number | null;
  /** The name has verified fingerprints here, none of them this one. */
  otherDevices: boolean;
}

export class KnownPeers {
  constructor(private readonly storage: StorageLike | undefined) {}

  lookup(name: string, fingerprint: string): KnownPeerLookup {
    const entries = this.read()[name] ?? [];
    const hit = entries.find((entry) => entry.fingerprint === fingerprint);
    return { knownSince: hit?.verifiedAt ?? null, otherDevices: !hit && entries.length > 0 };
  }

  remember(name: string, fingerprint: string, at: number): void {
    const book = this.read();
    const entries = (book[name] ?? []).filter((entry) => entry.fingerprint !== fingerprint);
    entries.unshift({ fingerprint, verifiedAt: at });
    // Most recently verified first, both for names and for each name's certificates.
    const next: Book = { [name]: entries.slice(0, MAX_PER_NAME) };
    for (const [other, kept] of Object.entries(book)) {
      if (other !== name) {
        next[other] = kept;
      }
    }
    const names = Object.keys(next).slice(0, MAX_NAMES);
    try {
      this.storage?.setItem(KEY, JSON.stringify(Object.fromEntries(names.map((n) => [n, next[n]]))));
    } catch {
      // Quota: this call stays verified; the next one asks to compare again.
    }
  }

  /** What is stored, without entries of the wrong shape (another version's, or edited by hand). */
  private read(): Book {
    let raw: unknown;
    try {
      raw = JSON.parse(this.storage?.getItem(KEY) ?? '{}');
    } catch {
      return {};
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return {};
    }
    const book: Book = {};
    for (const [name, value] of Object.entries(raw)) {
      if (!Array.isArray(value)) {
        continue;
      }
      book[name] = value.filter(
        (entry): entry is Entry =>
          typeof entry === 'object' &&
          entry !== null &&
          typeof (entry as Entry).fingerprint === 'string' &&
          typeof (entry as Entry).verifiedAt === 'number',
      );
    }
    return book;
  }
}
