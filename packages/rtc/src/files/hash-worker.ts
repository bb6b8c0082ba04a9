import { createFastSha256State, type Sha256State } from './fast-sha256.js';

/*
 * The worker's half of the worker-backed hasher (see worker-hasher.ts for the protocol and why):
 * the messages both halves exchange, and the loop that runs inside the worker. Why a file of its
 * own: it is all the worker script needs, and it needs none of the main thread's batching.
 */

/** The worker's end: `self` in a dedicated worker, a port in tests. */
export interface HashWorkerScope {
  postMessage(message: HashResponse, options?: { transfer: Transferable[] }): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export type HashRequest =
  /** `length` bytes at the start of `bytes` (a pooled batch buffer, transferred). */
  | { op: 'update'; id: number; bytes: ArrayBuffer; length: number }
  | { op: 'digest'; id: number }
  | { op: 'drop'; id: number };

export type HashResponse =
  | { op: 'ready' }
  /** `bytes` more hashed; `buffer` is the batch buffer handed back for reuse. */
  | { op: 'hashed'; id: number; bytes: number; buffer: ArrayBuffer }
  | { op: 'digest'; id: number; hex: string }
  | { op: 'error'; id: number; message: string };

/**
 * The worker's side: streaming SHA-256 states by id, fed in message order. Call it once in the
 * worker script with `self`.
 */
export function serveHashWorker(scope: HashWorkerScope): void {
  const states = new Map<number, Sha256State>();
  // A new state is made asynchronously (WebAssembly instantiation): messages are handled one after
  // another in arrival order, so no update overtakes the creation of its state.
  let queue = Promise.resolve();
  scope.addEventListener('message', (event) => {
    queue = queue.then(() => handle(event.data as HashRequest));
  });
  const handle = async (message: HashRequest): Promise<void> => {
    try {
      switch (message.op) {
        case 'update': {
          let state = states.get(message.id);
          if (!state) {
            state = await createFastSha256State();
            states.set(message.id, state);
          }
          state.update(new Uint8Array(message.bytes, 0, message.length));
          const buffer = message.bytes;
          scope.postMessage(
            { op: 'hashed', id: message.id, bytes: message.length, buffer },
            { transfer: [buffer] },
          );
          return;
        }
        case 'digest': {
          const state = states.get(message.id) ?? (await createFastSha256State());
          states.delete(message.id);
          scope.postMessage({ op: 'digest', id: message.id, hex: state.digestHex() });
          return;
        }
        case 'drop':
          states.delete(message.id);
          return;
      }
    } catch (error) {
      states.delete(message.id);
      scope.postMessage({
        op: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  };
  scope.postMessage({ op: 'ready' });
}
