import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * Why a receiving terminal collects its young garbage by itself.
 *
 * node-datachannel hands every received message to JavaScript as a fresh ArrayBuffer (64 KiB for
 * a file chunk). The transfer engine is done with it within a few microtasks, but V8 frees an
 * ArrayBuffer only when a GC finds it dead, and here GCs are rare: the engine allocates little
 * on the JS heap per message, so the young generation fills slowly, and V8 waits for tens of MiB
 * of outside memory before it starts a full GC. Measured on `duet receive` (256 MiB on loopback):
 * dead message buffers piled up to 31–37 MiB between GCs, a quarter of its peak RSS (117–133 MiB),
 * whatever the semi-space size. A young-generation GC every few MiB received frees them while
 * they are young and cheap to collect (a fraction of a millisecond: little is alive there), and
 * keeps the pile at about that much.
 */

/** Bytes of received messages between two young-generation GCs. */
export const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major' }) => void;

let collect: Collect | null | undefined;

/**
 * V8's `gc` function, made available at run time (`--expose-gc` applies to contexts created after
 * it is set, hence the new context). Null where the engine refuses: then nothing is collected by
 * hand, and only memory use differs.
 */
function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      collect = typeof gc === 'function' ? (gc as Collect) : null;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Counts received bytes for the whole process; every {@link COLLECT_EVERY_BYTES}, a young GC. */
export class YoungGarbage {
  private pending = 0;

  constructor(private readonly everyBytes = COLLECT_EVERY_BYTES) {}

  /** A message of `bytes` arrived (and is garbage once handled). */
  received(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.everyBytes) {
      this.pending = 0;
      collector()?.({ type: 'minor' });
    }
  }
}

/** The process's one counter: the garbage is the process's, whichever connection made it. */
export const youngGarbage = new YoungGarbage();
