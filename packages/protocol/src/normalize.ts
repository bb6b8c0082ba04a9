/**
 * Normalisation of human-entered names. Two people typing "Family Room" and "family  room" must land
 * in the same room, and a name must not smuggle control or bidi-override characters into other
 * people's screens.
 */

// Control characters (C0, DEL, C1), zero-width and bidi formatting characters, and the BOM.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu;

/** NFC, unsafe characters removed, whitespace runs folded to one space, trimmed. */
export function normalizeDisplayName(raw: string): string {
  // Whitespace folds first so a tab or newline becomes a space instead of vanishing. NFC runs again
  // last: removing a zero-width character can bring a letter and its accent together, and the
  // same-looking name must come out the same (normalising twice changes nothing).
  return raw
    .normalize('NFC')
    .replace(/\s+/gu, ' ')
    .replace(UNSAFE_CHARACTERS, '')
    .replace(/ {2,}/gu, ' ')
    .trim()
    .normalize('NFC');
}

/**
 * Room names also go through NFKC (full-width and compatibility forms fold together) and lower case,
 * so a room name read aloud or typed on another keyboard reaches the same room.
 */
export function normalizeRoomName(raw: string): string {
  return normalizeDisplayName(raw.normalize('NFKC')).toLowerCase();
}
