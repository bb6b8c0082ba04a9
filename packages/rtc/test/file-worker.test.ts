import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FILE_TRANSFER_DEFAULTS,
  FileTransfers,
  type FileTransfersOptions,
} from '../src/files/file-transfers.js';
import { serveFileWorker, type FileWorkerScope, type FromFileWorker } from '../src/files/file-worker.js';
import type { ToFileWorker } from '../src/files/file-worker-messages.js';
import type { TransferState, TransferView } from '../src/files/transfer-types.js';
import { FileWorker, type FileWorkerLike } from '../src/files/worker-channels.js';
import { TestLink } from './support/link.js';
import { WrtcNet } from './support/wrtc-net.js';

/**
 * The file engine with its bytes in the file worker (worker-channels.ts on the page side,
 * file-worker.ts in the worker), over real data channels (libwebrtc via @roamhq/wrtc).
 *
 * What stands in for the thread boundary: messages are delivered in order, each in a microtask of
 * its own, and objects (a channel, a Blob) are handed over by reference instead of being moved.
 * That keeps what a real worker guarantees (order; a moved channel's frames reach the worker's
 * listeners, which are added before the next task) and tests everything on both sides of it: the
 * page's engine, the protocol between page and worker, and the worker's send loop and store.
 */

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = async (blob: Blob): Promise<Uint8Array> => new Uint8Array(await blob.arrayBuffer());
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) {
    cleanup();
  }
});

/** A file worker in this thread: `serveFileWorker` on one end, the page's FileWorker on the other. */
function inThreadWorker(options: { ready?: boolean } = {}): {
  worker: FileWorker;
  toWorker: ToFileWorker[];
  /** What the worker told the page. */
  fromWorker: FromFileWorker[];
  /** Text frames the worker sent on channels it received (its acks to the sender's worker). */
  textsSentBack: string[];
} {
  const toWorker: ToFileWorker[] = [];
  const fromWorker: FromFileWorker[] = [];
  const textsSentBack: string[] = [];
  const workerListeners: Array<(event: { data: unknown }) => void> = [];
  const pageListeners: Array<(event: MessageEvent) => void> = [];
  const scope: FileWorkerScope = {
    postMessage: (message: FromFileWorker) => {
      if (message.op === 'ready' && options.ready === false) {
        return; // a worker that never starts
      }
      fromWorker.push(message);
      queueMicrotask(() => pageListeners.forEach((l) => l({ data: message } as MessageEvent)));
    },
    addEventListener: (_type, listener) => void workerListeners.push(listener),
  };
  const like: FileWorkerLike = {
    postMessage: (message: ToFileWorker) => {
      toWorker.push(message);
      if (message.op === 'receive') {
        const { channel } = message;
        const send = channel.send.bind(channel) as (data: string | ArrayBufferView) => void;
        channel.send = ((data: string | ArrayBufferView) => {
          if (typeof data === 'string') {
            textsSentBack.push(data);
          }
          send(data);
        }) as RTCDataChannel['send'];
      }
      queueMicrotask(() => workerListeners.forEach((l) => l({ data: message })));
    },
    addEventListener: (type: string, listener: (event: MessageEvent) => void) => {
      if (type === 'message') {
        pageListeners.push(listener);
      }
    },
  };
  const worker = new FileWorker(() => {
    serveFileWorker(scope);
    return like;
  });
  worker.start();
  return { worker, toWorker, fromWorker, textsSentBack };
}

async function setup(sides: { alice?: Partial<FileTransfersOptions>; bob?: Partial<FileTransfersOptions> }) {
  const net = await WrtcNet.connect();
  const [aliceLink, bobLink] = TestLink.pair();
  const alice = new FileTransfers({ link: aliceLink, channels: net.alice, ...sides.alice });
  const bob = new FileTransfers({ link: bobLink, channels: net.bob, ...sides.bob });
  cleanups.push(() => {
    alice.dispose();
    bob.dispose();
    net.close();
  });
  await settle(0); // the workers say they are ready
  return { net, aliceLink, bobLink, alice, bob };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function inState(engine: FileTransfers, id: string, ...states: TransferState[]): Promise<TransferView> {
  const now = engine.transfers.find((v) => v.id === id);
  if (now && states.includes(now.state)) {
    return Promise.resolve(now);
  }
  return engine
    .waitFor('change', (views) => views.some((v) => v.id === id && states.includes(v.state)))
    .then((views) => views.find((v) => v.id === id)!);
}

async function transfer(ends: { alice: FileTransfers; bob: FileTransfers }, blob: Blob) {
  const id = ends.alice.send(blob, 'data.bin');
  await inState(ends.bob, id, 'offered');
  await ends.bob.accept(id);
  const [sent, received] = await Promise.all([
    inState(ends.alice, id, 'done', 'failed', 'cancelled'),
    inState(ends.bob, id, 'done', 'failed', 'cancelled'),
  ]);
  return { id, sent, received };
}

describe('FileTransfers with the file worker', () => {
  it('moves 12 MiB byte-identical with both channels in the workers, progress and acks on the pages', async () => {
    const aliceWorker = inThreadWorker();
    const bobWorker = inThreadWorker();
    const ends = await setup({
      alice: { fileWorker: aliceWorker.worker },
      bob: { fileWorker: bobWorker.worker },
    });
    const data = randomBytes(12 * MiB);
    const progress: number[] = [];
    ends.bob.on('change', (views) => progress.push(...views.map((v) => v.bytes)));

    const { id, sent, received } = await transfer(ends, new Blob([data]));

    expect(sent).toMatchObject({ state: 'done', bytes: data.length, sha256: sha256(data) });
    expect(received).toMatchObject({ state: 'done', bytes: data.length, sha256: sha256(data), error: null });
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    // Both channels went to the workers, and the sender's bytes were sent from there, once each.
    expect(aliceWorker.toWorker.filter((m) => m.op === 'send')).toHaveLength(1);
    expect(bobWorker.toWorker.filter((m) => m.op === 'receive')).toHaveLength(1);
    expect(bobWorker.toWorker.filter((m) => m.op === 'write')).toHaveLength(0);
    expect(ends.net.alice.headers).toEqual([{ v: 1, transferId: id, offset: 0, channelAcks: true }]);
    expect(ends.net.alice.binaryBytesSent).toBe(data.length);
    // The receiving page saw progress through the middle, and acked on the control link: at its
    // slow pace (at most every 250 ms, and the last), since the sender is paced by the channel's.
    expect(progress.some((b) => b > 0 && b < data.length)).toBe(true);
    const fileAcks = ends.bobLink.sent.filter((b) => b.kind === 'file-ack');
    expect(fileAcks.at(-1)).toEqual({ kind: 'file-ack', transferId: id, offset: data.length });
    expect(fileAcks.length).toBeLessThan(data.length / FILE_TRANSFER_DEFAULTS.ackIntervalBytes);
    // The receiver's worker acked on the channel too (the sender's window moves without the pages).
    const channelAcks = bobWorker.textsSentBack.map((text) => JSON.parse(text) as { v: number; ack: number });
    expect(channelAcks.length).toBeGreaterThanOrEqual(12);
    expect(channelAcks.at(-1)).toEqual({ v: 1, ack: data.length });
    // …while its page heard of it only for progress, not every 256 KiB.
    const stored = bobWorker.fromWorker.filter((m) => m.op === 'stored');
    expect(stored.length).toBeLessThan(channelAcks.length);
  });

  it('a sender whose header does not say channelAcks still gets a file-ack every 256 KiB', async () => {
    const ends = await setup({
      alice: { fileWorker: inThreadWorker().worker },
      bob: { fileWorker: inThreadWorker().worker },
    });
    // What a sender from before `channelAcks` writes: it may be paced by the file-ack alone.
    ends.net.alice.tamperHeader = ({ v, transferId, offset }) => ({ v, transferId, offset });
    const data = randomBytes(4 * MiB);
    const { received } = await transfer(ends, new Blob([data]));
    expect(received.state).toBe('done');
    // Every 256 KiB stored (the worker reports at least that often; a timer may report sooner).
    const offsets = ends.bobLink.sent.flatMap((b) => (b.kind === 'file-ack' ? [b.offset] : []));
    expect(offsets.at(-1)).toBe(data.length);
    const gaps = offsets.map((offset, i) => offset - (offsets[i - 1] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * FILE_TRANSFER_DEFAULTS.ackIntervalBytes);
  });

  it('resumes from what the worker stored when the channel closes mid-transfer (≤ 1 MiB sent twice)', async () => {
    const ends = await setup({
      alice: { fileWorker: inThreadWorker().worker },
      bob: { fileWorker: inThreadWorker().worker },
    });
    const data = randomBytes(12 * MiB);
    ends.net.alice.tamper = (chunk, index) => {
      if (index === 47) {
        queueMicrotask(() => ends.net.alice.opened[0]!.close());
      }
      return chunk;
    };
    const { id, sent, received } = await transfer(ends, new Blob([data]));

    expect(received.state).toBe('done');
    expect(sent.state).toBe('done');
    expect(received.sha256).toBe(sha256(data));
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(ends.net.alice.headers).toHaveLength(2);
    const resumedAt = ends.net.alice.headers[1]!.offset;
    expect(resumedAt).toBeGreaterThan(0);
    expect(ends.bobLink.sent.find((b) => b.kind === 'file-resume')).toEqual({
      kind: 'file-resume',
      transferId: id,
      offset: resumedAt,
    });
    const resent = ends.net.alice.binaryBytesSent - data.length;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThanOrEqual(MiB);
  });

  it('resumes on a rebuilt connection, the receiving page possibly behind its worker', async () => {
    const ends = await setup({
      alice: { fileWorker: inThreadWorker().worker },
      bob: { fileWorker: inThreadWorker().worker },
    });
    const data = randomBytes(12 * MiB);
    // The connection is rebuilt right behind a burst of chunks, at an offset that is no multiple of
    // the worker's progress step: the page drops its channel and asks to resume while the worker
    // may hold bytes it has not reported yet (it skips those when the new channel brings them).
    const reconnecting: Array<Promise<void>> = [];
    ends.net.alice.tamper = (chunk, index) => {
      if (index === 42) {
        queueMicrotask(() => reconnecting.push(ends.net.reconnect()));
      }
      return chunk;
    };
    const { sent, received } = await transfer(ends, new Blob([data]));
    await Promise.all(reconnecting);
    expect([sent.state, received.state]).toEqual(['done', 'done']);
    expect(received.sha256).toBe(sha256(data));
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(ends.net.alice.binaryBytesSent - data.length).toBeLessThanOrEqual(MiB);
  });

  it.each([
    ['a sender in its worker, a receiver on its page', true, false],
    ['a sender on its page, a receiver in its worker', false, true],
  ])('interoperates: %s', async (_name, aliceHasWorker, bobHasWorker) => {
    const ends = await setup({
      ...(aliceHasWorker ? { alice: { fileWorker: inThreadWorker().worker } } : {}),
      ...(bobHasWorker ? { bob: { fileWorker: inThreadWorker().worker } } : {}),
    });
    const data = randomBytes(3 * MiB + 12345);
    const { sent, received } = await transfer(ends, new Blob([data]));
    expect(sent).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(received).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
  });

  it('stores in the worker what the page received itself (a channel that could not move)', async () => {
    const bobWorker = inThreadWorker();
    // Bob's channels stay on the page: the move is refused as a browser without transferable channels would.
    (bobWorker.worker as unknown as { canMove: boolean }).canMove = false;
    const ends = await setup({ bob: { fileWorker: bobWorker.worker } });
    const data = randomBytes(2 * MiB);
    const { received } = await transfer(ends, new Blob([data]));
    expect(received).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(bobWorker.toWorker.filter((m) => m.op === 'receive')).toHaveLength(0);
    expect(bobWorker.toWorker.filter((m) => m.op === 'write').length).toBeGreaterThan(0);
  });

  it('a worker that never starts is not used: everything happens on the page', async () => {
    const aliceWorker = inThreadWorker({ ready: false });
    const bobWorker = inThreadWorker({ ready: false });
    const ends = await setup({
      alice: { fileWorker: aliceWorker.worker },
      bob: { fileWorker: bobWorker.worker },
    });
    const data = randomBytes(MiB);
    const { sent, received } = await transfer(ends, new Blob([data]));
    expect(sent).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(received).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(aliceWorker.toWorker).toEqual([]);
    expect(bobWorker.toWorker).toEqual([]);
  });

  it('refuses more bytes than declared in the worker: size_exceeded, the peer told, nothing kept', async () => {
    const ends = await setup({ bob: { fileWorker: inThreadWorker().worker } });
    // A sender that sends more than it offered: one chunk on the way doubles in size.
    const id = ends.alice.send(new Blob([randomBytes(MiB)]), 'data.bin');
    const cancelled = ends.bobLink.next('file-cancel');
    ends.net.alice.tamper = (chunk, index) => (index === 15 ? new Uint8Array(128 * 1024) : chunk);
    await inState(ends.bob, id, 'offered');
    await ends.bob.accept(id);
    expect(await cancelled).toEqual({ kind: 'file-cancel', transferId: id, reason: 'error' });
    const received = await inState(ends.bob, id, 'failed');
    expect(received).toMatchObject({ error: 'size_exceeded', file: null });
  });
});
