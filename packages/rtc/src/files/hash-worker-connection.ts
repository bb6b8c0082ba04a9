import type { HashRequest, HashResponse } from './hash-worker.js';

/*
 * The hash worker's life, for the worker-backed hasher (worker-hasher.ts, which says why a worker):
 * started lazily on the first hash; messages held, in order, until it says `ready`; given up for
 * hashing on this thread if it cannot start; lost for good if it breaks after starting. Why a file
 * of its own: these states are about the worker, not about any one hash.
 */

/** The little of `Worker` (or a `MessagePort`) the hasher uses; the DOM's Worker satisfies it. */
export interface HashWorkerLike {
  postMessage(message: HashRequest, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: unknown) => void): void;
  terminate?(): void;
}

/** What the worker answers about one hash (everything but `ready`, which the connection handles). */
export type HashAnswer = Exclude<HashResponse, { op: 'ready' }>;

export interface HashWorkerConnectionEvents {
  /** The worker never started: the messages it was given, in order, are for hashing here instead. */
  gaveUp(held: readonly HashRequest[]): void;
  /** The worker started and then broke: the hashes it held are lost. */
  died(error: Error): void;
  answered(message: HashAnswer): void;
}

export type HashWorkerStatus = 'idle' | 'starting' | 'ready' | 'failed';

export class HashWorkerConnection {
  private worker: HashWorkerLike | null = null;
  private state: HashWorkerStatus = 'idle';
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  /** Messages held until the worker is ready (in order). */
  private held: Array<{ message: HashRequest; transfer: ArrayBuffer[] }> = [];

  constructor(
    private readonly createWorker: () => HashWorkerLike,
    private readonly startTimeoutMs: number,
    private readonly log: (message: string, detail?: unknown) => void,
    private readonly events: HashWorkerConnectionEvents,
  ) {}

  get status(): HashWorkerStatus {
    return this.state;
  }

  /** Post to the worker, or hold the message until it is ready; dropped once the worker failed. */
  post(message: HashRequest, transfer: ArrayBuffer[]): void {
    if (this.state === 'ready' && this.worker) {
      this.worker.postMessage(message, transfer);
    } else if (this.state === 'starting') {
      this.held.push({ message, transfer });
    }
  }

  start(): void {
    this.state = 'starting';
    let worker: HashWorkerLike;
    try {
      worker = this.createWorker();
    } catch (error) {
      this.giveUp('could not create the hash worker', error);
      return;
    }
    this.worker = worker;
    worker.addEventListener('message', (event) => this.onMessage(event.data as HashResponse));
    worker.addEventListener('error', (event) => {
      if (this.state === 'starting') {
        this.giveUp('the hash worker did not start', event);
      } else {
        this.die('the hash worker failed', event);
      }
    });
    worker.addEventListener('messageerror', (event) => this.die('the hash worker sent a bad message', event));
    this.startTimer = setTimeout(() => {
      if (this.state === 'starting') {
        this.giveUp('the hash worker did not start in time', null);
      }
    }, this.startTimeoutMs);
  }

  private giveUp(reason: string, cause: unknown): void {
    this.log(`${reason}; hashing on this thread`, cause);
    clearTimeout(this.startTimer);
    this.state = 'failed';
    this.worker?.terminate?.();
    this.worker = null;
    const replay = this.held.map(({ message }) => message);
    this.held = [];
    this.events.gaveUp(replay);
  }

  private die(reason: string, cause: unknown): void {
    if (this.state === 'failed') {
      return;
    }
    this.log(reason, cause);
    this.state = 'failed';
    this.worker?.terminate?.();
    this.worker = null;
    this.held = [];
    this.events.died(new Error(reason));
  }

  private onMessage(message: HashResponse): void {
    if (message.op !== 'ready') {
      this.events.answered(message);
      return;
    }
    if (this.state !== 'starting' || !this.worker) {
      return;
    }
    clearTimeout(this.startTimer);
    this.state = 'ready';
    const queue = this.held;
    this.held = [];
    for (const { message: m, transfer } of queue) {
      this.worker.postMessage(m, transfer);
    }
  }
}
