import type { Body, BodyOf, FileChannelHeader } from '@duet/protocol';
import { Emitter } from '../emitter.js';
import { ChannelAdmission, type ChannelOwner, type HeldChannel } from './file-channel.js';
import { createSha256Hasher } from './hashing.js';
import { IncomingTransfer } from './incoming-transfer.js';
import { OutgoingTransfer } from './outgoing-transfer.js';
import { DEFAULT_MAX_IN_MEMORY_BYTES, MemorySink } from './sinks.js';
import type { FileTransferCounters, Transfer, TransferContext } from './transfer.js';
import type { ChannelProvider, ControlLink, FileSink, Hasher, TransferView } from './transfer-types.js';
import type { FileWorker } from './worker-channels.js';
import { FILE_TRANSFER_DEFAULTS, resolveSettings } from './tuning.js';

/*
 * Peer-to-peer file transfer: the public face of files/.
 *
 * Control (offer, accept, acks, the final hash, the verdict, resume requests) travels over the
 * reliable ControlLink; the bytes travel over a data channel of their own per transfer, opened by
 * the sender: a JSON header `{v, transferId, offset}`, then binary chunks in order. When the data
 * path breaks, the receiver asks for the rest with `file-resume {offset}` (exactly what it has
 * stored) and the sender opens a new channel from there. Both ends hash as they go (SHA-256,
 * streaming); the sender reports its hash in `file-end`, the receiver compares and answers
 * `file-result {ok}`.
 *
 *   sender                                              receiver
 *   file-offer ───────────────────────────────────────▶ offered
 *   waiting    ◀─────────────────────────────────────── file-accept (or file-decline)
 *   open channel: header, chunk, chunk, … ────────────▶ store + hash; file-ack every 256 KiB / 250 ms
 *   file-end {sha256} (after the last byte) ──────────▶ waits for the last byte, then compares
 *   done / failed ◀─────────────────────────────────── file-result {ok}
 *   on a break: paused ◀────────────────────────────── file-resume {offset} (on reconnect or close)
 *   either side, any time: file-cancel {reason}
 *
 * Why this module is only a registry and a router: each transfer is an object of its own
 * (OutgoingTransfer, IncomingTransfer) with its state machine in transfer-machine.ts; what is left
 * here is what concerns all of them — finding a transfer by id for each body and channel, the
 * connection epoch, the limits on what a peer may pile up, and the throttled view for the UI.
 */

export { FILE_TRANSFER_DEFAULTS, DEFAULT_MAX_IN_MEMORY_BYTES };
export type { FileTransferCounters };

export interface FileTransfersOptions {
  link: ControlLink;
  channels: ChannelProvider;
  /** Where an accepted incoming file goes, unless accept() is given a sink. Default: memory sink. */
  createSink?: (offer: { name: string; size: number; mime: string }) => FileSink;
  /** Default: streaming SHA-256 from @noble/hashes on this thread. */
  createHasher?: () => Hasher;
  /**
   * A started file worker (worker-channels.ts): file channels move into it where the browser
   * allows, and received files are folded and hashed there. Used only while it is ready; ignored
   * for receiving when `createSink` is given (the app keeps its bytes).
   */
  fileWorker?: FileWorker;
  /**
   * Refuse incoming files larger than this without a disk sink (state failed, error too_large):
   * applies when the sink is a {@link MemorySink}. Default {@link DEFAULT_MAX_IN_MEMORY_BYTES}.
   */
  maxInMemoryBytes?: number;
  /** Default: min({@link FILE_TRANSFER_DEFAULTS}.chunkSize, channels.maxMessageSize()). */
  chunkSize?: number;
  /** `bufferedAmount` backpressure; see {@link FILE_TRANSFER_DEFAULTS} for why these values. */
  highWaterMark?: number;
  lowWaterMark?: number;
  /** How far the sender may run ahead of the receiver's acks; see {@link FILE_TRANSFER_DEFAULTS}. */
  maxUnackedBytes?: number;
  /** Receiver's watchdog; see {@link FILE_TRANSFER_DEFAULTS}. */
  stallTimeoutMs?: number;
  /** Milliseconds, monotonic. Default: performance.now(). */
  now?: () => number;
  log?: (message: string, detail?: unknown) => void;
}

/**
 * Sends and receives files over data channels: chunked, with backpressure, verified end to end with
 * SHA-256, resumed from the receiver's offset after a broken connection, and safe against a
 * hostile peer (names sanitised, sizes enforced, nothing the peer sends can throw out of here).
 */
export class FileTransfers extends Emitter<{ change: readonly TransferView[] }> {
  /** Things dropped or refused so far. */
  readonly counters: FileTransferCounters = {
    rejectedChannels: 0,
    ignoredBodies: 0,
    ignoredFrames: 0,
    handlerErrors: 0,
  };

  private readonly ctx: TransferContext;
  private readonly transfersById = new Map<string, OutgoingTransfer | IncomingTransfer>();
  private readonly admission: ChannelAdmission;
  private readonly unsubscribe: Array<() => void>;
  private views: readonly TransferView[] = [];
  /** Counts reconnections: a channel opened in an earlier epoch may be dead without knowing it. */
  private epoch = 0;
  private emitTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(options: FileTransfersOptions) {
    super();
    const log = options.log ?? (() => {});
    const guard = (where: string, fn: () => void): void => this.guard(where, fn);
    this.ctx = {
      link: options.link,
      channels: options.channels,
      settings: resolveSettings(options),
      counters: this.counters,
      createHasher: options.createHasher ?? createSha256Hasher,
      createSink: options.createSink ?? (() => new MemorySink()),
      fileWorker: () => (options.fileWorker?.ready ? options.fileWorker : null),
      storeInWorker: options.createSink === undefined,
      now: options.now ?? (() => performance.now()),
      log,
      epoch: () => this.epoch,
      disposed: () => this.disposed,
      changed: () => this.changed(),
      dirty: () => this.dirty(),
      guard,
      run: (where, task) =>
        task().catch((error: unknown) => {
          this.counters.handlerErrors++;
          log(`file transfer: ${where} failed`, error);
        }),
    };
    this.admission = new ChannelAdmission({
      adopt: (header, held) => this.adopt(header, held),
      move: (channel) => this.ctx.fileWorker()?.receive(channel) ?? null,
      onReject: () => this.counters.rejectedChannels++,
      guard,
    });
    this.unsubscribe = [
      options.link.onBody(this.onBody),
      options.channels.onChannel(this.admission.onChannel),
      options.channels.onReconnected(this.onReconnected),
    ];
  }

  /** Every transfer of this call, oldest first. A fresh array (and objects) after every change. */
  get transfers(): readonly TransferView[] {
    return this.views;
  }

  /** Incoming files larger than this need a disk sink (`accept(id, new WritableSink(…))`). */
  get maxInMemoryBytes(): number {
    return this.ctx.settings.maxInMemoryBytes;
  }

  /**
   * Offer a file to the peer. The Blob is read in slices when the peer accepts, never whole.
   * Returns the transfer id.
   */
  send(file: Blob, name: string, options: { photo?: boolean } = {}): string {
    if (this.disposed) {
      throw new Error('FileTransfers is disposed');
    }
    const t = new OutgoingTransfer(this.ctx, file, name, options.photo === true);
    t.sendOffer();
    this.transfersById.set(t.id, t);
    this.changed();
    return t.id;
  }

  /**
   * Accept an incoming file into `sink` (default: `createSink`, else memory). Without a disk sink,
   * a file over `maxInMemoryBytes` fails with `too_large`. Does nothing for an unknown transfer or
   * one no longer offered.
   */
  async accept(transferId: string, sink?: FileSink): Promise<void> {
    const t = this.offered(transferId);
    if (t) {
      await t.accept(sink);
    }
  }

  /** Refuse an offered file. */
  decline(transferId: string): void {
    this.offered(transferId)?.decline();
  }

  /** Stop a transfer in any active state, either direction: the peer is told, everything freed. */
  cancel(transferId: string): void {
    const t = this.transfersById.get(transferId);
    if (this.disposed || !t?.active()) {
      return;
    }
    t.cancel('self');
  }

  /** Stop listening and free every transfer (channels closed, sinks aborted). The peer is not told. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    for (const off of this.unsubscribe) {
      off();
    }
    this.admission.dispose();
    for (const t of this.transfersById.values()) {
      t.cleanup();
    }
    clearTimeout(this.emitTimer);
    this.removeAllListeners();
  }

  private offered(transferId: string): IncomingTransfer | null {
    const t = this.transfersById.get(transferId);
    return !this.disposed && t instanceof IncomingTransfer && t.state === 'offered' ? t : null;
  }

  private readonly onBody = (body: Body): void => {
    this.guard(`body ${body.kind}`, () => {
      if (this.disposed || body.kind === 'chat') {
        return;
      }
      if (!('transferId' in body && this.route(body))) {
        this.counters.ignoredBodies++;
      }
    });
  };

  /** Hand `body` to its transfer. False when nobody takes it. */
  private route(body: Extract<Body, { transferId: string }>): boolean {
    const t = this.transfersById.get(body.transferId);
    switch (body.kind) {
      case 'file-offer':
        return this.onOffer(body);
      case 'file-cancel':
        if (!t?.active()) {
          return false;
        }
        if (body.reason === 'error') {
          t.fail('peer_failed', false);
        } else {
          t.cancel('peer');
        }
        return true;
      case 'file-end':
        return t instanceof IncomingTransfer && t.onEnd(body.sha256);
      case 'file-accept':
      case 'file-decline':
      case 'file-resume':
      case 'file-ack':
      case 'file-result':
        if (!t && body.kind === 'file-resume') {
          // The peer resumes a transfer this page does not know: it was lost with a reload. Tell
          // the peer, or its transfer would wait for us forever.
          this.ctx.log(`transfer ${body.transferId}: resume asked, but it is not ours (lost with a reload?)`);
          this.ctx.link.send({ kind: 'file-cancel', transferId: body.transferId, reason: 'error' });
        }
        return t instanceof OutgoingTransfer && t.handle(body);
      default:
        return false;
    }
  }

  private onOffer(body: BodyOf<'file-offer'>): boolean {
    const pending = [...this.transfersById.values()].filter((t) => t.state === 'offered').length;
    if (this.transfersById.has(body.transferId) || pending >= FILE_TRANSFER_DEFAULTS.maxPendingOffers) {
      return false;
    }
    this.transfersById.set(body.transferId, new IncomingTransfer(this.ctx, body));
    this.changed();
    return true;
  }

  /** A channel's header names a transfer: the one we receive, if it starts where our bytes end. */
  private adopt(header: FileChannelHeader, held: HeldChannel): ChannelOwner | null {
    const t = this.transfersById.get(header.transferId);
    return t instanceof IncomingTransfer && t.adopt(held, header) ? t : null;
  }

  private readonly onReconnected = (): void => {
    this.guard('reconnected', () => {
      if (this.disposed) {
        return;
      }
      this.epoch++;
      for (const t of this.transfersById.values()) {
        if (t.moving()) {
          t.onReconnected();
        }
      }
    });
  };

  /** Emit the state at once. */
  private changed(): void {
    clearTimeout(this.emitTimer);
    this.emitTimer = undefined;
    if (this.disposed) {
      return;
    }
    const now = this.ctx.now();
    this.views = [...this.transfersById.values()].map((t: Transfer) => t.view(now));
    this.emit('change', this.views);
  }

  /** Emit progress soon (throttled). */
  private dirty(): void {
    if (this.emitTimer !== undefined || this.disposed) {
      return;
    }
    this.emitTimer = setTimeout(() => this.changed(), FILE_TRANSFER_DEFAULTS.progressIntervalMs);
  }

  /** Run `fn`, counting and logging instead of throwing: nothing a peer sends escapes. */
  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.counters.handlerErrors++;
      this.ctx.log(`file transfer: ${where} failed`, error);
    }
  }
}
