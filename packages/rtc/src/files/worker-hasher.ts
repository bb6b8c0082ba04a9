import { createSha256Hasher } from './hashing.js';
import { HashWorkerConnection, type HashAnswer, type HashWorkerLike } from './hash-worker-connection.js';
import type { Hasher } from './transfer-types.js';

export { serveHashWorker, type HashRequest, type HashResponse, type HashWorkerScope } from './hash-worker.js';
export type { HashWorkerLike } from './hash-worker-connection.js';

/*
 * SHA-256 off the sending thread. Hashing 200 MiB with @noble/hashes takes over a second of a
 * laptop core, on the same thread that feeds the data channel, so a transfer spent most of its main
 * thread hashing. Here the main thread only copies bytes into a batch and posts it; a worker runs
 * the very same streaming hash.
 *
 *   main thread                                           worker
 *   update(chunk): copy into the batch (1 MiB) ─ full ─▶  { op: 'update', id, bytes, length } → hash
 *                  (no round trip awaited)      ◀──────  { op: 'hashed', id, bytes } (credit, buffer back)
 *   digest():      flush the batch, then        ───────▶ { op: 'digest', id }
 *                  wait for the answer          ◀──────  { op: 'digest', id, hex }
 *   hasher garbage-collected unfinished         ───────▶ { op: 'drop', id }
 *
 * Why a copy: the caller keeps using its bytes after `update` (the sender sends views of the slice
 * it hashes, the receiver's sink holds the chunk until it folds it into a Blob), so transferring
 * their ArrayBuffer would detach them under it. The batch is ours, so it is transferred, not cloned,
 * and the worker transfers it back to be reused: a fresh 1 MiB buffer costs ~0.8 ms per MiB on a
 * two-core VM (page faults and zeroing, measured in Chromium), copying into a reused one ~0.07 ms,
 * against several ms per MiB for hashing on the thread.
 *
 * Why one shared worker with per-hasher ids rather than one worker per transfer: a worker costs a
 * thread, a module load and tens of milliseconds to start; transfers are usually one at a time and
 * short, and two at once gain nothing from a second thread on a two-core phone. A shared worker is
 * started once (lazily, on the first hash) and is warm for every later transfer.
 *
 * Messages to one worker are delivered in order, so updates need no acknowledgement to stay in
 * order; `hashed` only returns credit, so a worker slower than the network (a slow phone) makes
 * `update` return a promise once `maxInFlightBytes` are queued, instead of piling copies up.
 *
 * Until the worker says `ready` the batches are kept, not posted: if it cannot start (a CSP that
 * forbids workers, an old engine, a failed module load) they are replayed into an in-thread hasher
 * and every later hasher runs in-thread too. A worker that dies after starting fails the digests
 * of the hashes it held (the transfer fails cleanly rather than verifying garbage).
 */

export interface WorkerHasherOptions {
  /**
   * Bytes copied into one message. Larger: fewer messages (each costs a task on both threads);
   * smaller: less left to hash when `digest` is called. 1 MiB matches the sender's slice size.
   */
  batchBytes?: number;
  /** Bytes posted but not yet hashed, per hasher, before `update` makes its caller wait. */
  maxInFlightBytes?: number;
  /** A worker that has not said `ready` by then is given up for the in-thread hasher. */
  startTimeoutMs?: number;
  log?: (message: string, detail?: unknown) => void;
}

const DEFAULT_BATCH_BYTES = 1024 * 1024;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Batch buffers kept for reuse: one being filled, one on its way, one being hashed, one spare. */
const MAX_SPARE_BUFFERS = 4;

interface Pending {
  resolve: (hex: string) => void;
  reject: (error: Error) => void;
}

/**
 * A `createHasher` for {@link FileTransfers} that hashes in a worker made by `createWorker` (e.g.
 * `() => new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module' })`, whose script
 * calls {@link serveHashWorker}). Falls back to {@link createSha256Hasher} on this thread when the
 * worker cannot be created or does not start.
 */
export function createWorkerHasherFactory(
  createWorker: () => HashWorkerLike,
  options: WorkerHasherOptions = {},
): () => Hasher {
  const batchBytes = Math.max(1, options.batchBytes ?? DEFAULT_BATCH_BYTES);
  const maxInFlight = Math.max(batchBytes, options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES);
  const log = options.log ?? (() => {});
  let nextId = 1;
  /*
   * Live hashers by id, for the worker's answers. Weakly: a transfer that is cancelled simply drops
   * its hasher (the Hasher interface has no close), and its batch must not outlive it; when it is
   * collected, the worker is told to drop its state. A hasher someone waits on (a digest, an update
   * held back for credit) is kept in `busy` until the wait ends.
   */
  const hashers = new Map<number, WeakRef<WorkerHasher>>();
  const busy = new Set<WorkerHasher>();
  /** Batch buffers back from the worker, for the next batches. */
  const spare: ArrayBuffer[] = [];
  const dropped = new FinalizationRegistry<number>((id) => {
    hashers.delete(id);
    connection.post({ op: 'drop', id }, []);
  });

  function live(): WorkerHasher[] {
    const all: WorkerHasher[] = [];
    for (const ref of hashers.values()) {
      const hasher = ref.deref();
      if (hasher) {
        all.push(hasher);
      }
    }
    return all;
  }

  const connection = new HashWorkerConnection(
    createWorker,
    options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    log,
    {
      // The worker never started: everything it was given is hashed here instead, from now on.
      gaveUp: (replay) => {
        const all = live();
        for (const hasher of all) {
          hasher.moveInThread();
        }
        // In order: what each hasher posted, then (for the unfinished) what it still has batched.
        for (const message of replay) {
          const hasher = hashers.get(message.id)?.deref();
          if (message.op === 'update') {
            hasher?.replayUpdate(new Uint8Array(message.bytes, 0, message.length));
          } else if (message.op === 'digest') {
            hasher?.replayDigest();
          }
        }
        for (const hasher of all) {
          hasher.absorbBatch();
        }
      },
      died: (error) => {
        for (const hasher of live()) {
          hasher.lost(error);
        }
      },
      answered: onAnswer,
    },
  );

  function onAnswer(message: HashAnswer): void {
    if (
      message.op === 'hashed' &&
      message.buffer.byteLength === batchBytes &&
      spare.length < MAX_SPARE_BUFFERS
    ) {
      spare.push(message.buffer);
    }
    const hasher = hashers.get(message.id)?.deref();
    if (!hasher) {
      return;
    }
    if (message.op === 'hashed') {
      hasher.credit(message.bytes);
    } else if (message.op === 'digest') {
      hasher.settle(null, message.hex);
    } else {
      hasher.settle(new Error(message.message), null);
    }
  }

  class WorkerHasher implements Hasher {
    private batch: Uint8Array<ArrayBuffer> | null = null;
    private batchLength = 0;
    private inFlight = 0;
    private waiters: Array<() => void> = [];
    private pending: Pending | null = null;
    private finished = false;
    /** Set when this hash runs on this thread after all (the worker never started). */
    private local: Hasher | null = null;
    private error: Error | null = null;

    constructor(readonly id: number) {}

    update(chunk: Uint8Array): void | Promise<void> {
      if (this.finished) {
        throw new Error('hasher already finished');
      }
      if (this.error) {
        throw this.error;
      }
      if (this.local) {
        return this.local.update(chunk);
      }
      let at = 0;
      while (at < chunk.byteLength) {
        this.batch ??= new Uint8Array(spare.pop() ?? new ArrayBuffer(batchBytes));
        const n = Math.min(batchBytes - this.batchLength, chunk.byteLength - at);
        this.batch.set(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n), this.batchLength);
        this.batchLength += n;
        at += n;
        if (this.batchLength === batchBytes) {
          this.flush();
        }
      }
      // Pipelined: the caller goes on at once unless the worker is far behind.
      if (this.inFlight < maxInFlight) {
        return;
      }
      busy.add(this);
      return new Promise((resolve) => this.waiters.push(resolve));
    }

    digest(): Promise<string> {
      if (this.finished) {
        return Promise.reject(new Error('hasher already finished'));
      }
      this.finished = true;
      if (this.error) {
        return Promise.reject(this.error);
      }
      if (this.local) {
        return this.finishLocal();
      }
      this.flush();
      busy.add(this);
      return new Promise<string>((resolve, reject) => {
        this.pending = { resolve, reject };
        connection.post({ op: 'digest', id: this.id }, []);
      });
    }

    credit(bytes: number): void {
      this.inFlight -= bytes;
      if (this.inFlight < maxInFlight) {
        this.release();
      }
    }

    settle(error: Error | null, hex: string | null): void {
      const pending = this.pending;
      this.pending = null;
      this.forget();
      if (!pending) {
        return;
      }
      if (error || hex === null) {
        pending.reject(error ?? new Error('no digest'));
      } else {
        pending.resolve(hex);
      }
    }

    moveInThread(): void {
      this.local = createSha256Hasher();
      this.inFlight = 0;
      this.release();
    }

    replayUpdate(bytes: Uint8Array): void {
      void this.local?.update(bytes);
    }

    /** The digest request was among the held messages: answer it from the in-thread hash. */
    replayDigest(): void {
      const pending = this.pending;
      this.pending = null;
      if (pending) {
        this.finishLocal().then(pending.resolve, pending.reject);
      }
    }

    /** Bytes batched but never posted, after the replay: into the in-thread hash, in order. */
    absorbBatch(): void {
      if (this.batch && this.batchLength > 0) {
        void this.local?.update(this.batch.subarray(0, this.batchLength));
      }
      this.batch = null;
      this.batchLength = 0;
    }

    lost(error: Error): void {
      this.error = error;
      this.release();
      this.settle(error, null);
    }

    private finishLocal(): Promise<string> {
      this.forget();
      return this.local ? this.local.digest() : Promise.reject(new Error('no local hasher'));
    }

    private flush(): void {
      const batch = this.batch;
      if (!batch || this.batchLength === 0 || this.local) {
        return;
      }
      const length = this.batchLength;
      this.inFlight += length;
      this.batch = null;
      this.batchLength = 0;
      connection.post({ op: 'update', id: this.id, bytes: batch.buffer, length }, [batch.buffer]);
    }

    private release(): void {
      const waiters = this.waiters;
      this.waiters = [];
      if (!this.pending) {
        busy.delete(this);
      }
      for (const wake of waiters) {
        wake();
      }
    }

    private forget(): void {
      hashers.delete(this.id);
      busy.delete(this);
      dropped.unregister(this);
      // No transfer is hashing: the pooled buffers (up to 4 MiB) need not outlive it.
      if (hashers.size === 0) {
        spare.length = 0;
      }
    }
  }

  return (): Hasher => {
    if (connection.status === 'idle') {
      connection.start();
    }
    if (connection.status === 'failed') {
      return createSha256Hasher();
    }
    const hasher = new WorkerHasher(nextId++);
    hashers.set(hasher.id, new WeakRef(hasher));
    dropped.register(hasher, hasher.id, hasher);
    return hasher;
  };
}
