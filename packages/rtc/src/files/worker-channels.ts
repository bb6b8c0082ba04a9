import { FILE_CHANNEL_LABEL } from '@duet/protocol';
import type { ImageMime } from './file-names.js';
import type {
  FileChannelSends,
  FromFileWorker,
  ToFileWorker,
  WorkerSendSettings,
} from './file-worker-messages.js';
import type { FileChannelLike, FileSink, Hasher, TransferError } from './transfer-types.js';

/*
 * The page's side of the file worker (file-worker.ts has the protocol and the why). It moves file
 * channels into the worker where the browser allows (Chromium: in the task that made them; the
 * attempt fails harmlessly elsewhere) and stands in for them on the page: a WorkerChannel is what
 * the engine holds instead of the RTCDataChannel, with the same events for open, close and the
 * header, plus the worker's progress. A received file's bytes and hash live in the worker either
 * way (WorkerStore), so a browser whose channels cannot move still folds and hashes off the page.
 *
 * The worker is used only once it said it is ready: a message posted to a worker that never
 * starts would take a channel with it.
 */

/** A dedicated worker running `serveFileWorker`, or anything that talks like one. */
export interface FileWorkerLike {
  postMessage(message: ToFileWorker, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate?(): void;
}

type Status = 'idle' | 'starting' | 'ready' | 'failed';

/** Fired by a WorkerChannel: the worker stored bytes of its transfer (detail: the total). */
export type StoredEvent = CustomEvent<number>;
/** Fired by a WorkerChannel whose send loop ended (detail: how). */
export type SendEndEvent = CustomEvent<{ end: 'sent' | 'read_failed' | 'send_failed'; message: string }>;

/** A file channel that lives in the worker, as the engine on the page sees it. */
export class WorkerChannel extends EventTarget implements FileChannelLike {
  readonly label = FILE_CHANNEL_LABEL;
  readyState: RTCDataChannelState = 'connecting';
  readonly bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType: BinaryType = 'arraybuffer';
  /** The furthest byte the worker may have sent on this channel (announced ahead). */
  sendingUpTo = 0;

  constructor(
    private readonly worker: FileWorker,
    readonly cid: number,
  ) {
    super();
  }

  /** The worker sends; the page never does on a moved channel. */
  send(): void {
    throw new Error('this file channel is sent on by the file worker');
  }

  close(): void {
    if (this.readyState === 'closed') {
      return;
    }
    this.readyState = 'closed';
    this.worker.forget(this.cid);
    this.worker.post({ op: 'close', cid: this.cid });
  }

  /**
   * Its bytes go into the worker's store for `tid`, which holds `from` bytes now. `quiet`: the page
   * wants progress only every ~100 ms (the channel's acks pace the sender, see file-worker.ts).
   */
  storeInto(tid: string, size: number, from: number, quiet: boolean): void {
    this.worker.post({ op: 'store', cid: this.cid, tid, size, from, quiet });
  }

  /** Its bytes come to the page as `message` events, as a channel's would. */
  relay(): void {
    this.worker.post({ op: 'relay', cid: this.cid });
  }

  /** The worker's news about this channel, as events. */
  deliver(message: FromFileWorker): void {
    switch (message.op) {
      case 'open':
        if (this.readyState === 'connecting') {
          this.readyState = 'open';
          this.dispatchEvent(new Event('open'));
        }
        return;
      case 'closed':
        if (this.readyState !== 'closed') {
          this.readyState = 'closed';
          this.dispatchEvent(new Event('close'));
        }
        return;
      case 'header':
        // Not text: an empty binary frame, which no header check accepts.
        this.dispatchEvent(new MessageEvent('message', { data: message.text ?? new ArrayBuffer(0) }));
        return;
      case 'frame':
        this.dispatchEvent(new MessageEvent('message', { data: message.data }));
        return;
      case 'stored':
        this.dispatchEvent(new CustomEvent('stored', { detail: message.stored }));
        return;
      case 'sending':
        this.sendingUpTo = Math.max(this.sendingUpTo, message.upTo);
        this.dispatchEvent(new CustomEvent('sending', { detail: this.sendingUpTo }));
        return;
      case 'send-end':
        this.dispatchEvent(
          new CustomEvent('send-end', { detail: { end: message.end, message: message.message } }),
        );
        return;
      default:
        return;
    }
  }
}

/**
 * A received file's bytes and hash, kept in the worker: the sink and the hasher of an incoming
 * transfer at once. Bytes the page received itself (`write`) are posted over; bytes of a moved
 * channel never come here. `digest` asks the worker to finish: its answer carries the file too.
 */
export class WorkerStore implements FileSink, Hasher {
  /** The received file's image type, from its first bytes (known once finished). */
  imageType: ImageMime | null = null;
  private finished: Promise<{ sha256: string; file: Blob }> | null = null;
  private onFailed: ((error: TransferError, message: string) => void) | null = null;

  constructor(
    private readonly worker: FileWorker,
    readonly tid: string,
    readonly size: number,
  ) {}

  /** Called when the worker gives up on this file (more bytes than declared, a failed store). */
  whenFailed(listener: (error: TransferError, message: string) => void): void {
    this.onFailed = listener;
  }

  failed(error: TransferError, message: string): void {
    this.onFailed?.(error, message);
  }

  write(chunk: Uint8Array): Promise<void> {
    const bytes = chunk.slice().buffer; // ours to move; the caller may keep its view
    this.worker.post({ op: 'write', tid: this.tid, size: this.size, bytes }, [bytes]);
    return Promise.resolve();
  }

  /** The worker hashes what it stores: nothing to do here. */
  update(): void {}

  /** What the worker holds now (every message posted before this is handled first). */
  storedNow(): Promise<number> {
    return this.worker.where(this.tid);
  }

  async digest(): Promise<string> {
    return (await this.finish()).sha256;
  }

  async close(): Promise<Blob | null> {
    return (await this.finish()).file;
  }

  abort(): Promise<void> {
    this.worker.dropStore(this.tid);
    return Promise.resolve();
  }

  private finish(): Promise<{ sha256: string; file: Blob }> {
    this.finished ??= this.worker.finish(this.tid).then(({ sha256, file, imageType }) => {
      this.imageType = imageType;
      return { sha256, file };
    });
    return this.finished;
  }
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/**
 * The page's handle on the file worker: started at once (so it is ready by the first transfer),
 * used only once ready, given up for good if it fails to start or dies.
 */
export class FileWorker {
  private status: Status = 'idle';
  private worker: FileWorkerLike | null = null;
  private nextCid = 1;
  /** Once a channel failed to move, this browser cannot: stop trying. */
  private canMove = true;
  private readonly channels = new Map<number, WorkerChannel>();
  private readonly stores = new Map<string, WorkerStore>();
  private readonly finishes = new Map<
    string,
    Waiter<{ sha256: string; file: Blob; imageType: ImageMime | null }>
  >();
  private readonly digests = new Map<string, Waiter<string>>();
  private readonly wheres = new Map<string, Waiter<number>>();
  private readonly sendCounts = new Map<string, Waiter<FileChannelSends>>();
  private readonly sendFailures = new Map<string, (message: string) => void>();

  constructor(
    private readonly createWorker: () => FileWorkerLike,
    private readonly log: (message: string, detail?: unknown) => void = () => {},
  ) {}

  get ready(): boolean {
    return this.status === 'ready';
  }

  start(): void {
    if (this.status !== 'idle') {
      return;
    }
    this.status = 'starting';
    try {
      this.worker = this.createWorker();
    } catch (error) {
      this.die('could not create the file worker', error);
      return;
    }
    this.worker.addEventListener('message', (event) => this.onMessage(event.data as FromFileWorker));
    this.worker.addEventListener('error', (event) => this.die('the file worker failed', event));
    this.worker.addEventListener('messageerror', (event) =>
      this.die('the file worker sent a bad message', event),
    );
  }

  /** Move a channel the peer opened into the worker; null where it cannot go (it stays here). */
  receive(channel: RTCDataChannel): WorkerChannel | null {
    return this.move(channel, (cid) => ({ op: 'receive', cid, channel }));
  }

  /** Move a channel we opened into the worker, which sends `blob` from `from` once it is open. */
  send(
    channel: RTCDataChannel,
    job: { tid: string; blob: Blob; from: number; acked: number; settings: WorkerSendSettings },
  ): WorkerChannel | null {
    return this.move(channel, (cid) => ({ op: 'send', cid, channel, ...job }));
  }

  /** Where an incoming file's bytes and hash go. */
  store(tid: string, size: number): WorkerStore {
    const store = new WorkerStore(this, tid, size);
    this.stores.set(tid, store);
    return store;
  }

  ack(tid: string, offset: number): void {
    this.post({ op: 'ack', tid, offset });
  }

  /** The SHA-256 of a sent file, once the worker hashed every byte of it. */
  digest(tid: string): Promise<string> {
    return this.wait(this.digests, tid, { op: 'digest', tid });
  }

  where(tid: string): Promise<number> {
    return this.wait(this.wheres, tid, { op: 'where', tid });
  }

  /** For tests and diagnostics: what the worker wrote to file channels so far. */
  sends(): Promise<FileChannelSends> {
    return this.wait(this.sendCounts, '', { op: 'sends' });
  }

  finish(tid: string): Promise<{ sha256: string; file: Blob; imageType: ImageMime | null }> {
    return this.wait(this.finishes, tid, { op: 'finish', tid });
  }

  /** A sent transfer failed to read in the worker: `listener` hears it. */
  onSendFailure(tid: string, listener: (message: string) => void): void {
    this.sendFailures.set(tid, listener);
  }

  /** Forget a transfer in the worker (either direction). */
  discard(tid: string): void {
    this.sendFailures.delete(tid);
    this.post({ op: 'discard', tid });
  }

  dropStore(tid: string): void {
    this.stores.delete(tid);
    this.discard(tid);
  }

  forget(cid: number): void {
    this.channels.delete(cid);
  }

  post(message: ToFileWorker, transfer: Transferable[] = []): void {
    if (this.status === 'ready' && this.worker) {
      this.worker.postMessage(message, transfer);
    }
  }

  private move(channel: RTCDataChannel, message: (cid: number) => ToFileWorker): WorkerChannel | null {
    if (!this.ready || !this.canMove || !this.worker) {
      return null;
    }
    const cid = this.nextCid++;
    try {
      this.worker.postMessage(message(cid), [channel]);
    } catch (error) {
      // DataCloneError: this browser cannot move data channels (the channel is untouched).
      this.canMove = false;
      this.log('file channels stay on the page (they cannot move to a worker here)', error);
      return null;
    }
    const moved = new WorkerChannel(this, cid);
    this.channels.set(cid, moved);
    return moved;
  }

  private wait<T>(waiters: Map<string, Waiter<T>>, tid: string, message: ToFileWorker): Promise<T> {
    if (!this.ready) {
      return Promise.reject(new Error('the file worker is not running'));
    }
    return new Promise<T>((resolve, reject) => {
      waiters.get(tid)?.reject(new Error('asked again'));
      waiters.set(tid, { resolve, reject });
      this.post(message);
    });
  }

  private onMessage(message: FromFileWorker): void {
    switch (message.op) {
      case 'ready':
        this.status = 'ready';
        return;
      case 'finished':
        this.stores.delete(message.tid);
        this.settle(this.finishes, message.tid, {
          sha256: message.sha256,
          file: message.file,
          imageType: message.imageType,
        });
        return;
      case 'digest':
        this.settle(this.digests, message.tid, message.sha256);
        return;
      case 'at':
        this.settle(this.wheres, message.tid, message.stored);
        return;
      case 'sends':
        this.settle(this.sendCounts, '', message.sends);
        return;
      case 'failed': {
        const error = new Error(`${message.error}: ${message.message}`);
        this.finishes.get(message.tid)?.reject(error);
        this.finishes.delete(message.tid);
        this.digests.get(message.tid)?.reject(error);
        this.digests.delete(message.tid);
        this.stores.get(message.tid)?.failed(message.error, message.message);
        this.stores.delete(message.tid);
        this.sendFailures.get(message.tid)?.(message.message);
        return;
      }
      default: {
        const channel = this.channels.get(message.cid);
        if (message.op === 'closed') {
          this.channels.delete(message.cid);
        }
        channel?.deliver(message);
      }
    }
  }

  private settle<T>(waiters: Map<string, Waiter<T>>, tid: string, value: T): void {
    waiters.get(tid)?.resolve(value);
    waiters.delete(tid);
  }

  private die(reason: string, cause: unknown): void {
    if (this.status === 'failed') {
      return;
    }
    this.log(reason, cause);
    this.status = 'failed';
    this.worker?.terminate?.();
    this.worker = null;
    const error = new Error(reason);
    const all = [this.finishes, this.digests, this.wheres, this.sendCounts] as Array<
      Map<string, Waiter<never>>
    >;
    for (const waiters of all) {
      for (const waiter of waiters.values()) {
        waiter.reject(error);
      }
      waiters.clear();
    }
    for (const store of this.stores.values()) {
      store.failed('storage_failed', reason);
    }
    this.stores.clear();
    for (const channel of this.channels.values()) {
      channel.deliver({ op: 'closed', cid: channel.cid });
    }
    this.channels.clear();
  }
}
