import { isTransferFinal, type CallOutcome, type ClientSnapshot, type DuetClient } from '@duet/rtc';
import { CliFailure, EXIT } from '../exit-codes.js';
import type { Reporter } from '../output/reporter.js';

/** How long a hang-up may take to tell the peer (the core drains its data channel for 500 ms). */
const HANGUP_DRAIN_MS = 800;

/**
 * A connected call seen from a command: wait for a condition on the client's snapshot unless the
 * call ends first, and end the call telling the peer (over the data channel and the server).
 */
export class CallWatch {
  private outcome: { outcome: CallOutcome; by: 'self' | 'remote' } | null = null;
  private readonly endListeners = new Set<() => void>();

  constructor(
    private readonly client: DuetClient,
    reporter: Reporter,
  ) {
    client.on('notice', (notice) => {
      if (notice.kind !== 'call-ended' || this.outcome) {
        return;
      }
      this.outcome = { outcome: notice.outcome, by: notice.endedBy };
      reporter.emit({ event: 'call-ended', outcome: notice.outcome, by: notice.endedBy });
      for (const listener of [...this.endListeners]) {
        listener();
      }
    });
  }

  /** How the call ended, once it has. */
  get ended(): { outcome: CallOutcome; by: 'self' | 'remote' } | null {
    return this.outcome;
  }

  /** Resolve when the call ends (at once if it has). */
  whenEnded(): Promise<{ outcome: CallOutcome; by: 'self' | 'remote' }> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.outcome) {
          this.endListeners.delete(check);
          resolve(this.outcome);
        }
      };
      this.endListeners.add(check);
      check();
    });
  }

  /**
   * Resolve with the snapshot once `ready(snapshot)` holds; reject with `peer left` (or `failed`,
   * for a connection that could not be rebuilt) if the call ends first.
   */
  until(ready: (snapshot: ClientSnapshot) => boolean): Promise<ClientSnapshot> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const snapshot = this.client.snapshot;
        if (ready(snapshot)) {
          done();
          resolve(snapshot);
        } else if (this.outcome) {
          done();
          reject(endedFailure(this.outcome.outcome));
        }
      };
      const offChange = this.client.on('change', check);
      this.endListeners.add(check);
      const done = (): void => {
        offChange();
        this.endListeners.delete(check);
      };
      check();
    });
  }

  /** Cancel what is still moving (the peer is told), hang up, and let the goodbye leave. */
  async hangUp(cancelTransfers: boolean): Promise<void> {
    if (cancelTransfers) {
      for (const transfer of this.client.snapshot.transfers) {
        if (!isTransferFinal(transfer.state)) {
          this.client.files.cancel(transfer.id);
        }
      }
    }
    if (!this.outcome) {
      await this.client.hangup();
      await new Promise((resolve) => setTimeout(resolve, HANGUP_DRAIN_MS));
    }
  }
}

/** The exit a call that ended mid-way means. */
export function endedFailure(outcome: CallOutcome): CliFailure {
  return outcome === 'failed'
    ? new CliFailure(EXIT.failed, 'the connection to the peer failed')
    : new CliFailure(
        EXIT.peerLeft,
        outcome === 'hangup' ? 'the peer hung up before the end' : 'the peer left before the end',
      );
}
