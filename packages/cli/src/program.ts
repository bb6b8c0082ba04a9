import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import {
  DEFAULT_SERVER,
  PeerOptionsSchema,
  ServerUrlSchema,
  defaultDisplayName,
  parseOr,
  resolveTarget,
  type Target,
} from './args.js';
import { RoomPasswordSchema } from '@duet/protocol';
import { CliFailure, EXIT, exitCodeHelp } from './exit-codes.js';

/** What every peer command needs, parsed and checked. */
export interface PeerArgs {
  target: Target;
  name: string;
  json: boolean;
  /** Give up when no call is up after this long. */
  waitMs?: number;
  /**
   * The room's password, from `DUET_ROOM_PASSWORD` (never an option: the command lines of running
   * processes are visible to every user of the machine). With a private link that makes a new room,
   * the password that room will ask for.
   */
  password?: string;
}

export type ParsedCommand =
  | { command: 'send'; peer: PeerArgs; files: string[] }
  | { command: 'receive'; peer: PeerArgs; out: string; force: boolean; count?: number }
  | { command: 'chat'; peer: PeerArgs }
  | { command: 'room-new'; server: string; json: boolean }
  /** `--help` or `--version` was printed: nothing to run. */
  | { command: 'printed' };

export interface ParseIo {
  env: Record<string, string | undefined>;
  writeOut: (text: string) => void;
  writeErr: (text: string) => void;
}

const ReceiveOptionsSchema = z.object({
  out: z.string().min(1).default('.'),
  force: z.boolean().default(false),
  count: z.coerce.number().int('must be a whole number').positive('must be at least 1').optional(),
});

/** The environment a peer command reads, at the end of its --help. */
const PEER_ENVIRONMENT_HELP = [
  'Environment:',
  '  DUET_SERVER         the server when the link names none (like --server)',
  "  DUET_ROOM_PASSWORD  the room's password (kept out of the command line, which others can see)",
  "  DUET_DEBUG=1        the call core's log on stderr",
].join('\n');

const SERVER_HELP = `signaling server (default: the link's, else $DUET_SERVER, else ${DEFAULT_SERVER})`;

function peerOptions(command: Command): Command {
  return command
    .addHelpText('after', `\n${PEER_ENVIRONMENT_HELP}`)
    .requiredOption('-r, --room <link>', 'room link (https://…/?room=NAME) or room name')
    .option('-s, --server <url>', SERVER_HELP)
    .option('-n, --name <name>', 'your name as others see it (default: user@host)')
    .option('--json', 'one JSON event per line on stdout, for scripts')
    .option('-w, --wait <seconds>', 'give up (exit 7) if no call is up after this long');
}

function peerArgs(raw: unknown, env: ParseIo['env']): PeerArgs {
  const options = parseOr(PeerOptionsSchema, raw, 'options');
  return {
    target: resolveTarget(options.room, options.server, env),
    name: options.name ?? defaultDisplayName(),
    json: options.json,
    ...(options.wait === undefined ? {} : { waitMs: options.wait * 1000 }),
    ...roomPassword(env),
  };
}

function roomPassword(env: ParseIo['env']): { password?: string } {
  const password = env.DUET_ROOM_PASSWORD;
  return password ? { password: parseOr(RoomPasswordSchema, password, 'DUET_ROOM_PASSWORD') } : {};
}

/** Each path must name a readable regular file now (a typo fails at once, not after the call). */
function checkFiles(files: string[]): string[] {
  return files.map((file) => {
    const path = resolve(file);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats) {
      throw new CliFailure(EXIT.usage, `${file}: no such file`);
    }
    if (!stats.isFile()) {
      throw new CliFailure(EXIT.usage, `${file}: not a regular file`);
    }
    return path;
  });
}

/** The commander program; actions only record what to run (see parseArgs). */
export function buildProgram(io: ParseIo, record: (command: ParsedCommand) => void): Command {
  const program = new Command('duet')
    .description('Duet from a terminal: send and receive files and chat with a browser or another terminal.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${exitCodeHelp()}\n`)
    .configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr })
    .exitOverride();

  peerOptions(
    program
      .command('send')
      .description('call the person in the room (or wait for one) and send them files, SHA-256 verified')
      .argument('<files...>', 'files to send'),
  )
    .addHelpText('after', `\n${exitCodeHelp()}\n`)
    .action((files: string[], raw: unknown) => {
      record({ command: 'send', peer: peerArgs(raw, io.env), files: checkFiles(files) });
    });

  peerOptions(
    program
      .command('receive')
      .description('answer a call in the room and save the files that arrive, SHA-256 verified'),
  )
    .option('-o, --out <dir>', 'directory to save into', '.')
    .option('-f, --force', 'overwrite existing files (default: save as "name (1).ext")')
    .addOption(new Option('-c, --count <n>', 'hang up and exit after receiving this many files'))
    .addHelpText('after', `\n${exitCodeHelp()}\n`)
    .action((raw: Record<string, unknown>) => {
      const receive = parseOr(ReceiveOptionsSchema, raw, 'options');
      const out = resolve(receive.out);
      if (statSync(out, { throwIfNoEntry: false })?.isDirectory() !== true) {
        throw new CliFailure(EXIT.usage, `--out: ${receive.out} is not a directory`);
      }
      record({
        command: 'receive',
        peer: peerArgs(raw, io.env),
        out,
        force: receive.force,
        ...(receive.count === undefined ? {} : { count: receive.count }),
      });
    });

  peerOptions(
    program
      .command('chat')
      .description('chat with the person in the room: type a line to send it; Ctrl-D or Ctrl-C ends'),
  )
    .addHelpText('after', `\n${exitCodeHelp()}\n`)
    .action((raw: unknown) => {
      record({ command: 'chat', peer: peerArgs(raw, io.env) });
    });

  const room = program.command('room').description('rooms');
  room
    .command('new')
    .description('print a new room link and its QR code (for a phone)')
    .option('-s, --server <url>', `server the link points at (default: $DUET_SERVER, else ${DEFAULT_SERVER})`)
    .option('--json', 'print {"event":"room",…} instead')
    .addHelpText('after', `\n${exitCodeHelp()}\n`)
    .action((raw: { server?: string; json?: boolean }) => {
      const server = parseOr(ServerUrlSchema, raw.server ?? io.env.DUET_SERVER ?? DEFAULT_SERVER, '--server');
      record({ command: 'room-new', server, json: raw.json === true });
    });
  return program;
}

/**
 * Parse a command line (without `node` and the script) into what to run. Throws a CliFailure
 * with the usage exit code for anything wrong, after commander printed its message.
 */
export async function parseArgs(argv: readonly string[], io: ParseIo): Promise<ParsedCommand> {
  const recorded: { command?: ParsedCommand } = {};
  const program = buildProgram(io, (command) => (recorded.command = command));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) {
        return { command: 'printed' };
      }
      // Commander has printed the message already.
      throw new CliFailure(EXIT.usage, '');
    }
    throw error;
  }
  const parsed = recorded.command;
  if (!parsed) {
    // `duet` alone, or `duet room`: show the help rather than do nothing.
    io.writeErr(program.helpInformation());
    throw new CliFailure(EXIT.usage, 'no command given');
  }
  return parsed;
}
