import { FILE_CHANNEL_LABEL, type BodyOf } from '@duet/protocol';
import { randomBase64Url } from '../ids.js';
import { chunkSizeFor, closeQuietly, HeldChannel, isChannelLive, parseChannelAck } from './file-channel.js';
import { sanitizeFileName } from './file-names.js';
import { FlowControl } from './flow-control.js';
import { HashedOnce } from './hashing.js';
import { runSendLoop } from './send-loop.js';
import { SliceReader } from './slice-reader.js';
import { Transfer, type TransferContext } from './transfer.js';
import { FILE_TRANSFER_DEFAULTS } from './tuning.js';
import { WorkerChannel, type SendEndEvent } from './worker-channels.js';

/*
 * The sending side of one transfer.
 *
 *   file-offer ──▶ (accept) open a channel: header, chunk, chunk, … paced by FlowControl
 *   file-ack ◀── the window moves; every byte acked: the channel is closed
 *   {v, ack} ◀── on the channel itself (a receiver's file worker): the window moves sooner
 *   file-end {sha256} ──▶ once every byte was read and hashed
 *   file-result {ok} ◀── done or failed
 *   on a break: wait for the receiver's file-resume {offset} (only it knows what it stored), then
 *   open a new channel from there; no connection: open it when the connection is back.
 *
 * Why this shape: the Blob is never read whole (SliceReader), each byte is hashed once even when a
 * resume sends it again (`hashedUpTo`), and the receiver can neither make us run ahead of its acks
 * nor ask for bytes we never sent (`maxSent`).
 */

type ReceiverBody = BodyOf<'file-accept' | 'file-decline' | 'file-resume' | 'file-ack' | 'file-result'>;

export class OutgoingTransfer extends Transfer {
  readonly direction = 'send' as const;
  private blob: Blob | null;
  private reader: SliceReader | null = null;
  /** Each byte is hashed once, even across resumes. */
  private hash: HashedOnce | null = null;
  private readonly flow: FlowControl;
  /** The furthest byte ever handed to a channel: a resume request can not ask for more. */
  private maxSent = 0;
  /** Where the current channel started, and in which connection epoch it was opened. */
  private channelStart = 0;
  private channelEpoch = 0;
  /** A resume (or the start) that found no connection: open a channel from here on reconnect. */
  private wantOffset: number | null = null;
  private ending: Promise<void> | null = null;
  /**
   * Where the bytes are read, hashed and sent: decided by the first channel, for good (the hash
   * lives where the reading happens). 'worker' when that channel moved into the file worker.
   */
  private sendsFrom: 'undecided' | 'page' | 'worker' = 'undecided';

  constructor(ctx: TransferContext, file: Blob, name: string, photo: boolean) {
    super(
      ctx,
      {
        id: randomBase64Url(16), // 128 bits, 22 characters: matches FrameIdSchema
        name: sanitizeFileName(name),
        size: file.size,
        mime: file.type.length <= 255 ? file.type : '',
        photo,
      },
      'waiting',
    );
    this.blob = file;
    this.flow = new FlowControl(ctx.settings);
  }

  protected get bytes(): number {
    return this.flow.acked;
  }

  /**
   * The furthest byte sent. From the worker, what it announced it may send (it announces before it
   * sends, so an ack never outruns it); the worker itself checks acks against what it really sent.
   */
  private sentUpTo(): number {
    const channel = this.held?.channel;
    if (channel instanceof WorkerChannel) {
      this.maxSent = Math.max(this.maxSent, channel.sendingUpTo);
    }
    return this.maxSent;
  }

  /** Offer the file (again, after a reconnection: the peer may have lost it in a reload). */
  sendOffer(): void {
    this.ctx.link.send({
      kind: 'file-offer',
      transferId: this.id,
      name: this.name,
      size: this.size,
      mime: this.mime,
      ...(this.photo ? { photo: true } : {}),
    });
  }

  /** A body only a receiver sends. False when it does not apply here (the caller counts it). */
  handle(body: ReceiverBody): boolean {
    if (!this.active()) {
      return false;
    }
    switch (body.kind) {
      case 'file-accept':
        if (this.moving()) {
          // Accepted again: the receiver lost the transfer (a reload), was offered it again on
          // reconnecting (see onReconnected), and said yes. Start over from the first byte.
          this.ctx.log(`transfer ${this.id}: accepted again by a receiver that lost it; from the start`);
          this.onResume(0);
          return true;
        }
        if (this.state !== 'waiting') {
          return false;
        }
        this.apply({ type: 'accept', by: 'peer' });
        this.startSending();
        return true;
      case 'file-decline':
        return this.apply({ type: 'decline', by: 'peer' });
      case 'file-resume':
        if (!this.moving()) {
          return false;
        }
        this.onResume(body.offset);
        return true;
      case 'file-ack':
        if (!this.moving() || body.offset > this.sentUpTo()) {
          return false;
        }
        this.onAck(body.offset);
        return true;
      case 'file-result':
        this.onResult(body.ok);
        return true;
    }
  }

  /** The data path is back: open the channel we could not, drop one that died silently, offer again. */
  onReconnected(): void {
    if (this.wantOffset !== null) {
      this.apply({ type: 'resume' });
      this.openChannel(this.wantOffset);
    } else if (this.held && !isChannelLive(this.held.channel)) {
      // Closed with its old connection without telling (browsers fire no close event then).
      // The receiver's resume request follows.
      this.dropChannel();
      this.apply({ type: 'break' });
    }
    // The peer may be a reloaded page that lost the transfer: offer it again. A peer that still
    // has it ignores the duplicate offer; one that lost it asks its user again, and an accept then
    // restarts the transfer (see handle).
    this.sendOffer();
  }

  protected release(): void {
    if (this.sendsFrom === 'worker') {
      this.ctx.fileWorker()?.discard(this.id);
    }
    this.reader?.close();
    this.reader = null;
    this.blob = null;
    this.hash = null;
    this.wantOffset = null;
  }

  private startSending(): void {
    const blob = this.blob;
    if (!blob) {
      return;
    }
    this.hash = new HashedOnce(this.ctx.createHasher());
    this.reader = new SliceReader(
      blob,
      FILE_TRANSFER_DEFAULTS.sliceBytes,
      FILE_TRANSFER_DEFAULTS.readAheadSlices,
      (start, bytes) => this.hash?.add(start, bytes) ?? Promise.resolve(),
    );
    if (this.size === 0) {
      void this.ctx.run('file end', () => this.finishSending());
      return;
    }
    this.openChannel(0);
  }

  private onResume(requested: number): void {
    if (this.flow.acked >= this.size) {
      this.ctx.counters.ignoredBodies++;
      return;
    }
    // The receiver can hold at most what was sent; a larger claim is clamped (and will not verify).
    // From the worker, what it announced is an upper bound; the worker clamps to what it really sent.
    const offset = Math.min(requested, this.sendsFrom === 'worker' ? this.size : this.sentUpTo());
    const held = this.held;
    if (
      held &&
      this.channelStart === offset &&
      this.channelEpoch === this.ctx.epoch() &&
      isChannelLive(held.channel)
    ) {
      // Already answered: this channel starts there and was opened on the current connection
      // (e.g. on our own reconnect, while the receiver asked for the same on its reconnect).
      this.ctx.log(`transfer ${this.id}: resume at ${offset} already under way`);
      return;
    }
    this.flow.reset(offset);
    this.apply({ type: 'resume' });
    this.openChannel(offset);
  }

  private onAck(offset: number): void {
    if (this.flow.advance(offset)) {
      this.meter.add(this.ctx.now(), offset);
      if (this.sendsFrom === 'worker') {
        this.ctx.fileWorker()?.ack(this.id, offset);
      }
    }
    // The file-ack that says so, not the window: the channel's acks may have filled it already.
    if (offset >= this.size) {
      this.dropChannel();
      this.apply({ type: 'complete' });
      return;
    }
    this.ctx.dirty();
  }

  private onResult(ok: boolean): void {
    if (!ok) {
      this.fail('hash_mismatch', false);
      return;
    }
    this.flow.reset(this.size);
    this.apply({ type: 'complete' });
    this.apply({ type: 'verified' });
  }

  /** A new channel starting at `offset`; the previous one (if any) is closed. */
  private openChannel(offset: number): void {
    const { ctx } = this;
    this.dropChannel();
    let channel: RTCDataChannel | null = null;
    try {
      channel = ctx.channels.open(FILE_CHANNEL_LABEL);
    } catch (error) {
      ctx.log('could not open a file channel', error);
    }
    ctx.log(`transfer ${this.id}: ${channel ? 'sending' : 'no connection to send'} from ${offset}`);
    if (!channel) {
      // No connection now: open one when it is back.
      this.wantOffset = offset;
      this.apply({ type: 'break' });
      return;
    }
    this.wantOffset = null;
    this.channelStart = offset;
    this.channelEpoch = ctx.epoch();
    const moved = this.moveToWorker(channel, offset);
    if (this.sendsFrom === 'worker' && !moved) {
      // The worker holds this transfer's hash and is gone (or cannot take this channel).
      closeQuietly(channel);
      this.fail('read_failed', true, 'the file worker is not running');
      return;
    }
    if (moved) {
      this.watchWorker(moved);
      return;
    }
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = ctx.settings.lowWaterMark;
    const held = new HeldChannel(channel);
    let started = false;
    const start = (): void => {
      if (started || held.signal.aborted) {
        return;
      }
      started = true;
      void ctx.run('send', () => this.pump(held, offset));
    };
    held
      .on('open', start)
      .on('message', (event) => this.onChannelFrame(held, (event as MessageEvent).data))
      .on('close', () => this.onChannelClosed(held));
    this.held = held;
    if (channel.readyState === 'open') {
      queueMicrotask(start);
    }
  }

  /**
   * A text frame the receiver sent back on our channel: its ack, when its file worker stores the
   * bytes (file-worker.ts). It means what a file-ack means (every byte below it is stored), but
   * comes straight from the receiving worker, while the file-ack waits for the receiving page's
   * main thread; a sender paced by the file-ack alone got 1 MiB per round trip of a busy page (the
   * terminal peer into Chromium: ~53 ms per 256 KiB, bench/README.md §6). It only moves the
   * window and the progress; the final file-ack still ends the sending, as before.
   */
  private onChannelFrame(held: HeldChannel, data: unknown): void {
    this.ctx.guard('file channel ack', () => {
      const offset = parseChannelAck(data);
      if (offset === null || this.held !== held || !this.moving() || offset > this.sentUpTo()) {
        return;
      }
      if (this.flow.advance(offset)) {
        this.meter.add(this.ctx.now(), offset);
        this.ctx.dirty();
      }
    });
  }

  private onChannelClosed(held: HeldChannel): void {
    this.ctx.guard('file channel close', () => {
      if (this.held !== held) {
        return;
      }
      this.dropChannel();
      // Wait for the receiver's file-resume: only it knows what it stored.
      if (this.flow.acked < this.size) {
        this.apply({ type: 'break' });
      }
    });
  }

  /**
   * The first channel decides where this transfer is sent from: the file worker if the channel
   * can move there (and is then sent from entirely there), else this page. Null: stays here.
   */
  private moveToWorker(channel: RTCDataChannel, offset: number): WorkerChannel | null {
    const worker = this.sendsFrom === 'page' ? null : this.ctx.fileWorker();
    const blob = this.blob;
    const moved =
      worker && blob && this.size > 0
        ? worker.send(channel, {
            tid: this.id,
            blob,
            from: offset,
            acked: this.flow.acked,
            settings: {
              chunkSize: chunkSizeFor(this.ctx.settings.chunkSize, this.ctx.channels, this.ctx.log),
              highWaterMark: this.ctx.settings.highWaterMark,
              lowWaterMark: this.ctx.settings.lowWaterMark,
              maxUnackedBytes: this.ctx.settings.maxUnackedBytes,
              sliceBytes: FILE_TRANSFER_DEFAULTS.sliceBytes,
              readAheadSlices: FILE_TRANSFER_DEFAULTS.readAheadSlices,
            },
          })
        : null;
    if (this.sendsFrom === 'undecided') {
      this.sendsFrom = moved ? 'worker' : 'page';
      if (moved) {
        worker?.onSendFailure(this.id, (why) => this.fail('read_failed', true, why));
      }
    }
    return moved;
  }

  /** A channel the worker sends on: its progress, its end and its close come from there. */
  private watchWorker(channel: WorkerChannel): void {
    const { ctx } = this;
    const held = new HeldChannel(channel);
    held
      // What the worker may have sent, as soon as it says so: a resume request is checked against
      // it even after this channel is gone (a stale figure would clamp the resume below what the
      // receiver holds, and its channel would be refused, again and again).
      .on('sending', (event) => {
        this.maxSent = Math.max(this.maxSent, (event as CustomEvent<number>).detail);
      })
      .on('send-end', (event) => {
        ctx.guard('worker send end', () => {
          if (this.held !== held) {
            return;
          }
          this.maxSent = Math.max(this.maxSent, channel.sendingUpTo);
          const { end, message } = (event as SendEndEvent).detail;
          if (end === 'sent') {
            void ctx.run('file end', () => this.finishSending());
          } else if (end === 'read_failed') {
            this.fail('read_failed', true, message);
          } else {
            ctx.log('file channel send failed', message);
            this.dropChannel();
            this.apply({ type: 'break' });
          }
        });
      })
      .on('close', () => this.onChannelClosed(held));
    this.held = held;
  }

  /** Send from `from` on `held` until the end or until the channel is dropped (see send-loop.ts). */
  private async pump(held: HeldChannel, from: number): Promise<void> {
    const reader = this.reader;
    if (!reader) {
      return;
    }
    const result = await runSendLoop({
      channel: held.channel,
      signal: held.signal,
      reader,
      flow: this.flow,
      transferId: this.id,
      from,
      size: this.size,
      chunkSize: chunkSizeFor(this.ctx.settings.chunkSize, this.ctx.channels, this.ctx.log),
      onSent: (offset) => {
        if (offset > this.maxSent) {
          this.maxSent = offset;
        }
      },
    });
    switch (result.end) {
      case 'stopped':
        return;
      case 'read_failed':
        this.fail('read_failed', true, result.error);
        return;
      case 'send_failed':
        // Drop this channel: the receiver will ask for the rest.
        this.ctx.log('file channel send failed', result.error);
        this.dropChannel();
        this.apply({ type: 'break' });
        return;
      case 'sent':
        await this.finishSending();
    }
  }

  /** The file's SHA-256, once every byte was read and hashed (here or in the worker). */
  private async digest(): Promise<string | null> {
    if (this.sendsFrom === 'worker') {
      const worker = this.ctx.fileWorker();
      if (!worker) {
        throw new Error('the file worker is not running');
      }
      return worker.digest(this.id);
    }
    const { reader, hash } = this;
    if (!reader || !hash) {
      return null;
    }
    while (hash.upTo < this.size && this.active()) {
      await reader.readAt(hash.upTo);
    }
    return this.active() ? hash.hasher.digest() : null;
  }

  /** After the last byte: make sure every byte was hashed, then send the hash (once). */
  private finishSending(): Promise<void> {
    this.ending ??= (async () => {
      let sha256: string;
      try {
        const digest = await this.digest();
        if (digest === null) {
          return;
        }
        sha256 = digest;
      } catch (error) {
        this.fail('read_failed', true, error);
        return;
      }
      if (!this.active()) {
        return;
      }
      this.sha256 = sha256;
      this.ctx.link.send({ kind: 'file-end', transferId: this.id, sha256 });
      this.ctx.changed();
    })();
    return this.ending;
  }
}
