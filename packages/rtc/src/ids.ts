/**
 * The one random-id generator of the core: chat message ids, transfer ids, peer-connection epochs,
 * a call's restore key and the join key all come from here, so the bits and the alphabet (base64url,
 * which every id schema of the protocol accepts) are decided once.
 */

/** `byteCount` random bytes as base64url without padding (12 bytes → 16 characters, 16 → 22). */
export function randomBase64Url(byteCount: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(byteCount));
  let binary = '';
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
