import type { FileChannelAck } from '@duet/protocol';
import { parseChannelAck } from './file-channel.js';
import { ImageSniffer } from './file-names.js';
import type {
  FileChannelSends,
  FromFileWorker,
  ToFileWorker,
  WorkerSendSettings,
} from './file-worker-messages.js';
import { FlowControl } from './flow-control.js';
import { createFastSha256State, type Sha256State } from './fast-sha256.js';
import { HashedOnce } from './hashing.js';
import { channelHeader, runSendLoop } from './send-loop.js';
import { MemorySink } from './sinks.js';
import { SliceReader } from './slice-reader.js';
import { FILE_TRANSFER_DEFAULTS } from './tuning.js';

export type { FromFileWorker, ToFileWorker } from './file-worker-messages.js';

/*
 * The file worker: the bytes of a transfer, off the page's main thread. Chromium lets a data
 * channel move to a dedicated worker in the task that made it; the page moves each file channel
 * here (worker-channels.ts), and this worker runs what used to cost the page most of its time in a
 * fast transfer: the send loop (slices read, hashed and sent), and on the receiving side every
 * frame (counted, hashed, folded into a Blob), with the progress the page needs to ack and show.
 *
 *   page                                     worker
 *   send {channel, blob, from} ───────────▶  header, chunks paced by acks and water marks
 *   ack {offset} ─────────────────────────▶  the window moves
 *                              ◀───────────  sending {upTo} (announced ahead), send-end
 *   digest ───────────────────────────────▶  reads what was not hashed yet; ◀── digest {sha256}
 *
 *   receive {channel} ────────────────────▶  ◀── header {text} (the page checks it)
 *   store {tid, from} (or relay) ─────────▶  frames stored + hashed; ◀── stored {n} every 256 KiB
 *   finish ───────────────────────────────▶  ◀── finished {sha256, file (a Blob), imageType}
 *
 * What stays on the page: the protocol (offers, acks, resume requests, the verdict), the state
 * machine, the UI. A transfer's hash and bytes live here across its channels (a resume opens a new
 * channel and continues the same hash and Blob).
 */

/** The worker's end: `self` in a dedicated worker. */
export interface FileWorkerScope {
  postMessage(message: FromFileWorker, options?: { transfer: Transferable[] }): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** A received transfer's bytes, hash and first bytes (for the image check). */
interface Store {
  readonly tid: string;
  readonly size: number;
  readonly sink: MemorySink;
  readonly hash: Sha256State;
  readonly sniffer: ImageSniffer;
  stored: number;
  /** What the page was last told. */
  reported: number;
  /** What the sender was last told on the channel. */
  acked: number;
  /** The page wants `stored` only for its progress (see ToFileWorker 'store'). */
  quiet: boolean;
  reportTimer: ReturnType<typeof setTimeout> | undefined;
  /** The channel whose bytes were stored last (progress names it). */
  cid: number;
}

/** A sent transfer's reader and hash, which outlive its channels. */
interface Sender {
  readonly reader: SliceReader;
  readonly hashed: HashedOnce;
  readonly flow: FlowControl;
  readonly size: number;
  maxSent: number;
}

interface Channel {
  readonly channel: RTCDataChannel;
  readonly tid: string | null;
  /** Receiving: until the page decides, the frames after the header wait here. */
  mode: 'header' | 'pending' | 'store' | 'relay' | 'send';
  held: Array<ArrayBuffer | string>;
  heldBytes: number;
  store: Store | null;
  /** Bytes at the start of this channel that the store already holds (see `store`). */
  skip: number;
  readonly controller: AbortController;
  readonly undo: Array<() => void>;
}

/** Frames a channel may deliver before the page says where they go: the sender's window and more. */
const MAX_HELD_BYTES = 8 * 1024 * 1024;
/**
 * The sender is acked on the channel, and the page told, at least every this many bytes and this
 * long after the last report; a quiet page (its sender paced by the channel's acks) only every
 * `QUIET_REPORT_MS`: each report is a task on the page's main thread (~800 per 200 MiB otherwise),
 * and that page only shows progress (at most every 100 ms) and acks for it (at most every 250 ms).
 */
const REPORT_BYTES = FILE_TRANSFER_DEFAULTS.ackIntervalBytes;
const REPORT_DELAY_MS = 50;
const QUIET_REPORT_MS = FILE_TRANSFER_DEFAULTS.progressIntervalMs;
/** How far ahead of the bytes the sender announces what it may send (see `sending`). */
const ANNOUNCE_BYTES = 1024 * 1024;

export function serveFileWorker(scope: FileWorkerScope): void {
  const channels = new Map<number, Channel>();
  const stores = new Map<string, Store>();
  const senders = new Map<string, Sender>();
  /** What went out on file channels (header JSON, bytes): diagnostics, and how tests count re-sends. */
  const sends: FileChannelSends = { fileBytes: 0, headers: [] };
  const post = (message: FromFileWorker, transfer: Transferable[] = []): void =>
    scope.postMessage(message, { transfer });

  // WebAssembly hashers are made asynchronously; messages are handled strictly in arrival order.
  let queue = Promise.resolve();
  scope.addEventListener('message', (event) => {
    const message = event.data as ToFileWorker;
    // A moved channel is listened to at once: its frames may be on their way already, and a frame
    // that finds no listener is lost.
    if (message.op === 'receive') {
      adopt(message.cid, message.channel, null, 'header');
    } else if (message.op === 'send') {
      adopt(message.cid, message.channel, message.tid, 'send');
    }
    queue = queue.then(() => handle(message)).catch(() => undefined);
  });

  async function handle(message: ToFileWorker): Promise<void> {
    switch (message.op) {
      case 'receive':
        return;
      case 'store': {
        const entry = channels.get(message.cid);
        if (!entry) {
          return;
        }
        const store = await storeFor(message.tid, message.size);
        if (message.from > store.stored) {
          fail(message.tid, 'storage_failed', `channel starts at ${message.from}, ${store.stored} stored`);
          return;
        }
        // The page may be behind us: it asked to resume before our last progress reached it (it
        // dropped the channel in the meantime). The sender starts where the page said; we skip
        // what we already have, and tell the page at once where we really are.
        entry.skip = store.stored - message.from;
        store.cid = message.cid;
        store.quiet = message.quiet;
        entry.store = store;
        entry.mode = 'store';
        // A new channel: its sender (reset to where the page said) hears from us afresh.
        store.acked = 0;
        if (store.stored > 0) {
          store.reported = 0;
          report(store);
        }
        for (const frame of entry.held.splice(0)) {
          take(entry, frame);
        }
        entry.heldBytes = 0;
        return;
      }
      case 'relay': {
        const entry = channels.get(message.cid);
        if (entry) {
          entry.mode = 'relay';
          for (const frame of entry.held.splice(0)) {
            relay(message.cid, frame);
          }
          entry.heldBytes = 0;
        }
        return;
      }
      case 'write': {
        const store = await storeFor(message.tid, message.size);
        storeBytes(store, new Uint8Array(message.bytes));
        return;
      }
      case 'where':
        post({ op: 'at', tid: message.tid, stored: stores.get(message.tid)?.stored ?? 0 });
        return;
      case 'finish': {
        const store = stores.get(message.tid);
        if (!store) {
          fail(message.tid, 'storage_failed', 'nothing stored');
          return;
        }
        stores.delete(message.tid);
        clearTimeout(store.reportTimer);
        const file = (await store.sink.close()) ?? new Blob([]);
        post({
          op: 'finished',
          tid: message.tid,
          sha256: store.hash.digestHex(),
          file,
          imageType: store.sniffer.imageType(),
        });
        return;
      }
      case 'discard': {
        const store = stores.get(message.tid);
        if (store) {
          clearTimeout(store.reportTimer);
          void store.sink.abort();
          stores.delete(message.tid);
        }
        senders.get(message.tid)?.reader.close();
        senders.delete(message.tid);
        for (const [cid, entry] of channels) {
          if (entry.tid === message.tid || entry.store === store) {
            drop(cid);
          }
        }
        return;
      }
      case 'send':
        await send(message);
        return;
      case 'ack':
        onAck(message.tid, message.offset);
        return;
      case 'digest': {
        const sender = senders.get(message.tid);
        if (!sender) {
          fail(message.tid, 'read_failed', 'unknown transfer');
          return;
        }
        try {
          while (sender.hashed.upTo < sender.size) {
            await sender.reader.readAt(sender.hashed.upTo);
          }
          post({ op: 'digest', tid: message.tid, sha256: await sender.hashed.hasher.digest() });
        } catch (error) {
          fail(message.tid, 'read_failed', String(error));
        }
        return;
      }
      case 'close':
        drop(message.cid);
        return;
      case 'sends':
        post({ op: 'sends', sends: { fileBytes: sends.fileBytes, headers: [...sends.headers] } });
        return;
    }
  }

  function adopt(cid: number, channel: RTCDataChannel, tid: string | null, mode: Channel['mode']): Channel {
    channel.binaryType = 'arraybuffer';
    const entry: Channel = {
      channel,
      tid,
      mode,
      held: [],
      heldBytes: 0,
      store: null,
      skip: 0,
      controller: new AbortController(),
      undo: [],
    };
    const on = (type: 'open' | 'close' | 'message', listener: (event: Event) => void): void => {
      channel.addEventListener(type, listener);
      entry.undo.push(() => channel.removeEventListener(type, listener));
    };
    on('open', () => post({ op: 'open', cid }));
    on('close', () => {
      if (entry.store) {
        report(entry.store);
      }
      forget(cid);
      post({ op: 'closed', cid });
    });
    on('message', (event) => {
      const data = (event as MessageEvent<unknown>).data;
      onFrame(cid, entry, data);
    });
    channels.set(cid, entry);
    if (channel.readyState === 'open') {
      post({ op: 'open', cid });
    }
    return entry;
  }

  function onFrame(cid: number, entry: Channel, data: unknown): void {
    const frame = data instanceof ArrayBuffer || typeof data === 'string' ? data : null;
    switch (entry.mode) {
      case 'header':
        entry.mode = 'pending';
        post({ op: 'header', cid, text: typeof frame === 'string' ? frame : null });
        return;
      case 'pending':
        if (frame === null) {
          return;
        }
        entry.held.push(frame);
        entry.heldBytes += typeof frame === 'string' ? frame.length : frame.byteLength;
        if (entry.heldBytes > MAX_HELD_BYTES) {
          drop(cid); // a peer that pours bytes into a channel nobody took
          post({ op: 'closed', cid });
        }
        return;
      case 'relay':
        if (frame !== null) {
          relay(cid, frame);
        }
        return;
      case 'store':
        if (frame !== null && entry.store) {
          take(entry, frame);
        }
        return;
      case 'send':
        if (typeof frame === 'string' && entry.tid) {
          onChannelAck(entry.tid, frame);
        }
        return;
    }
  }

  /** The receiver's worker acked on the channel itself: the window moves without the pages. */
  function onChannelAck(tid: string, text: string): void {
    const ack = parseChannelAck(text);
    if (ack !== null) {
      onAck(tid, ack);
    }
  }

  function onAck(tid: string, offset: number): void {
    const sender = senders.get(tid);
    // Never past what was sent: a receiver cannot make us run ahead of what it stored.
    if (sender && offset <= sender.maxSent) {
      sender.flow.advance(offset);
    }
  }

  function relay(cid: number, frame: ArrayBuffer | string): void {
    post({ op: 'frame', cid, data: frame }, typeof frame === 'string' ? [] : [frame]);
  }

  function take(entry: Channel, frame: ArrayBuffer | string): void {
    // Text after the header is no file byte: ignored, as the page's receiver does.
    if (typeof frame === 'string' || frame.byteLength === 0 || !entry.store) {
      return;
    }
    const skipped = Math.min(entry.skip, frame.byteLength);
    entry.skip -= skipped;
    if (skipped < frame.byteLength) {
      storeBytes(entry.store, new Uint8Array(frame, skipped));
    }
  }

  function storeBytes(store: Store, bytes: Uint8Array<ArrayBuffer>): void {
    const { tid } = store;
    if (store.stored + bytes.byteLength > store.size) {
      fail(tid, 'size_exceeded', `more than ${store.size} bytes`);
      return;
    }
    try {
      void store.sink.write(bytes);
      store.hash.update(bytes);
    } catch (error) {
      fail(tid, 'storage_failed', String(error));
      return;
    }
    store.sniffer.add(bytes);
    store.stored += bytes.byteLength;
    const due = store.stored - store.acked >= REPORT_BYTES;
    if (store.stored === store.size || (due && !store.quiet)) {
      report(store);
      return;
    }
    if (due) {
      ackOnChannel(store);
    }
    store.reportTimer ??= setTimeout(() => report(store), store.quiet ? QUIET_REPORT_MS : REPORT_DELAY_MS);
  }

  /** Tell the page and the sender what is stored. */
  function report(store: Store): void {
    clearTimeout(store.reportTimer);
    store.reportTimer = undefined;
    if (store.stored > store.reported) {
      store.reported = store.stored;
      post({ op: 'stored', cid: store.cid, tid: store.tid, stored: store.stored });
    }
    ackOnChannel(store);
  }

  /**
   * The news straight to the sender, on the channel: its window moves without waiting for both
   * pages (the page's file-ack on the control channel follows, for its progress). What it means is
   * what a file-ack means: these bytes are in this worker's store and hashed, where a resume starts
   * from, so a dropped connection still costs at most the sender's window.
   */
  function ackOnChannel(store: Store): void {
    if (store.stored <= store.acked) {
      return;
    }
    const entry = channels.get(store.cid);
    if (entry?.mode === 'store' && entry.channel.readyState === 'open') {
      store.acked = store.stored;
      const ack: FileChannelAck = { v: 1, ack: store.stored };
      try {
        entry.channel.send(JSON.stringify(ack));
      } catch {
        // Closing: the page's file-ack still goes out.
      }
    }
  }

  async function storeFor(tid: string, size: number): Promise<Store> {
    let store = stores.get(tid);
    if (!store) {
      store = {
        tid,
        size,
        sink: new MemorySink(),
        hash: await createFastSha256State(),
        sniffer: new ImageSniffer(),
        stored: 0,
        reported: 0,
        acked: 0,
        quiet: false,
        reportTimer: undefined,
        cid: -1,
      };
      stores.set(tid, store);
    }
    return store;
  }

  function fail(tid: string, error: 'size_exceeded' | 'storage_failed' | 'read_failed', why: string): void {
    const store = stores.get(tid);
    if (store) {
      clearTimeout(store.reportTimer);
      void store.sink.abort();
      stores.delete(tid);
    }
    for (const [cid, entry] of channels) {
      if (entry.tid === tid || (store && entry.store === store)) {
        drop(cid);
      }
    }
    post({ op: 'failed', tid, error, message: why });
  }

  async function send(message: Extract<ToFileWorker, { op: 'send' }>): Promise<void> {
    const { cid, channel, tid, settings } = message;
    const sender = await senderFor(tid, message.blob, settings);
    const entry = channels.get(cid);
    if (!entry) {
      return; // closed meanwhile
    }
    sender.flow.reset(message.acked);
    channel.bufferedAmountLowThreshold = settings.lowWaterMark;
    // A receiver can ask to resume from bytes it claims but never got: never past what we sent.
    const from = Math.min(message.from, sender.maxSent);
    let announced = from;
    let sentUpTo = from;
    const start = (): void => {
      sends.headers.push(JSON.stringify(channelHeader(tid, from)));
      void runSendLoop({
        channel,
        signal: entry.controller.signal,
        reader: sender.reader,
        flow: sender.flow,
        transferId: tid,
        from,
        size: sender.size,
        chunkSize: settings.chunkSize,
        onSent: (offset) => {
          sends.fileBytes += offset - sentUpTo;
          sentUpTo = offset;
          if (offset > sender.maxSent) {
            sender.maxSent = offset;
          }
          if (offset >= announced && offset < sender.size) {
            announced = Math.min(sender.size, offset + ANNOUNCE_BYTES);
            post({ op: 'sending', cid, tid, upTo: announced });
          }
        },
      }).then((result) => {
        if (result.end !== 'stopped') {
          const why = 'error' in result ? String(result.error) : '';
          post({ op: 'send-end', cid, tid, end: result.end, message: why });
        }
      });
    };
    // Announce the first stretch before any byte can be acked.
    announced = Math.min(sender.size, from + ANNOUNCE_BYTES);
    post({ op: 'sending', cid, tid, upTo: announced });
    if (channel.readyState === 'open') {
      start();
    } else {
      const onOpen = (): void => {
        channel.removeEventListener('open', onOpen);
        start();
      };
      channel.addEventListener('open', onOpen);
      entry.undo.push(() => channel.removeEventListener('open', onOpen));
    }
  }

  async function senderFor(tid: string, blob: Blob, settings: WorkerSendSettings): Promise<Sender> {
    let sender = senders.get(tid);
    if (!sender) {
      const state = await createFastSha256State();
      const hashed = new HashedOnce({
        update: (bytes) => state.update(bytes),
        digest: () => Promise.resolve(state.digestHex()),
      });
      sender = {
        reader: new SliceReader(blob, settings.sliceBytes, settings.readAheadSlices, (start, bytes) =>
          hashed.add(start, bytes),
        ),
        hashed,
        flow: new FlowControl(settings),
        size: blob.size,
        maxSent: 0,
      };
      senders.set(tid, sender);
    }
    return sender;
  }

  /** Listeners off, waits ended; the channel itself is left as it is. */
  function forget(cid: number): void {
    const entry = channels.get(cid);
    if (!entry) {
      return;
    }
    channels.delete(cid);
    for (const undo of entry.undo.splice(0)) {
      undo();
    }
    entry.controller.abort();
  }

  function drop(cid: number): void {
    const entry = channels.get(cid);
    forget(cid);
    try {
      if (entry && entry.channel.readyState !== 'closed') {
        entry.channel.close();
      }
    } catch {
      // Already gone with its connection.
    }
  }

  post({ op: 'ready' });
}
