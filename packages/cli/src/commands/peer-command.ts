import type { DuetClient, Log } from '@duet/rtc';
import { CliFailure, EXIT, type ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { Reporter } from '../output/reporter.js';
import { createTerminalClient, message, openPeer, type CallPolicy } from '../peer/open-peer.js';
import { reportSecuritySymbols } from '../peer/security-symbols.js';
import { CallWatch } from '../peer/session.js';
import type { PeerArgs } from '../program.js';

export interface PeerContext {
  client: DuetClient;
  watch: CallWatch;
  reporter: Reporter;
  io: CliIo;
  peer: string;
}

/** The core's log on stderr with DUET_DEBUG=1 (ICE, rebuilt connections, resumed transfers). */
function debugLog(io: CliIo): Log | undefined {
  if (!io.env.DUET_DEBUG) {
    return undefined;
  }
  return (line, detail) =>
    io.stderr.write(`[duet] ${line}${detail === undefined ? '' : ` ${message(detail)}`}\n`);
}

/**
 * Run a peer command: join, bring the call up, run `body`, and end the call. Ctrl-C at any point
 * cancels the transfers (the peer is told), hangs up and exits 130. Every failure becomes its exit
 * code and an `error` event.
 */
export async function runPeerCommand(
  args: PeerArgs,
  policy: CallPolicy,
  io: CliIo,
  reporter: Reporter,
  body: (context: PeerContext) => Promise<ExitCode>,
): Promise<ExitCode> {
  const client = createTerminalClient(args.target.server, debugLog(io));
  const watch = new CallWatch(client, reporter);
  const offDrop = io.onDropRequest(() => client.dropConnection());
  const offSymbols = reportSecuritySymbols(client, reporter);
  let offInterrupt = (): void => {};
  // Set at once: cancelling makes the transfers final, and the body must not report that as its own end.
  const state = { interrupted: false };
  const interrupted = new Promise<ExitCode>((resolve) => {
    offInterrupt = io.onInterrupt(() => {
      state.interrupted = true;
      offInterrupt();
      void watch.hangUp(true).finally(() => resolve(EXIT.interrupted));
    });
  });
  const run = async (): Promise<ExitCode> => {
    const { peer } = await openPeer(client, {
      target: args.target,
      name: args.name,
      policy,
      reporter,
      ...(args.waitMs === undefined ? {} : { waitMs: args.waitMs }),
      ...(args.password === undefined ? {} : { password: args.password }),
    });
    return body({ client, watch, reporter, io, peer });
  };
  try {
    const code = await Promise.race([run(), interrupted]);
    return state.interrupted ? await interrupted : code;
  } catch (error) {
    if (state.interrupted) {
      return await interrupted;
    }
    if (error instanceof CliFailure) {
      if (error.message) {
        reporter.emit({ event: 'error', message: error.message });
      }
      // A failure mid-call (e.g. a hash mismatch) still hangs up properly.
      await watch.hangUp(true);
      return error.code;
    }
    throw error;
  } finally {
    offInterrupt();
    offDrop();
    offSymbols();
    client.dispose();
  }
}
