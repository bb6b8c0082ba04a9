import { describe, expect, it } from 'vitest';
import { KeptFiles, type KeptFile, type ReceivedFileStore } from '../src/files/kept-files.js';
import type { TransferView } from '../src/files/transfer-types.js';
import { MemoryStorage } from './support/memory-storage.js';

/** Received files kept across a reload: what comes back, what is named as lost, what is forgotten. */

/** A store like IndexedDB's, in memory; `failPuts` makes it refuse to keep (quota). */
class MemoryStore implements ReceivedFileStore {
  readonly rows = new Map<string, KeptFile & { callId: string }>();
  failPuts = false;
  async put(callId: string, file: KeptFile): Promise<void> {
    if (this.failPuts) {
      throw new Error('QuotaExceededError');
    }
    this.rows.set(`${callId}/${file.id}`, { ...file, callId });
  }
  async list(callId: string): Promise<KeptFile[]> {
    return [...this.rows.values()].filter((row) => row.callId === callId);
  }
  async clear(callId: string): Promise<void> {
    for (const [key, row] of this.rows) {
      if (row.callId === callId) {
        this.rows.delete(key);
      }
    }
  }
  async prune(time: number): Promise<void> {
    for (const [key, row] of this.rows) {
      if (row.keptAt < time) {
        this.rows.delete(key);
      }
    }
  }
}

function received(id: string, state: TransferView['state'], bytes: Uint8Array<ArrayBuffer>): TransferView {
  const file = new Blob([bytes]);
  return {
    id,
    direction: 'receive',
    name: `${id}.bin`,
    size: bytes.length,
    mime: 'application/octet-stream',
    photo: false,
    state,
    bytes: state === 'done' ? bytes.length : 0,
    bytesPerSecond: 0,
    secondsLeft: null,
    error: null,
    cancelledBy: null,
    file: state === 'done' ? file : null,
    image: null,
    sha256: state === 'done' ? 'ab'.repeat(32) : null,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const log = () => undefined;

describe('KeptFiles', () => {
  it('gives a reloaded tab back the files it received in the call, bytes and all', async () => {
    const store = new MemoryStore();
    const storage = new MemoryStorage();
    const before = new KeptFiles({ store, storage, log });
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    before.keep('call-1', [received('a', 'done', bytes), received('b', 'transferring', bytes)]);
    // Kept again on every change: stored once.
    before.keep('call-1', [received('a', 'done', bytes)]);
    await settle();
    expect(store.rows.size).toBe(1);

    const after = new KeptFiles({ store, storage, log });
    const restored = await after.restore('call-1');
    expect(restored.lost).toEqual([]);
    expect(restored.transfers.map((t) => [t.id, t.state, t.bytes, t.sha256])).toEqual([
      ['a', 'done', 5, 'ab'.repeat(32)],
    ]);
    expect(new Uint8Array(await restored.transfers[0]!.file!.arrayBuffer())).toEqual(bytes);
    // Another call's reload finds nothing of this one.
    expect(await after.restore('call-2')).toEqual({ transfers: [], lost: [] });
  });

  it('names the files it could not keep instead of dropping them silently', async () => {
    const store = new MemoryStore();
    store.failPuts = true;
    const storage = new MemoryStorage();
    new KeptFiles({ store, storage, log }).keep('call-1', [received('a', 'done', new Uint8Array(3))]);
    await settle();
    const restored = await new KeptFiles({ store, storage, log }).restore('call-1');
    expect(restored).toEqual({ transfers: [], lost: ['a.bin'] });
    // Without any store (a Node peer), the same.
    const bare = new MemoryStorage();
    new KeptFiles({ storage: bare, log }).keep('call-1', [received('b', 'done', new Uint8Array(3))]);
    expect(await new KeptFiles({ storage: bare, log }).restore('call-1')).toEqual({
      transfers: [],
      lost: ['b.bin'],
    });
  });

  it('forgets a call’s files when they are dismissed, and prunes ones a closed tab left behind', async () => {
    const store = new MemoryStore();
    const storage = new MemoryStorage();
    const kept = new KeptFiles({ store, storage, log });
    kept.keep('call-1', [received('a', 'done', new Uint8Array(3))]);
    await settle();
    kept.forget('call-1');
    await settle();
    expect(store.rows.size).toBe(0);
    expect(await kept.restore('call-1')).toEqual({ transfers: [], lost: [] });

    await store.put('old-call', { ...storeRow('x'), keptAt: Date.now() - 2 * 24 * 3600_000 });
    new KeptFiles({ store, storage, log });
    await settle();
    expect(store.rows.size).toBe(0);
  });
});

function storeRow(id: string): KeptFile {
  return {
    id,
    name: `${id}.bin`,
    size: 1,
    mime: 'application/octet-stream',
    photo: false,
    sha256: null,
    file: new Blob([new Uint8Array(1)]),
    imageType: null,
    keptAt: Date.now(),
  };
}
