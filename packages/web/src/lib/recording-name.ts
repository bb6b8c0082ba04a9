import { fileStamp } from './format.js';

/** Characters no file system or download dialog is happy with, and ones that read as paths. */
const UNSAFE = /[\p{Cc}<>:"/\\|?*\s.]+/gu;
/** Enough to tell people apart; a 60-character name only makes the file name unwieldy. */
const MAX_PEER_CHARACTERS = 40;

/**
 * The name a recording is offered under: `duet-call-<peer>-<YYYYMMDD-HHMMSS>.<ext>`, with the
 * peer's name made safe for a file name (letters of any script stay, so "李雷" stays readable) and
 * the local time the recording started, so two recordings with one person sort and never collide.
 */
export function recordingFileName(peerName: string, startedAt: Date, extension: 'webm' | 'mp4'): string {
  const safe = peerName
    .normalize('NFC')
    .replace(UNSAFE, '-')
    .replace(/^-+|-+$/g, '');
  // Cut by what a reader sees as characters (an emoji with its modifiers is one), never inside one.
  const characters = Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(safe));
  const peer = characters
    .slice(0, MAX_PEER_CHARACTERS)
    .map((part) => part.segment)
    .join('')
    .replace(/-+$/, '');
  return `duet-call-${peer || 'peer'}-${fileStamp(startedAt)}.${extension}`;
}
