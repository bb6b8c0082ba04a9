import { isTransferFinal, type ClientSnapshot, type TransferView } from '@duet/rtc';
import type { ExitCode } from '../exit-codes.js';
import { DiskSink } from '../files/disk-sink.js';
import { chooseTargetPath } from '../files/target-path.js';
import { TransferReport } from '../files/transfer-report.js';
import { endedFailure } from '../peer/session.js';
import type { PeerContext } from './peer-command.js';
import { worstOutcome } from './send.js';

/** With --count: how long the sender may take to hang up after the last file before we do. */
const VERDICT_GRACE_MS = 3000;

export interface ReceiveOptions {
  out: string;
  force: boolean;
  /** Hang up after this many files arrived (verified or not); default: until the peer hangs up. */
  count?: number;
}

/**
 * `duet receive`: accept every offered file into `out` (safe names, never over an existing file
 * without --force), streamed to disk and verified by the core. Ends when `count` files are final,
 * or when the peer hangs up: cleanly if nothing was left half-way, else "peer left".
 */
export async function receiveFiles(context: PeerContext, options: ReceiveOptions): Promise<ExitCode> {
  const { client, watch, reporter } = context;
  const report = new TransferReport(reporter);
  const accepted = new Set<string>();
  const taken = new Set<string>();
  // The transfers as last seen during the call (once it ends the core lets go of them).
  let latest: readonly TransferView[] = [];
  const onChange = (snapshot: ClientSnapshot): void => {
    if (snapshot.transfers.length > 0) {
      latest = snapshot.transfers;
    }
    for (const offer of snapshot.transfers) {
      if (offer.direction !== 'receive' || offer.state !== 'offered' || accepted.has(offer.id)) {
        continue;
      }
      accepted.add(offer.id);
      let path: string;
      try {
        path = chooseTargetPath(options.out, offer.name, { force: options.force, taken });
      } catch (error) {
        reporter.emit({ event: 'error', message: error instanceof Error ? error.message : String(error) });
        client.files.decline(offer.id);
        continue;
      }
      taken.add(path);
      report.paths.set(offer.id, path);
      void client.files.accept(offer.id, new DiskSink(path, options.force));
    }
    report.update(snapshot.transfers);
  };
  const offChange = client.on('change', onChange);
  onChange(client.snapshot);
  const received = (snapshot: ClientSnapshot) =>
    snapshot.transfers.filter((t) => t.direction === 'receive' && isTransferFinal(t.state));
  try {
    if (options.count !== undefined) {
      const count = options.count;
      const snapshot = await watch.until((s) => received(s).length >= count);
      report.update(snapshot.transfers);
      // Our verdict (file-result) goes peer to peer, our hang-up through the server, which can
      // overtake it: a sender would then never learn its file arrived. Give the sender the word
      // (a terminal hangs up itself once it has the verdict), then hang up.
      await Promise.race([
        watch.whenEnded(),
        new Promise((resolve) => setTimeout(resolve, VERDICT_GRACE_MS)),
      ]);
      await watch.hangUp(false);
      return worstOutcome(received(snapshot));
    }
    const ended = await watch.whenEnded();
    const incoming = latest.filter((t) => t.direction === 'receive');
    if (
      incoming.some((t) => !isTransferFinal(t.state) || (t.state === 'cancelled' && t.cancelledBy !== 'self'))
    ) {
      throw endedFailure(ended.outcome);
    }
    if (ended.outcome === 'failed' || ended.outcome === 'peer_left') {
      throw endedFailure(ended.outcome);
    }
    return worstOutcome(incoming);
  } finally {
    offChange();
  }
}
