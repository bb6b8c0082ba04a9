import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuSeconds, stopProcess, track } from './processes.js';
import type { WorkerConfig, WorkerMessage } from './signaling-worker.js';

/**
 * The parent's side of lib/signaling-worker.ts, for the signaling and scale-out benchmarks: the
 * clients of N pairs spread over a few child processes (a process holds at most ~19k sockets here),
 * set up, told to run message windows, and stopped.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./signaling-worker.ts', import.meta.url));
const WORKERS = 4;
/** Room for a child to answer beyond its own bound (setup, window). */
const SLACK_MS = 30_000;

type Message<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>;

/** The protocol version the built Duet speaks (the clients must say it when they join). */
export async function protocolVersion(): Promise<number> {
  const url = pathToFileURL(`${ROOT}packages/protocol/dist/index.js`).href;
  return ((await import(url)) as { PROTOCOL_VERSION: number }).PROTOCOL_VERSION;
}

interface Worker {
  child: ChildProcess;
  exited: Promise<void>;
  next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<Message<T>>;
}

function spawnWorker(): Worker {
  const child = fork(WORKER, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    next: (type, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error(`worker ${child.pid}: no ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        const onMessage = (message: WorkerMessage): void => {
          if (message.type !== type) {
            return;
          }
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message as never);
        };
        child.on('message', onMessage);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`worker ${child.pid} exited`));
        });
      }),
  };
}

/** The client processes of one setup. Spawned when constructed: `stop()` them whatever happens next. */
export class SignalingClients {
  /** How many processes (the benchmarks' configs report it). */
  static readonly PROCESSES = WORKERS;
  private readonly workers: Worker[] = [];
  private readonly pairs: number;
  private readonly perWorker: number;
  private windowMs = 0;

  constructor(clients: number) {
    this.pairs = Math.floor(clients / 2);
    this.perWorker = Math.ceil(this.pairs / WORKERS);
    for (let w = 0; w < WORKERS && w * this.perWorker < this.pairs; w++) {
      this.workers.push(spawnWorker());
    }
  }

  /** Every process loaded (tsx compiles them) and a moment's quiet, before anything is measured. */
  async loaded(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.next('loaded', SLACK_MS)));
    await sleep(1000);
  }

  /** Every pair connected, in its room and (for Duet) in a call; each process's tally. */
  async connect(config: Omit<WorkerConfig, 'first' | 'pairs'>): Promise<Array<Message<'ready'>>> {
    this.windowMs = config.windowMs;
    for (const [w, worker] of this.workers.entries()) {
      const first = w * this.perWorker;
      const own: WorkerConfig = { ...config, first, pairs: Math.min(this.perWorker, this.pairs - first) };
      worker.child.send({ type: 'start', config: own });
    }
    return Promise.all(this.workers.map((w) => w.next('ready', config.setupTimeoutMs + SLACK_MS)));
  }

  /** One message window: every pair relays for the configured window; what each process timed. */
  async measure(): Promise<Array<Message<'result'>>> {
    const results = this.workers.map((w) => w.next('result', this.windowMs + SLACK_MS));
    for (const w of this.workers) {
      w.child.send({ type: 'measure' });
    }
    return Promise.all(results);
  }

  /** CPU seconds the client processes have used so far (they share the machine with the servers). */
  cpuSeconds(): number {
    return this.workers.reduce((sum, w) => sum + cpuSeconds(w.child.pid!), 0);
  }

  /** Every client leaves (a normal disconnect the server handles), then every process is gone. */
  async stop(): Promise<void> {
    for (const w of this.workers) {
      if (w.child.connected) {
        w.child.send({ type: 'exit' });
      }
    }
    await Promise.all(this.workers.map((w) => stopProcess(w.child, w.exited)));
  }
}
