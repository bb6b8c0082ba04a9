import { createHash, randomBytes } from 'node:crypto';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTransfers } from '../src/files/file-transfers.js';
import type { Hasher, TransferState, TransferView } from '../src/files/transfer-types.js';
import {
  createWorkerHasherFactory,
  serveHashWorker,
  type HashRequest,
  type HashResponse,
  type HashWorkerLike,
} from '../src/files/worker-hasher.js';
import { TestLink } from './support/link.js';
import { WrtcNet } from './support/wrtc-net.js';

/**
 * The worker-backed hasher, with the worker played by the real worker code (`serveHashWorker`) on
 * the far end of a MessageChannel: same structured-clone and transfer semantics as a Worker, same
 * in-order delivery, in this process.
 */

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const ports: MessagePort[] = [];
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) {
    cleanup();
  }
  for (const port of ports.splice(0)) {
    port.close();
  }
});

/** A Worker stand-in; `started: false` holds the worker back until `start()`. */
class FakeWorker implements HashWorkerLike {
  readonly main: MessagePort;
  readonly inner: MessagePort;
  /** What the main thread posted, in order. */
  readonly posted: HashRequest[] = [];
  /** The byte length of each update as posted (the buffers are transferred, so detached after). */
  readonly sizes: number[] = [];
  private readonly errorListeners: Array<(event: unknown) => void> = [];

  constructor(started = true) {
    const channel = new MessageChannel();
    this.main = channel.port1;
    this.inner = channel.port2;
    ports.push(this.main, this.inner);
    if (started) {
      this.start();
    }
  }

  start(): void {
    serveHashWorker({
      postMessage: (message: HashResponse, options) =>
        this.inner.postMessage(message, options?.transfer as ArrayBuffer[] | undefined),
      addEventListener: (_type, listener) => {
        this.inner.on('message', (data: unknown) => listener({ data }));
      },
    });
  }

  fail(): void {
    for (const listener of this.errorListeners) {
      listener(new Error('boom'));
    }
  }

  postMessage(message: HashRequest, transfer: Transferable[]): void {
    this.posted.push(message);
    if (message.op === 'update') {
      this.sizes.push(message.length);
    }
    this.main.postMessage(message, transfer as ArrayBuffer[]);
  }

  addEventListener(type: string, listener: (event: never) => void): void {
    if (type === 'message') {
      this.main.on('message', (data: unknown) => listener({ data } as never));
    } else if (type === 'error') {
      this.errorListeners.push(listener as (event: unknown) => void);
    }
  }

  terminate(): void {
    this.main.close();
  }
}

/** Random bytes cut into pieces of random sizes (1 byte to 3 × `around`). */
function pieces(bytes: Uint8Array, around: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const n = Math.min(bytes.byteLength - at, 1 + Math.floor(Math.random() * 3 * around));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function feed(hasher: Hasher, parts: Uint8Array[]): Promise<void> {
  for (const part of parts) {
    await hasher.update(part);
  }
}

describe('createWorkerHasherFactory with the real worker code', () => {
  it('matches node:crypto across many updates of odd sizes, batches crossing chunk boundaries', async () => {
    const worker = new FakeWorker();
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 4096 });
    const bytes = randomBytes(1_000_003);
    const hasher = create();
    await feed(hasher, pieces(bytes, 1500));
    expect(await hasher.digest()).toBe(sha256(bytes));
    // Full batches but the last, each transferred (detached here), not cloned.
    expect(worker.sizes.length).toBe(Math.ceil(bytes.byteLength / 4096));
    expect(worker.sizes.slice(0, -1).every((n) => n === 4096)).toBe(true);
    expect(worker.posted.every((m) => m.op !== 'update' || m.bytes.byteLength === 0)).toBe(true);
  });

  it('hashes the empty input and a single large update', async () => {
    const create = createWorkerHasherFactory(() => new FakeWorker(), { batchBytes: 64 * 1024 });
    const empty = create();
    expect(await empty.digest()).toBe(sha256(new Uint8Array(0)));
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const hasher = create();
    await hasher.update(big);
    expect(await hasher.digest()).toBe(sha256(big));
  });

  it('pipelines: update returns at once, never detaches the caller’s bytes, only digest waits', async () => {
    const worker = new FakeWorker();
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 8192 });
    const bytes = randomBytes(200_000);
    const copy = Uint8Array.from(bytes);
    const hasher = create();
    for (const part of pieces(bytes, 5000)) {
      // Synchronous: no promise, so the sender goes on sending without a round trip.
      expect(hasher.update(part)).toBeUndefined();
      expect(part.byteLength).toBeGreaterThan(0); // not detached
    }
    expect(Buffer.from(bytes).equals(Buffer.from(copy))).toBe(true);
    expect(await hasher.digest()).toBe(sha256(bytes));
  });

  it('keeps concurrent hashers apart: interleaved updates, digests asked in reverse order', async () => {
    const worker = new FakeWorker();
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 1000 });
    const inputs = Array.from({ length: 5 }, (_, i) => randomBytes(20_000 + i * 7919));
    const hashers = inputs.map(() => create());
    const parts = inputs.map((bytes) => pieces(bytes, 700));
    // Round-robin, one piece of each in turn, none awaited.
    for (let round = 0; parts.some((p) => p.length > 0); round++) {
      parts.forEach((p, i) => {
        const next = p.shift();
        if (next) {
          void hashers[i]!.update(next);
        }
      });
    }
    const digests = await Promise.all([...hashers].reverse().map((h) => h.digest()));
    expect(digests.reverse()).toEqual(inputs.map(sha256));
    await expect(hashers[0]!.digest()).rejects.toThrow(/finished/);
    expect(() => hashers[0]!.update(new Uint8Array(1))).toThrow(/finished/);
  });

  it('makes update wait once too much is in flight, and goes on when the worker catches up', async () => {
    const worker = new FakeWorker(false);
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 1024, maxInFlightBytes: 4096 });
    const hasher = create();
    const results = [0, 1, 2, 3].map(() => hasher.update(new Uint8Array(1024).fill(7)));
    expect(results.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    const waiting = results[3];
    expect(waiting).toBeInstanceOf(Promise);
    let released = false;
    void (waiting as Promise<void>).then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toBe(false); // the worker has not started: no credit yet
    worker.start();
    await waiting;
    expect(await hasher.digest()).toBe(sha256(new Uint8Array(4096).fill(7)));
  });

  it('falls back to this thread when the worker cannot be created', async () => {
    const logged: string[] = [];
    const create = createWorkerHasherFactory(
      () => {
        throw new Error('Worker is not defined');
      },
      { log: (message) => logged.push(message) },
    );
    const bytes = randomBytes(100_000);
    const hasher = create();
    await feed(hasher, pieces(bytes, 3000));
    expect(await hasher.digest()).toBe(sha256(bytes));
    expect(logged).toEqual([expect.stringMatching(/could not create/)]);
  });

  it('replays what it held, in order, when the worker fails to start, and hashes here from then on', async () => {
    const worker = new FakeWorker(false);
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 1000, log: () => {} });
    const a = randomBytes(10_500);
    const b = randomBytes(7_777);
    const first = create();
    const second = create();
    await feed(first, pieces(a.subarray(0, 6000), 400));
    await feed(second, pieces(b, 400));
    const secondDigest = second.digest(); // held, answered by the replay
    worker.fail();
    await feed(first, pieces(a.subarray(6000), 400));
    expect(await first.digest()).toBe(sha256(a));
    expect(await secondDigest).toBe(sha256(b));
    const later = create();
    await later.update(a);
    expect(await later.digest()).toBe(sha256(a));
    expect(worker.posted).toEqual([]); // nothing ever reached the dead worker
  });

  it('gives up on a worker that never says ready', async () => {
    const worker = new FakeWorker(false);
    const create = createWorkerHasherFactory(() => worker, { startTimeoutMs: 30, log: () => {} });
    const bytes = randomBytes(50_000);
    const hasher = create();
    await hasher.update(bytes);
    expect(await hasher.digest()).toBe(sha256(bytes));
  });

  it('fails the digests of a worker that dies after starting', async () => {
    const worker = new FakeWorker();
    const create = createWorkerHasherFactory(() => worker, { batchBytes: 1000, log: () => {} });
    const hasher = create();
    await hasher.update(randomBytes(5000));
    await new Promise((resolve) => setTimeout(resolve, 20)); // ready, updates delivered
    worker.fail();
    await expect(hasher.digest()).rejects.toThrow(/failed/);
    // New hashers run on this thread.
    const next = create();
    await next.update(new Uint8Array([1, 2, 3]));
    expect(await next.digest()).toBe(sha256(new Uint8Array([1, 2, 3])));
  });
});

describe('FileTransfers with worker hashers on both ends', () => {
  const settled = (engine: FileTransfers, id: string): Promise<TransferView> => {
    const final: TransferState[] = ['done', 'failed', 'cancelled'];
    const now = engine.transfers.find((v) => v.id === id && final.includes(v.state));
    if (now) {
      return Promise.resolve(now);
    }
    return engine
      .waitFor('change', (views) => views.some((v) => v.id === id && final.includes(v.state)))
      .then((views) => views.find((v) => v.id === id)!);
  };

  it('verifies a file over real data channels, across a resume, with node:crypto’s SHA-256', async () => {
    const net = await WrtcNet.connect();
    cleanups.push(() => net.close());
    const [aliceLink, bobLink] = TestLink.pair();
    // One worker per side, as in two browser tabs.
    const alice = new FileTransfers({
      link: aliceLink,
      channels: net.alice,
      createHasher: createWorkerHasherFactory(() => new FakeWorker()),
    });
    const bob = new FileTransfers({
      link: bobLink,
      channels: net.bob,
      createHasher: createWorkerHasherFactory(() => new FakeWorker()),
    });
    cleanups.push(
      () => alice.dispose(),
      () => bob.dispose(),
    );
    const data = randomBytes(6 * 1024 * 1024 + 12_345);
    // Break the first channel after 2 MiB: the re-sent bytes must not be hashed twice.
    net.alice.tamper = (chunk, index) => {
      if (index === 31) {
        queueMicrotask(() => net.alice.opened[0]!.close());
      }
      return chunk;
    };
    const id = alice.send(new Blob([data]), 'data.bin');
    await bob.waitFor('change', (views) => views.some((v) => v.id === id && v.state === 'offered'));
    await bob.accept(id);
    const [sent, received] = await Promise.all([settled(alice, id), settled(bob, id)]);
    expect(net.alice.headers.length).toBeGreaterThanOrEqual(2);
    expect(sent).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(received).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(Buffer.from(await received.file!.arrayBuffer()).equals(data)).toBe(true);
  });
});
