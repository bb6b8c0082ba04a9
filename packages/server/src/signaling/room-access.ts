/**
 * Who may enter a room: the key a room is stored under (derived from its link's secret), room
 * passwords (scrypt), and the limit on password attempts. The store decides under contention; this
 * module only prepares what it compares.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Separates a private room's name from the hash in its store key. Room names are normalised
 * without control characters (protocol normalize.ts), so no open room's name can ever equal a
 * private room's key, whatever someone types.
 */
const KEY_SEPARATOR = '\u001f';

/**
 * The store key of a room. An open room is its name. A private room is its name and a SHA-256 of
 * name and secret: the server never keeps the secret, and a wrong secret names a room that does not
 * exist, so it is refused by the very same lookup as a room that does not exist (same answer, same
 * work). A 128-bit secret needs no slow hash: it cannot be guessed, only stolen.
 */
export function roomKey(name: string, secret: string | undefined): string {
  if (secret === undefined) {
    return name;
  }
  const hash = createHash('sha256').update(`duet-room\0${name}\0${secret}`).digest('base64url');
  return `${name}${KEY_SEPARATOR}${hash}`;
}

/** The room's name as people see it (the key without its hash). */
export function roomName(key: string): string {
  const at = key.indexOf(KEY_SEPARATOR);
  return at < 0 ? key : key.slice(0, at);
}

/** A lobby ticket is kept only as this hash, like the secret: a leaked store does not admit anyone. */
export function ticketHash(ticket: string): string {
  return createHash('sha256').update(`duet-ticket\0${ticket}`).digest('base64url');
}

/**
 * scrypt cost: N=2^15, r=8 (128·N·r = 32 MiB, ~60 ms on one core here). Attempts are limited
 * anyway (see PasswordAttempts); the slowness is for a stolen store, where nothing limits them.
 */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } satisfies ScryptOptions;
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url): the parameters travel with the hash, so they can be raised. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** Whether `password` matches `stored` (compared in constant time). A malformed hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) {
    return false;
  }
  const expected = Buffer.from(hash, 'base64url');
  const options = { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem };
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), options);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export interface AttemptLimits {
  perIp: number;
  perRoom: number;
  windowMs: number;
}

/**
 * Password attempts per client address and per room, counted in the store so that every process
 * counts the same attempts. Both count every attempt, right or wrong: a guesser must not learn
 * anything from which attempt was refused, and scrypt's cost stays bounded.
 */
export class PasswordAttempts {
  constructor(
    private readonly consume: (key: string, limit: number, windowMs: number) => Promise<number>,
    private readonly limits: AttemptLimits,
  ) {}

  /** 0 when the attempt may go ahead; otherwise how long to wait. */
  async take(ip: string, room: string): Promise<number> {
    const { perIp, perRoom, windowMs } = this.limits;
    // The room's key holds a hash of its secret: only a hash of that reaches the store's key names.
    const roomId = createHash('sha256').update(room).digest('base64url');
    const [byIp, byRoom] = await Promise.all([
      this.consume(`pw-ip:${ip}`, perIp, windowMs),
      this.consume(`pw-room:${roomId}`, perRoom, windowMs),
    ]);
    return Math.max(byIp, byRoom);
  }
}
