import type { Readable, Writable } from 'node:stream';

/** The process as a command sees it; tests pass their own streams and signals. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: Record<string, string | undefined>;
  /** Subscribe to Ctrl-C (SIGINT, and SIGTERM); returns an unsubscribe function. */
  onInterrupt(listener: () => void): () => void;
  /**
   * Subscribe to SIGUSR2: drop the peer connection as a network cut would (the call rebuilds it,
   * transfers resume). For trying resume by hand and for the tests.
   */
  onDropRequest(listener: () => void): () => void;
}

/** The real process. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    onInterrupt(listener) {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
    onDropRequest(listener) {
      process.on('SIGUSR2', listener);
      return () => process.off('SIGUSR2', listener);
    },
  };
}
