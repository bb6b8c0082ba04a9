import { randomInt } from 'node:crypto';
import { newRoomSecret, roomLink } from '../args.js';
import type { Reporter } from '../output/reporter.js';

/** Lower case letters and digits without look-alikes (room names are folded to lower case anyway). */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** 16 characters of 31: ~79 bits, unguessable for a room that lives for a call. */
const ROOM_NAME_LENGTH = 16;

export function newRoomName(): string {
  let name = '';
  for (let i = 0; i < ROOM_NAME_LENGTH; i++) {
    name += ALPHABET.charAt(randomInt(ALPHABET.length));
  }
  return name;
}

/** `duet room new`: a fresh room's link, and a QR code of it on a terminal (not in --json). */
export async function roomNew(
  server: string,
  json: boolean,
  reporter: Reporter,
  write: (text: string) => void,
): Promise<void> {
  const room = newRoomName();
  // A private room, as the web app's "new room" makes: only those with the link can come in.
  const link = roomLink(server, room, newRoomSecret());
  reporter.emit({ event: 'room', room, link });
  if (!json) {
    // `small`: half-height blocks, so the code fits an 80×24 terminal for a phone camera.
    // Loaded here only: the QR library is not worth its memory in the commands that move files.
    const { default: QRCode } = await import('qrcode');
    write(await QRCode.toString(link, { type: 'terminal', small: true }));
  }
}
