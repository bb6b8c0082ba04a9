import { HeldChannel } from './file-channel.js';
import { RateMeter } from './rate-meter.js';
import type { FileWorker } from './worker-channels.js';
import { transition, type PeerNotice, type TransferEvent } from './transfer-machine.js';
import { isMovingBytes, isTransferLive } from './transfer-states.js';
import type {
  ChannelProvider,
  ControlLink,
  FileSink,
  Hasher,
  TransferError,
  TransferState,
  TransferView,
} from './transfer-types.js';
import { FILE_TRANSFER_DEFAULTS, type TransferSettings } from './tuning.js';

/*
 * What both directions of a transfer share: who it is (id, name, size), where it is in its state
 * machine, and how the machine's effects are run. Why a base class: the sender and the receiver
 * are different enough to live in files of their own (outgoing-transfer.ts, incoming-transfer.ts),
 * yet must end, fail, be cancelled and be shown in exactly the same way.
 */

/** Things dropped or refused, for tests and diagnostics. */
export interface FileTransferCounters {
  /** File channels closed for a missing, malformed or unexpected header. */
  rejectedChannels: number;
  /** Control bodies ignored: unknown transfer, wrong direction or state, duplicate offer. */
  ignoredBodies: number;
  /** Frames ignored on an adopted channel (text after the header, unknown data types). */
  ignoredFrames: number;
  /** Exceptions caught inside the engine's handlers. */
  handlerErrors: number;
}

/** What a transfer gets from the engine that holds it (FileTransfers). */
export interface TransferContext {
  readonly link: ControlLink;
  readonly channels: ChannelProvider;
  readonly settings: TransferSettings;
  readonly counters: FileTransferCounters;
  readonly createHasher: () => Hasher;
  readonly createSink: (offer: { name: string; size: number; mime: string }) => FileSink;
  /**
   * Where file bytes are moved and kept off the page (worker-channels.ts), when the app runs one
   * and it is ready; otherwise null and everything happens on this thread.
   */
  readonly fileWorker: () => FileWorker | null;
  /** Received files may be kept in the file worker (the app chose no sink of its own). */
  readonly storeInWorker: boolean;
  /** Milliseconds, monotonic. */
  readonly now: () => number;
  readonly log: (message: string, detail?: unknown) => void;
  /** Counts reconnections: a channel opened in an earlier epoch may be dead without knowing it. */
  epoch(): number;
  /** The engine was disposed: its call (or page) is over. */
  disposed(): boolean;
  /** Emit the state at once. */
  changed(): void;
  /** Emit progress soon (throttled). */
  dirty(): void;
  /** Run `fn`, counting and logging instead of throwing: nothing a peer sends escapes. */
  guard(where: string, fn: () => void): void;
  /** The same for a task that runs on its own. */
  run(where: string, task: () => Promise<void>): Promise<void>;
}

export interface TransferIdentity {
  readonly id: string;
  /** Sanitised. */
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly photo: boolean;
}

export abstract class Transfer implements TransferIdentity {
  abstract readonly direction: 'send' | 'receive';
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly photo: boolean;
  protected stateNow: TransferState;
  protected error: TransferError | null = null;
  protected cancelledBy: 'self' | 'peer' | null = null;
  protected sha256: string | null = null;
  /** The channel this transfer sends or receives on, if any. */
  protected held: HeldChannel | null = null;
  protected readonly meter = new RateMeter(FILE_TRANSFER_DEFAULTS.speedWindowMs);

  constructor(
    protected readonly ctx: TransferContext,
    identity: TransferIdentity,
    initial: TransferState,
  ) {
    ({ id: this.id, name: this.name, size: this.size, mime: this.mime, photo: this.photo } = identity);
    this.stateNow = initial;
  }

  get state(): TransferState {
    return this.stateNow;
  }

  /**
   * Not final ({@link isTransferLive}). A method, not a getter: it changes across awaits, and must not
   * be narrowed.
   */
  active(): boolean {
    return isTransferLive(this.stateNow);
  }

  /** Transferring or paused ({@link isMovingBytes}). */
  moving(): boolean {
    return isMovingBytes(this.stateNow);
  }

  /** The user (`self`) or the peer stops the transfer. */
  cancel(by: 'self' | 'peer'): void {
    this.apply({ type: 'cancel', by });
  }

  /** Give up with `error`; `tellPeer` when the failure is ours and the peer does not know. */
  fail(error: TransferError, tellPeer: boolean, cause?: unknown): void {
    if (!this.active()) {
      return;
    }
    this.ctx.log(`transfer ${this.id} failed: ${error}`, cause);
    this.apply({ type: 'fail', error, tellPeer });
  }

  /** Free everything this transfer holds (it ended, or the engine is disposed). */
  cleanup(): void {
    this.dropChannel();
    this.meter.reset();
    this.release();
  }

  /** The transfer as the UI shows it, at `now`. */
  view(now: number): TransferView {
    const bytes = this.bytes;
    const rate = this.stateNow === 'transferring' ? this.meter.rate(now) : 0;
    return {
      id: this.id,
      direction: this.direction,
      name: this.name,
      size: this.size,
      mime: this.mime,
      photo: this.photo,
      state: this.stateNow,
      bytes,
      bytesPerSecond: Math.round(rate),
      secondsLeft: rate > 0 ? Math.max(0, this.size - bytes) / rate : null,
      error: this.error,
      cancelledBy: this.cancelledBy,
      ...this.result(),
      sha256: this.sha256,
    };
  }

  /** Bytes confirmed stored by the receiver (sender side) or stored (receiver side). */
  protected abstract get bytes(): number;

  /** What a finished transfer produced (a received file). */
  protected result(): { file: Blob | null; image: Blob | null } {
    return { file: null, image: null };
  }

  /** Free what only this direction holds: a reader, a sink, timers. */
  protected abstract release(): void;

  /** Detach from and close the current channel (ours to close: no break follows). */
  protected dropChannel(): void {
    const held = this.held;
    this.held = null;
    held?.drop();
  }

  /** Feed `event` to the state machine and run its effects. True when the state changed. */
  protected apply(event: TransferEvent): boolean {
    const { state, effects } = transition(this.stateNow, event);
    if (state === this.stateNow) {
      return false;
    }
    this.stateNow = state;
    for (const effect of effects) {
      switch (effect.type) {
        case 'tell-peer':
          this.tell(effect.notice);
          break;
        case 'note-cancel':
          this.cancelledBy = effect.by;
          break;
        case 'note-error':
          this.error = effect.error;
          break;
        case 'restart-meter':
          this.meter.reset();
          this.meter.add(this.ctx.now(), this.bytes);
          break;
        case 'emit':
          this.ctx.changed();
          break;
        case 'release':
          this.cleanup();
          break;
      }
    }
    return true;
  }

  private tell(notice: PeerNotice): void {
    const { link } = this.ctx;
    const transferId = this.id;
    switch (notice) {
      case 'accept':
        link.send({ kind: 'file-accept', transferId });
        return;
      case 'decline':
        link.send({ kind: 'file-decline', transferId });
        return;
      case 'cancel':
        link.send({ kind: 'file-cancel', transferId, reason: 'user' });
        return;
      case 'error':
        // A disposed engine stays silent: its call (or page) is over, and a failure it causes
        // itself by aborting its sinks is no news for the peer (which may be talking to our
        // successor already).
        if (this.ctx.disposed()) {
          return;
        }
        this.ctx.guard('cancel', () => link.send({ kind: 'file-cancel', transferId, reason: 'error' }));
        return;
    }
  }
}
