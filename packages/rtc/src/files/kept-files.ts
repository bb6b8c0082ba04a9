import type { StorageLike } from '../signaling/signaling-client.js';
import type { TransferView } from './transfer-types.js';

/**
 * Why this exists: a received file lives in the page's memory (a Blob), so a reload mid-call used to
 * empty the list of files received in the call, without a word, while the sender still read "received
 * it intact". Finished received files are therefore kept in a {@link ReceivedFileStore} (the web app
 * uses IndexedDB) until the call's files are dismissed, and a small manifest of their names is kept in
 * the tab's sessionStorage, so that a file the store could not keep (quota, private mode, no store at
 * all) is at least named as lost instead of silently gone.
 */

/** A received, verified file as kept for its call. */
export interface KeptFile {
  /** The transfer id. */
  id: string;
  name: string;
  size: number;
  mime: string;
  photo: boolean;
  sha256: string | null;
  /** Null when it was written to a file the user picked (it is on disk already). */
  file: Blob | null;
  /** The MIME type of the preview when the bytes are a raster image, else null. */
  imageType: string | null;
  /** When it was kept (epoch ms): old entries of tabs that closed are pruned by age. */
  keptAt: number;
}

/** Durable storage for received files, per call. Every method may reject (quota, storage disabled). */
export interface ReceivedFileStore {
  put(callId: string, file: KeptFile): Promise<void>;
  list(callId: string): Promise<KeptFile[]>;
  /** Forget a call's files. */
  clear(callId: string): Promise<void>;
  /** Forget every file kept before `time` (epoch ms), of any call. */
  prune(time: number): Promise<void>;
}

/** What a reloaded tab gets back: the kept files as transfers, and the names of those it lost. */
export interface RestoredFiles {
  transfers: TransferView[];
  lost: string[];
}

/** Kept files older than this belong to a tab that is long gone. */
const MAX_AGE_MS = 24 * 60 * 60 * 1000;
const MANIFEST_KEY = 'duet.keptFiles';

interface Manifest {
  callId: string;
  files: Array<{ id: string; name: string }>;
}

/** A finished received transfer's view, rebuilt from what was kept. */
function toView(kept: KeptFile): TransferView {
  return {
    id: kept.id,
    direction: 'receive',
    name: kept.name,
    size: kept.size,
    mime: kept.mime,
    photo: kept.photo,
    state: 'done',
    bytes: kept.size,
    bytesPerSecond: 0,
    secondsLeft: null,
    error: null,
    cancelledBy: null,
    file: kept.file,
    image: kept.file && kept.imageType ? kept.file.slice(0, kept.file.size, kept.imageType) : null,
    sha256: kept.sha256,
  };
}

/** Keeps one tab's received files across reloads (see the top of this file). */
export class KeptFiles {
  private readonly saved = new Set<string>();

  constructor(
    private readonly deps: {
      store?: ReceivedFileStore;
      storage?: StorageLike;
      log: (message: string, detail?: unknown) => void;
    },
  ) {
    deps.store?.prune(Date.now() - MAX_AGE_MS).catch((error: unknown) => {
      deps.log('could not prune kept files', error);
    });
  }

  /** Keep the received transfers of `callId` that finished since the last call. */
  keep(callId: string, transfers: readonly TransferView[]): void {
    for (const t of transfers) {
      if (t.direction !== 'receive' || t.state !== 'done' || this.saved.has(t.id)) {
        continue;
      }
      this.saved.add(t.id);
      this.addToManifest(callId, t);
      const kept: KeptFile = {
        id: t.id,
        name: t.name,
        size: t.size,
        mime: t.mime,
        photo: t.photo,
        sha256: t.sha256,
        file: t.file,
        imageType: t.image?.type || null,
        keptAt: Date.now(),
      };
      this.deps.store?.put(callId, kept).catch((error: unknown) => {
        this.deps.log(`could not keep ${t.name} for a reload`, error);
      });
    }
  }

  /** After a reload into `callId`: the files kept for it, and the names of those that were lost. */
  async restore(callId: string): Promise<RestoredFiles> {
    const manifest = this.readManifest();
    const expected = manifest?.callId === callId ? manifest.files : [];
    let kept: KeptFile[] = [];
    try {
      kept = this.deps.store ? await this.deps.store.list(callId) : [];
    } catch (error) {
      this.deps.log('could not read kept files', error);
    }
    kept.sort((a, b) => a.keptAt - b.keptAt);
    for (const file of kept) {
      this.saved.add(file.id);
    }
    const found = new Set(kept.map((file) => file.id));
    return {
      transfers: kept.map(toView),
      lost: expected.filter((file) => !found.has(file.id)).map((file) => file.name),
    };
  }

  /** The call's files are dismissed (or the user left): forget them everywhere. */
  forget(callId: string): void {
    if (this.readManifest()?.callId === callId) {
      this.deps.storage?.removeItem(MANIFEST_KEY);
    }
    this.deps.store
      ?.clear(callId)
      .catch((error: unknown) => this.deps.log('could not forget kept files', error));
  }

  private readManifest(): Manifest | null {
    try {
      const raw = this.deps.storage?.getItem(MANIFEST_KEY);
      // This tab's own earlier state; checked lightly, a broken entry is no entry.
      const value = raw ? (JSON.parse(raw) as Partial<Manifest>) : null;
      if (typeof value?.callId !== 'string' || !Array.isArray(value.files)) {
        return null;
      }
      return { callId: value.callId, files: value.files };
    } catch {
      return null;
    }
  }

  private addToManifest(callId: string, t: TransferView): void {
    const current = this.readManifest();
    const files = current?.callId === callId ? current.files : [];
    if (files.some((file) => file.id === t.id)) {
      return;
    }
    try {
      this.deps.storage?.setItem(
        MANIFEST_KEY,
        JSON.stringify({ callId, files: [...files, { id: t.id, name: t.name }] } satisfies Manifest),
      );
    } catch {
      // Quota: a lost file then goes unnamed, as before this existed.
    }
  }
}
