import type { BodyOf, FileChannelHeader } from '@duet/protocol';
import { binaryFrameBytes, type ChannelOwner, type HeldChannel } from './file-channel.js';
import { ImageSniffer, sanitizeFileName } from './file-names.js';
import { DOWNLOAD_MIME, MemorySink } from './sinks.js';
import { Transfer, type TransferContext } from './transfer.js';
import type { FileChannelLike, FileSink, Hasher } from './transfer-types.js';
import { FILE_TRANSFER_DEFAULTS } from './tuning.js';
import { WorkerChannel, WorkerStore, type StoredEvent } from './worker-channels.js';

/*
 * The receiving side of one transfer.
 *
 *   file-offer ──▶ offered; the user accepts (into a sink) or declines
 *   a channel whose header starts exactly at `received` ──▶ bytes stored and hashed in order;
 *       file-ack every 256 KiB stored, or 250 ms after the last one (only the latter when the
 *       file worker acks on the channel and the sender's header says it is paced by those)
 *   file-end {sha256} ──▶ kept until every byte is stored, then compared: file-result {ok}
 *   the channel breaks, the connection comes back, or nothing arrives for too long ──▶
 *       file-resume {received} (once every received byte is stored, so the offset is exact)
 *
 * Why the receiver drives resumes: only it knows what it stored. Why it keeps `received` apart
 * from `stored`: bytes are counted as they arrive (the size limit is enforced at once) but written
 * through an async sink; an ack or a resume speaks only of what the sink holds.
 */

export class IncomingTransfer extends Transfer implements ChannelOwner {
  readonly direction = 'receive' as const;
  private sink: FileSink | null = null;
  private hasher: Hasher | null = null;
  /** Bytes taken from channels, in order (some may still be on their way into the sink). */
  private received = 0;
  /** Bytes written to the sink and hashed. */
  private stored = 0;
  private lastAck = 0;
  /**
   * The sender is paced by our file worker's acks on the channel (its header says `channelAcks`
   * and the worker stores this channel's bytes): the file-ack then only carries progress and the
   * end, so it goes at most every `ackDelayMs` instead of every 256 KiB. Each file-ack is a send on
   * the control channel from this main thread (1–6 ms in Chromium while data pours in) and a parse
   * and an envelope ack on the sender's: ~800 of each per 200 MiB, competing with the network
   * thread on a small machine.
   */
  private pacedByChannel = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private writes: Promise<void> = Promise.resolve();
  private readonly sniffer = new ImageSniffer();
  private expectedSha256: string | null = null;
  private verifying = false;
  /** Bytes delivered by the current channel. */
  private channelBytes = 0;
  private emptyChannelsAfterEnd = 0;
  private resumeTimer: ReturnType<typeof setTimeout> | undefined;
  private lastResumeAt = -Infinity;
  /** When a byte or a channel last arrived; checked by the stall watchdog. */
  private lastProgressAt = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private file: Blob | null = null;
  private image: Blob | null = null;

  constructor(ctx: TransferContext, offer: BodyOf<'file-offer'>) {
    const { transferId: id, size, mime } = offer;
    super(
      ctx,
      { id, name: sanitizeFileName(offer.name), size, mime, photo: offer.photo === true },
      'offered',
    );
  }

  protected get bytes(): number {
    return this.stored;
  }

  protected override result(): { file: Blob | null; image: Blob | null } {
    return { file: this.file, image: this.image };
  }

  /** Take the file into `sink` (default: the engine's). Without a disk sink, a large file fails. */
  async accept(sink?: FileSink): Promise<void> {
    const { ctx } = this;
    let target: FileSink;
    const worker = sink === undefined && ctx.storeInWorker ? ctx.fileWorker() : null;
    try {
      target =
        sink ??
        worker?.store(this.id, this.size) ??
        ctx.createSink({ name: this.name, size: this.size, mime: this.mime });
    } catch (error) {
      this.fail('storage_failed', true, error);
      return;
    }
    const inMemory = target instanceof MemorySink || target instanceof WorkerStore;
    if (inMemory && this.size > ctx.settings.maxInMemoryBytes) {
      this.fail('too_large', true);
      await target.abort();
      return;
    }
    this.sink = target;
    if (target instanceof WorkerStore) {
      // The worker hashes what it stores: the store is the hasher too.
      target.whenFailed((error, why) => this.fail(error, true, why));
      this.hasher = target;
    } else {
      this.hasher = ctx.createHasher();
    }
    this.apply({ type: 'accept', by: 'self' });
    // An empty file is complete at once; it still waits for the sender's hash.
    if (this.size === 0) {
      this.complete();
      return;
    }
    this.lastProgressAt = ctx.now();
    const check = (): void => ctx.guard('watchdog', () => this.checkStall());
    this.watchdog = setInterval(check, ctx.settings.stallTimeoutMs / 4);
  }

  decline(): void {
    this.apply({ type: 'decline', by: 'self' });
  }

  /**
   * A channel whose header names this transfer and starts at `offset`: take it if that is exactly
   * where our bytes end. Otherwise it is from a stale request (or a confused sender): if we have no
   * channel, say where we are.
   */
  adopt(held: HeldChannel, header: FileChannelHeader): boolean {
    const { offset } = header;
    if (!this.moving()) {
      return false;
    }
    if (offset !== this.received) {
      if (!this.held) {
        this.scheduleResume(false);
      }
      return false;
    }
    this.dropChannel();
    clearTimeout(this.resumeTimer);
    this.ctx.log(`transfer ${this.id}: receiving from ${this.received}`);
    const { channel } = held;
    this.pacedByChannel =
      header.channelAcks === true && channel instanceof WorkerChannel && this.sink instanceof WorkerStore;
    if (channel instanceof WorkerChannel) {
      if (this.sink instanceof WorkerStore) {
        // Its bytes stay in the worker, which tells us what it stored.
        channel.storeInto(this.id, this.size, this.received, this.pacedByChannel);
        held.on('stored', (event) =>
          this.ctx.guard('stored', () => this.onStored((event as StoredEvent).detail)),
        );
      } else {
        channel.relay();
      }
    }
    this.held = held;
    this.channelBytes = 0;
    this.lastProgressAt = this.ctx.now();
    this.apply({ type: 'resume' });
    return true;
  }

  holds(channel: FileChannelLike): boolean {
    return this.held?.channel === channel;
  }

  onFrame(data: unknown): void {
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      // binaryType was not honoured: convert in order, inside the write queue.
      if (this.take(data.size)) {
        const converted = data.arrayBuffer().then((buffer) => new Uint8Array(buffer));
        converted.catch(() => undefined); // the write queue reports it, in its turn
        this.store(converted);
      }
      return;
    }
    const bytes = binaryFrameBytes(data);
    if (!bytes) {
      this.ctx.counters.ignoredFrames++;
    } else if (bytes.byteLength > 0 && this.take(bytes.byteLength)) {
      this.store(bytes);
    }
  }

  /** The adopted channel closed under us. */
  onBreak(): void {
    const delivered = this.channelBytes;
    this.dropChannel();
    if (this.received >= this.size || !this.moving()) {
      return;
    }
    if (this.expectedSha256 !== null && delivered === 0) {
      // The sender says it sent everything, yet its channels end without bytes.
      if (++this.emptyChannelsAfterEnd >= FILE_TRANSFER_DEFAULTS.maxEmptyChannelsAfterEnd) {
        this.fail('peer_failed', true);
        return;
      }
    } else if (delivered > 0) {
      this.emptyChannelsAfterEnd = 0;
    }
    this.apply({ type: 'break' });
    this.scheduleResume(false);
  }

  /** The sender's hash. False when it does not apply (the caller counts it). */
  onEnd(sha256: string): boolean {
    if (!(this.moving() || this.state === 'verifying') || this.expectedSha256) {
      return false;
    }
    // Bytes may still be on their way on the data channel: wait for them.
    this.expectedSha256 = sha256;
    this.verifyIfReady();
    return true;
  }

  /**
   * The data path is back. Channels from before may be dead without knowing it (a replaced
   * connection): ask for everything from what is stored, on a fresh channel. The sender's
   * in-flight bytes are bounded, so this costs at most those.
   */
  onReconnected(): void {
    if (this.received >= this.size) {
      return;
    }
    this.dropChannel();
    this.apply({ type: 'break' });
    this.scheduleResume(true);
  }

  protected release(): void {
    clearTimeout(this.resumeTimer);
    clearTimeout(this.ackTimer);
    clearInterval(this.watchdog);
    const sink = this.sink;
    this.sink = null;
    this.hasher = null;
    if (sink) {
      sink.abort().catch((error: unknown) => this.ctx.log('sink abort failed', error));
    }
  }

  /** Count `length` more bytes in, refusing any beyond the declared size. */
  private take(length: number): boolean {
    if (this.received + length > this.size) {
      this.fail('size_exceeded', true);
      return false;
    }
    this.received += length;
    this.channelBytes += length;
    this.lastProgressAt = this.ctx.now();
    return true;
  }

  /** Write, then hash, strictly in arrival order. */
  private store(chunk: Uint8Array | Promise<Uint8Array>): void {
    this.writes = this.writes
      .then(async () => {
        const bytes = await chunk;
        const { sink, hasher } = this;
        if (!sink || !hasher || !this.active()) {
          return;
        }
        await sink.write(bytes);
        await hasher.update(bytes);
        this.sniffer.add(bytes);
        this.stored += bytes.byteLength;
        this.afterStored();
      })
      .catch((error: unknown) => {
        if (this.active()) {
          this.fail('storage_failed', true, error);
        }
      });
  }

  /**
   * The worker stored bytes of a moved channel: `total` in all. It counted them against the size
   * and hashed them; here they are only counted (received and stored at once: nothing is on its
   * way), acked and shown.
   */
  private onStored(total: number): void {
    const added = total - this.stored;
    if (!this.moving() || added <= 0) {
      return;
    }
    this.received = total;
    this.stored = total;
    this.channelBytes += added;
    this.lastProgressAt = this.ctx.now();
    this.afterStored();
  }

  /** Bytes were stored: ack them (every 256 KiB, or soon), finish at the last one, show progress. */
  private afterStored(): void {
    this.meter.add(this.ctx.now(), this.stored);
    if (this.stored >= this.size) {
      this.complete();
    } else if (
      !this.pacedByChannel &&
      this.stored - this.lastAck >= FILE_TRANSFER_DEFAULTS.ackIntervalBytes
    ) {
      this.sendAck();
    } else {
      this.ackTimer ??= setTimeout(() => this.sendAck(), FILE_TRANSFER_DEFAULTS.ackDelayMs);
    }
    this.ctx.dirty();
  }

  private sendAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (!this.active() || this.stored <= this.lastAck) {
      return;
    }
    this.lastAck = this.stored;
    const body = { kind: 'file-ack', transferId: this.id, offset: this.stored } as const;
    this.ctx.guard('ack', () => this.ctx.link.send(body));
  }

  private complete(): void {
    // The final ack, even for an empty file: it tells the sender to close the channel.
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.lastAck = this.stored;
    this.ctx.link.send({ kind: 'file-ack', transferId: this.id, offset: this.stored });
    this.apply({ type: 'complete' });
    this.verifyIfReady();
  }

  private verifyIfReady(): void {
    if (this.state !== 'verifying' || this.expectedSha256 === null || this.verifying) {
      return;
    }
    this.verifying = true;
    void this.ctx.run('verify', () => this.verify());
  }

  private async verify(): Promise<void> {
    await this.writes;
    const { sink, hasher } = this;
    if (!sink || !hasher || !this.active()) {
      return;
    }
    let file: Blob | null;
    let sha256: string;
    try {
      sha256 = await hasher.digest();
      if (!this.active()) {
        return;
      }
      if (sha256 !== this.expectedSha256) {
        this.ctx.link.send({ kind: 'file-result', transferId: this.id, ok: false });
        this.fail('hash_mismatch', false);
        return;
      }
      this.sink = null; // closing, not to be aborted
      file = await sink.close();
    } catch (error) {
      this.fail('storage_failed', true, error);
      return;
    }
    if (!this.active()) {
      return;
    }
    if (file && file.type !== DOWNLOAD_MIME) {
      file = file.slice(0, file.size, DOWNLOAD_MIME);
    }
    // The worker saw the first bytes of a file it stored; this thread saw them otherwise.
    const imageType = sink instanceof WorkerStore ? sink.imageType : this.sniffer.imageType();
    this.file = file;
    this.image = file && imageType ? file.slice(0, file.size, imageType) : null;
    this.sha256 = sha256;
    this.ctx.link.send({ kind: 'file-result', transferId: this.id, ok: true });
    this.apply({ type: 'verified' });
  }

  /**
   * Ask the sender for the rest, once every received byte is stored (so the offset is exact).
   * Rate-limited unless `now`: a channel closed by the sender while it switches to a newer one
   * must not trigger a request that makes it switch again.
   */
  private scheduleResume(now: boolean): void {
    const { ctx } = this;
    clearTimeout(this.resumeTimer);
    const wait = now
      ? 0
      : Math.max(0, this.lastResumeAt + FILE_TRANSFER_DEFAULTS.resumeIntervalMs - ctx.now());
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      void ctx.run('resume', async () => {
        await this.writes;
        if (this.sink instanceof WorkerStore && !this.held && this.moving()) {
          // The worker may hold bytes it has not reported yet: resume from what it really has, or
          // the sender would send them again (beyond the 1 MiB a resume may cost).
          this.onStored(await this.sink.storedNow());
        }
        if (!this.moving() || this.held || this.received >= this.size) {
          return;
        }
        this.lastResumeAt = ctx.now();
        ctx.log(`transfer ${this.id}: asking to resume from ${this.received}`);
        ctx.link.send({ kind: 'file-resume', transferId: this.id, offset: this.received });
      });
    }, wait);
  }

  /** Nothing arrived for too long although bytes are missing: start over from what is stored. */
  private checkStall(): void {
    const { ctx } = this;
    if (!this.moving() || this.received >= this.size) {
      return;
    }
    if (ctx.now() - this.lastProgressAt < ctx.settings.stallTimeoutMs) {
      return;
    }
    ctx.log(`transfer ${this.id} stalled at ${this.received}; asking to resume`);
    this.lastProgressAt = ctx.now();
    this.dropChannel();
    this.apply({ type: 'break' });
    this.scheduleResume(false);
  }
}
