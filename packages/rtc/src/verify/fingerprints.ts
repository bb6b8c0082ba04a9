/*
 * The DTLS certificate fingerprints a session description announces (RFC 8122 `a=fingerprint`).
 * They are what the short authentication string is made of: DTLS checks that the peer's
 * certificate matches the fingerprint in the remote description, so whoever swaps that line in
 * transit (the signaling server is in a position to) must also swap the certificate, and then the
 * two sides no longer see the same pair of fingerprints.
 */

const FINGERPRINT_LINE = /^a=fingerprint:(\S+) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)\s*$/;

/**
 * The distinct fingerprints of `sdp`, each as `algorithm HEX:HEX:…` with the algorithm in lower
 * case and the hex in upper case, sorted. Chromium repeats the one fingerprint under every media
 * section, Firefox states it once at session level: both come out as the same one-element list.
 */
export function parseFingerprints(sdp: string): string[] {
  const found = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) {
    const match = FINGERPRINT_LINE.exec(line);
    if (match?.[1] && match[2]) {
      found.add(`${match[1].toLowerCase()} ${match[2].toUpperCase()}`);
    }
  }
  return [...found].sort();
}

/** One side's certificate as one string (normally a single fingerprint; several are joined by ","). */
export function fingerprintKey(fingerprints: readonly string[]): string {
  return fingerprints.join(',');
}
