import { isTransferFinal, type TransferView } from '@duet/rtc';
import type { CliEvent, FileFailure } from '../output/events.js';
import type { Reporter } from '../output/reporter.js';

/**
 * Turns the core's transfer views (a fresh list on every change) into events: an offer when a
 * transfer appears, progress while bytes move, one final event. Each transfer's final event is
 * emitted once, however many changes follow.
 */
export class TransferReport {
  private readonly seen = new Map<string, { bytes: number; final: boolean }>();
  /** Where received files were saved (the done event names the path). */
  readonly paths = new Map<string, string>();

  constructor(private readonly reporter: Reporter) {}

  update(transfers: readonly TransferView[]): void {
    for (const view of transfers) {
      this.one(view);
    }
  }

  private one(view: TransferView): void {
    const base = { id: view.id, direction: view.direction, name: view.name };
    let seen = this.seen.get(view.id);
    if (!seen) {
      seen = { bytes: -1, final: false };
      this.seen.set(view.id, seen);
      this.reporter.emit({ event: 'offer', ...base, size: view.size });
    }
    if (seen.final) {
      return;
    }
    if (view.bytes !== seen.bytes && view.state !== 'offered' && view.state !== 'waiting') {
      seen.bytes = view.bytes;
      this.reporter.emit({
        event: 'progress',
        ...base,
        bytes: view.bytes,
        size: view.size,
        bytesPerSecond: view.bytesPerSecond,
        secondsLeft: view.secondsLeft,
      });
    }
    if (!isTransferFinal(view.state)) {
      return;
    }
    seen.final = true;
    const event: CliEvent =
      view.state === 'done'
        ? {
            event: 'file-done',
            ...base,
            size: view.size,
            sha256: view.sha256 ?? '',
            ...(this.paths.has(view.id) ? { path: this.paths.get(view.id) } : {}),
          }
        : { event: 'file-failed', ...base, reason: failureOf(view) };
    this.reporter.emit(event);
  }
}

/** Why a final, unsuccessful transfer ended. */
export function failureOf(view: Pick<TransferView, 'state' | 'error'>): FileFailure {
  if (view.state === 'declined') {
    return 'declined';
  }
  if (view.state === 'cancelled') {
    return 'cancelled';
  }
  return view.error ?? 'peer_failed';
}
