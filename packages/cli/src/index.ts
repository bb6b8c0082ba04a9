/**
 * @duet/cli — the terminal peer `duet`. Exported for tests and embedding; the binary is main.ts.
 */
export { runCli } from './cli.js';
export { parseArgs, type ParsedCommand, type PeerArgs } from './program.js';
export { EXIT, CliFailure, exitCodeHelp, type ExitCode } from './exit-codes.js';
export { resolveTarget, roomLink, DEFAULT_SERVER, type Target } from './args.js';
export type { CliIo } from './io.js';
export type { CliEvent } from './output/events.js';
export { createReporter, outputMode, ProgressGate, type Reporter } from './output/reporter.js';
export { formatBytes, formatEta, formatLine, formatSpeed, formatSymbols } from './output/format.js';
export { chooseTargetPath } from './files/target-path.js';
export { DiskSink } from './files/disk-sink.js';
export { DiskFile } from './files/disk-file.js';
export {
  NodePeerConnection,
  createNodePeerConnection,
  nativeIceServers,
} from './rtc/node-peer-connection.js';
export { createNodeHasher } from './rtc/node-hasher.js';
export { createTerminalClient } from './peer/open-peer.js';
export { newRoomName } from './commands/room-new.js';
