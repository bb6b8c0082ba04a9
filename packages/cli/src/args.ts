import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { DisplayNameSchema, RoomNameSchema } from '@duet/protocol';
import { z } from 'zod';
import { CliFailure, EXIT } from './exit-codes.js';

/** Where `duet` looks for the signaling server when neither the link, `--server` nor `DUET_SERVER` says. */
export const DEFAULT_SERVER = 'http://localhost:3000';

/** An http(s) origin: the signaling server (and web app) address. */
export const ServerUrlSchema = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// address' }))
  .transform((url) => new URL(url).origin);

/** Seconds, as typed on a command line. */
const SecondsSchema = z.coerce.number().positive('must be a positive number of seconds').max(86_400);

/** Options every peer command takes (send, receive, chat). */
export const PeerOptionsSchema = z.object({
  room: z.string().min(1, 'is required'),
  server: z.string().optional(),
  name: DisplayNameSchema.optional(),
  json: z.boolean().default(false),
  wait: SecondsSchema.optional(),
});
export type PeerOptions = z.infer<typeof PeerOptionsSchema>;

/** Where to go: the server's origin, the room's (normalised) name, and the link to share. */
export interface Target {
  server: string;
  room: string;
  /** A private room's secret, from the link's `#k=` (null: a room by plain name, an open room). */
  secret: string | null;
  link: string;
}

/** A private room's secret as the web app puts it in its links: ≥ 128 bits, base64url. */
const RoomSecretTextSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, "the link's #k= secret is malformed");

/**
 * The link the web app shows for a room: `/?room=NAME`, and for a private room `#k=SECRET`, in the
 * fragment, which is never sent to a server (see packages/web/src/lib/room-link.ts).
 */
export function roomLink(server: string, room: string, secret: string | null = null): string {
  const base = `${server}/?room=${encodeURIComponent(room)}`;
  return secret === null ? base : `${base}#${new URLSearchParams({ k: secret }).toString()}`;
}

/** A fresh private room's secret: 128 random bits, base64url (what the server requires at least). */
export function newRoomSecret(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * `--room` takes a link (`https://duet.example/?room=abc`, as the web app shares it) or a bare
 * room name. The server is `--server` if given, else the link's origin, else `DUET_SERVER`, else
 * the default: a link names its own server, a flag overrides anything.
 */
export function resolveTarget(
  roomOrLink: string,
  serverFlag: string | undefined,
  env: Record<string, string | undefined>,
): Target {
  let room = roomOrLink.trim();
  let linkServer: string | undefined;
  let secret: string | null = null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(room)) {
    const link = parseOr(ServerUrlSchema, room, '--room');
    linkServer = link;
    const url = new URL(room);
    const fromQuery = url.searchParams.get('room');
    if (!fromQuery) {
      throw new CliFailure(EXIT.usage, `--room: the link has no ?room= (got ${roomOrLink})`);
    }
    room = fromQuery;
    const fromFragment = new URLSearchParams(url.hash.slice(1)).get('k');
    secret = fromFragment === null ? null : parseOr(RoomSecretTextSchema, fromFragment, '--room');
  }
  const server = parseOr(
    ServerUrlSchema,
    serverFlag ?? linkServer ?? env.DUET_SERVER ?? DEFAULT_SERVER,
    serverFlag !== undefined
      ? '--server'
      : linkServer
        ? '--room'
        : env.DUET_SERVER
          ? 'DUET_SERVER'
          : 'server',
  );
  const name = parseOr(RoomNameSchema, room, '--room');
  return { server, room: name, secret, link: roomLink(server, name, secret) };
}

/** The name others see when none is given: user@host, as a terminal prompt shows it. */
export function defaultDisplayName(): string {
  let user = 'terminal';
  try {
    user = userInfo().username || user;
  } catch {
    // No passwd entry (some containers): keep the generic name.
  }
  const parsed = DisplayNameSchema.safeParse(`${user}@${hostname()}`);
  return parsed.success ? parsed.data : 'terminal';
}

/** Parse `value` or fail with the usage exit code, naming the option. */
export function parseOr<T>(schema: z.ZodType<T>, value: unknown, option: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    // Name the flag an issue is about (`--wait`), or the option being parsed as a whole.
    const why = result.error.issues
      .map((issue) => `${issue.path.length > 0 ? `--${issue.path.join('.')}` : option}: ${issue.message}`)
      .join('; ');
    throw new CliFailure(EXIT.usage, why);
  }
  return result.data;
}
