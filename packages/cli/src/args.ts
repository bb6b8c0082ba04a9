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
  link: string;
}

/** The invite link the web app shows for a room (LobbyView / inviteLink). */
export function roomLink(server: string, room: string): string {
  return `${server}/?room=${encodeURIComponent(room)}`;
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
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(room)) {
    const link = parseOr(ServerUrlSchema, room, '--room');
    linkServer = link;
    const fromQuery = new URL(room).searchParams.get('room');
    if (!fromQuery) {
      throw new CliFailure(EXIT.usage, `--room: the link has no ?room= (got ${roomOrLink})`);
    }
    room = fromQuery;
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
  return { server, room: name, link: roomLink(server, name) };
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
