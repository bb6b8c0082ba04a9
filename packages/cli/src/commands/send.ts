import { basename } from 'node:path';
import { isTransferFinal, type TransferView } from '@duet/rtc';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { DiskFile } from '../files/disk-file.js';
import { TransferReport } from '../files/transfer-report.js';
import { wireCounters } from '../rtc/node-peer-connection.js';
import type { PeerContext } from './peer-command.js';

/**
 * `duet send`: offer every file at once (the peer accepts each), stream them from disk — a Blob
 * over the file (DiskFile), which the core reads a slice at a time, never whole — and wait
 * until each is verified or refused. Then hang up.
 */
export async function sendFiles(context: PeerContext, files: readonly string[]): Promise<ExitCode> {
  const { client, watch, reporter } = context;
  const report = new TransferReport(reporter);
  const offChange = client.on('change', (snapshot) => report.update(snapshot.transfers));
  const ids: string[] = [];
  try {
    for (const file of files) {
      ids.push(client.files.send(await DiskFile.open(file), basename(file)));
    }
    const finished = await watch.until((snapshot) =>
      ids.every((id) => isFinal(snapshot.transfers.find((t) => t.id === id))),
    );
    report.update(finished.transfers);
    const mine = finished.transfers.filter((t) => ids.includes(t.id));
    reporter.emit({
      event: 'sent',
      fileBytes: mine.reduce((sum, t) => sum + t.size, 0),
      wireBytes: wireCounters.fileBytesSent,
    });
    await watch.hangUp(false);
    return worstOutcome(mine);
  } finally {
    offChange();
  }
}

function isFinal(view: TransferView | undefined): boolean {
  return view !== undefined && isTransferFinal(view.state);
}

/**
 * One exit status for several files: a hash mismatch says the most (data was damaged), then a
 * refusal by the peer, then any other failure; all done is 0.
 */
export function worstOutcome(
  transfers: ReadonlyArray<Pick<TransferView, 'state' | 'error' | 'cancelledBy'>>,
): ExitCode {
  if (transfers.some((t) => t.error === 'hash_mismatch')) {
    return EXIT.hashMismatch;
  }
  if (
    transfers.some((t) => t.state === 'declined' || (t.state === 'cancelled' && t.cancelledBy === 'peer'))
  ) {
    return EXIT.declined;
  }
  if (transfers.some((t) => t.state !== 'done')) {
    return EXIT.failed;
  }
  return EXIT.ok;
}
