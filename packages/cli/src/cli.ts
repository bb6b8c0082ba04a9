import { CliFailure, EXIT, type ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { createReporter, outputMode, type Reporter } from './output/reporter.js';
import { chat } from './commands/chat.js';
import { runPeerCommand } from './commands/peer-command.js';
import { receiveFiles } from './commands/receive.js';
import { roomNew } from './commands/room-new.js';
import { sendFiles } from './commands/send.js';
import { parseArgs, type ParsedCommand } from './program.js';

/** Run `duet` with these arguments; resolves with the exit status (the caller exits with it). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let command: ParsedCommand;
  try {
    command = await parseArgs(argv, {
      env: io.env,
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  } catch (error) {
    if (error instanceof CliFailure) {
      if (error.message) {
        io.stderr.write(`duet: ${error.message}\n`);
      }
      return error.code;
    }
    throw error;
  }
  if (command.command === 'printed') {
    return EXIT.ok;
  }
  const json = command.command === 'room-new' ? command.json : command.peer.json;
  const reporter = await createReporter(outputMode(json, io.stdout), io.stdout, io.stderr);
  try {
    const code = await run(command, io, reporter);
    reporter.emit({ event: 'exit', code, reason: reasonOf(code) });
    return code;
  } finally {
    reporter.close();
  }
}

function run(
  command: Exclude<ParsedCommand, { command: 'printed' }>,
  io: CliIo,
  reporter: Reporter,
): Promise<ExitCode> {
  switch (command.command) {
    case 'send':
      return runPeerCommand(command.peer, 'call', io, reporter, (context) =>
        sendFiles(context, command.files),
      );
    case 'receive':
      return runPeerCommand(command.peer, 'answer', io, reporter, (context) =>
        receiveFiles(context, {
          out: command.out,
          force: command.force,
          ...(command.count === undefined ? {} : { count: command.count }),
        }),
      );
    case 'chat':
      return runPeerCommand(command.peer, 'either', io, reporter, chat);
    case 'room-new':
      return roomNew(command.server, command.json, reporter, (text) => io.stdout.write(text)).then(
        () => EXIT.ok,
      );
  }
}

/** The exit status by name, for the `exit` event of --json. */
function reasonOf(code: ExitCode): string {
  const names: Record<number, string> = {
    [EXIT.ok]: 'ok',
    [EXIT.failed]: 'failed',
    [EXIT.usage]: 'usage',
    [EXIT.unreachable]: 'unreachable',
    [EXIT.declined]: 'declined',
    [EXIT.peerLeft]: 'peer_left',
    [EXIT.hashMismatch]: 'hash_mismatch',
    [EXIT.noAnswer]: 'no_answer',
    [EXIT.interrupted]: 'interrupted',
  };
  return names[code] ?? 'failed';
}
