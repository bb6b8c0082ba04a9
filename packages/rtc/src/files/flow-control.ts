import type { FileChannelLike } from './transfer-types.js';
import { FILE_TRANSFER_DEFAULTS } from './tuning.js';

/*
 * Pacing the sender. Two limits hold it back, and only these two:
 *  - the water marks: stop while the channel buffers `highWaterMark` bytes, go on at
 *    `lowWaterMark` (`bufferedamountlow`), so the browser's send queue stays small;
 *  - the ack window: never more than `maxUnackedBytes` past what the receiver confirmed it stored,
 *    which bounds what a resume re-sends and what a slow receiver piles up on its heap.
 * See FILE_TRANSFER_DEFAULTS for why these values.
 *
 * Why a module of its own, and why an AbortSignal: a wait must end when its channel is dropped (a
 * resume replaced it, the transfer ended), or the old pump would wake later and send on. Each
 * channel has one AbortSignal, aborted when it is dropped; every wait listens to it. That replaces
 * a generation counter compared after each await plus a set of wakers to call by hand.
 */

export interface FlowLimits {
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly maxUnackedBytes: number;
}

/** One outgoing transfer's ack window (it outlives channels) and the water marks of its channels. */
export class FlowControl {
  private ackedBytes = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly limits: FlowLimits) {}

  /** What the receiver confirmed it stored (or where the current channel starts, after a resume). */
  get acked(): number {
    return this.ackedBytes;
  }

  /** The receiver confirmed `offset`. True when that moved the window (a waiting sender goes on). */
  advance(offset: number): boolean {
    if (offset <= this.ackedBytes) {
      return false;
    }
    this.ackedBytes = offset;
    for (const waiter of [...this.waiters]) {
      waiter();
    }
    return true;
  }

  /** Start over from `offset`: a resume, where the receiver holds exactly that much. */
  reset(offset: number): void {
    this.ackedBytes = offset;
  }

  /**
   * Null when a chunk starting at `offset` may go out on `channel` now; otherwise a promise that
   * settles when it is worth asking again: the buffer drained, the window moved, the channel
   * closed, or `signal` (the channel's) aborted. Synchronous on the fast path, so a sender that is
   * not held back pays no await per chunk.
   */
  wait(channel: FileChannelLike, offset: number, signal: AbortSignal): Promise<void> | null {
    if (channel.bufferedAmount >= this.limits.highWaterMark) {
      return this.drained(channel, signal);
    }
    if (offset - this.ackedBytes >= this.limits.maxUnackedBytes) {
      return this.moved(signal);
    }
    return null;
  }

  /**
   * Resolves when the channel's buffer fell to the low-water mark, it closed, the window moved, or
   * `signal` aborted. The window too: each ack is a cue to look at `bufferedAmount` again, should
   * `bufferedamountlow` be late or lost (the poll below may be throttled in a busy or hidden page).
   */
  private drained(channel: FileChannelLike, signal: AbortSignal): Promise<void> {
    const { lowWaterMark } = this.limits;
    return new Promise((resolve) => {
      const done = (): void => {
        clearInterval(poll);
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', done);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', done);
      signal.addEventListener('abort', done);
      this.waiters.add(done);
      // A safety net only: browsers fire `bufferedamountlow`; some Node stacks never do.
      const poll = setInterval(() => {
        if (channel.bufferedAmount <= lowWaterMark || channel.readyState !== 'open') {
          done();
        }
      }, FILE_TRANSFER_DEFAULTS.drainPollMs);
    });
  }

  /** Resolves when the window moves or `signal` aborts. */
  private moved(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done);
    });
  }
}
