import type { KeptFile, ReceivedFileStore } from '@duet/rtc';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

/**
 * Received files kept in IndexedDB, so that a reload mid-call does not lose them (see the core's
 * `kept-files.ts`). IndexedDB because it stores Blobs as they are (Chromium and Firefox keep large
 * ones as files of their own, outside the page's memory), in both browsers, in private windows too.
 */

interface KeptFilesDb extends DBSchema {
  files: {
    key: [string, string];
    value: KeptFile & { callId: string };
    indexes: { byCall: string; byAge: number };
  };
}

const DB_NAME = 'duet-kept-files';

export class IndexedDbFileStore implements ReceivedFileStore {
  private db: Promise<IDBPDatabase<KeptFilesDb>> | null = null;

  put(callId: string, file: KeptFile): Promise<void> {
    return this.open().then(async (db) => {
      await db.put('files', { ...file, callId });
    });
  }

  async list(callId: string): Promise<KeptFile[]> {
    const db = await this.open();
    const rows = await db.getAllFromIndex('files', 'byCall', callId);
    return rows.map(({ callId: _callId, ...file }) => file);
  }

  async clear(callId: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction('files', 'readwrite');
    for await (const cursor of tx.store.index('byCall').iterate(callId)) {
      await cursor.delete();
    }
    await tx.done;
  }

  async prune(time: number): Promise<void> {
    const db = await this.open();
    const tx = db.transaction('files', 'readwrite');
    for await (const cursor of tx.store.index('byAge').iterate(IDBKeyRange.upperBound(time, true))) {
      await cursor.delete();
    }
    await tx.done;
  }

  private open(): Promise<IDBPDatabase<KeptFilesDb>> {
    this.db ??= openDB<KeptFilesDb>(DB_NAME, 1, {
      upgrade(db) {
        const store = db.createObjectStore('files', { keyPath: ['callId', 'id'] });
        store.createIndex('byCall', 'callId');
        store.createIndex('byAge', 'keptAt');
      },
    });
    // A failed open (storage disabled) is tried again next time rather than remembered.
    this.db.catch(() => {
      this.db = null;
    });
    return this.db;
  }
}
