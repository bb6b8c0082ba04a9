#!/usr/bin/env node
import { runCli } from './cli.js';
import { processIo } from './io.js';

/*
 * The `duet` binary. The exit happens here, explicitly: libdatachannel's threads would otherwise
 * keep the process alive after the call, and stdout is flushed first so a pipe gets every line.
 */
runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(
      `duet: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
