import type { CallLink } from '../call/call-link.js';
import { KeptFiles, type ReceivedFileStore } from '../files/kept-files.js';
import type { TransferView } from '../files/transfer-types.js';
import type { Log } from '../logger.js';
import type { StorageLike } from '../signaling/signaling-client.js';
import type { ClientSnapshot } from './client-types.js';

/*
 * What happens to the files of a call around the transfer engine: received files kept across a
 * reload (and named when they could not be), files of the call that just ended kept until the user
 * dismisses them, and photos received without asking. Why its own module: these are the client's
 * promises about files ("nothing is lost when you reload or hang up"), with their own storage and
 * limits, and none of them is about moving bytes.
 */

/**
 * A photo taken in the call ("Take photo") shows in the peer's chat at once, like a picture in any
 * messenger, instead of waiting behind an Accept button: it is received into memory without asking,
 * still verified by its SHA-256 and previewed only when its bytes are a raster image. Bounded, since
 * the sender decides what it calls a photo: up to this size each...
 */
const PHOTO_AUTO_ACCEPT_MAX_BYTES = 16 * 1024 * 1024;
/** ...and this much per call in all; past that, photos wait for Accept like any file. */
const PHOTO_AUTO_ACCEPT_CALL_BUDGET = 128 * 1024 * 1024;

export interface CallFilesOptions {
  store: ReceivedFileStore | undefined;
  storage: StorageLike | undefined;
  log: Log;
  /** Something the UI shows changed (restored files arrived). */
  changed: () => void;
  /** After a reload: these files of the call could not be kept. */
  lost: (names: string[]) => void;
}

export class CallFiles {
  private readonly kept: KeptFiles;
  /** Files this tab received in the current call before it reloaded (kept, then restored). */
  private restored: TransferView[] = [];
  private lastCall: ClientSnapshot['lastCallFiles'] = null;
  /** The call whose files `lastCall` shows (they are kept until dismissed). */
  private lastCallId: string | null = null;
  /** Photos of the current call received without asking, and their bytes (see the limits above). */
  private autoAccepted = new Set<string>();
  private autoAcceptedBytes = 0;
  /** The link of the running call (restored files that arrive after it ended are dropped). */
  private link: CallLink | null = null;

  constructor(private readonly options: CallFilesOptions) {
    this.kept = new KeptFiles({ store: options.store, storage: options.storage, log: options.log });
  }

  /** Files received in the call that just ended, until dismissed or the next call. */
  get lastCallFiles(): ClientSnapshot['lastCallFiles'] {
    return this.lastCall;
  }

  /** A call's link starts; after a reload (`rejoin`), the files received before it come back. */
  begin(link: CallLink, callId: string, rejoin: boolean): void {
    if (this.lastCallId !== callId) {
      this.forgetLastCall();
    }
    this.link = link;
    this.restored = [];
    this.autoAccepted = new Set();
    this.autoAcceptedBytes = 0;
    if (!rejoin) {
      return;
    }
    void this.kept.restore(callId).then(({ transfers, lost }) => {
      if (this.link !== link) {
        return;
      }
      const live = new Set(link.transfers.transfers.map((t) => t.id));
      this.restored = transfers.filter((t) => !live.has(t.id));
      if (lost.length > 0) {
        this.options.lost(lost);
      }
      this.options.changed();
    });
  }

  /** The link's transfers changed: keep what arrived, receive photos. */
  update(link: CallLink, callId: string): void {
    this.kept.keep(callId, link.transfers.transfers);
    this.acceptPhotos(link);
  }

  /** The current call's transfers: those restored after a reload, then the live ones. */
  transfers(link: CallLink | null): readonly TransferView[] {
    const live = link?.transfers.transfers ?? [];
    return this.restored.length === 0 ? live : [...this.restored, ...live];
  }

  /** The call ends: what it received stays downloadable; a call that received nothing is forgotten. */
  end(link: CallLink | null, call: { callId: string; peerName: string } | null): void {
    const received = this.transfers(link).filter(
      (t) => t.direction === 'receive' && t.state === 'done' && t.file !== null,
    );
    if (received.length > 0 && call) {
      this.lastCall = { peerName: call.peerName, transfers: received };
      this.lastCallId = call.callId;
    } else if (call) {
      this.kept.forget(call.callId);
    }
    this.restored = [];
    this.link = null;
  }

  /** Forget the files kept from the last call; false when there were none. */
  forgetLastCall(): boolean {
    const had = this.lastCall !== null;
    if (this.lastCallId) {
      this.kept.forget(this.lastCallId);
    }
    this.lastCallId = null;
    this.lastCall = null;
    return had;
  }

  /** Receive offered photos without asking, within the limits (see PHOTO_AUTO_ACCEPT_MAX_BYTES). */
  private acceptPhotos(link: CallLink): void {
    for (const t of link.transfers.transfers) {
      if (t.direction !== 'receive' || t.state !== 'offered' || !t.photo || this.autoAccepted.has(t.id)) {
        continue;
      }
      if (t.size > PHOTO_AUTO_ACCEPT_MAX_BYTES) {
        continue;
      }
      if (this.autoAcceptedBytes + t.size > PHOTO_AUTO_ACCEPT_CALL_BUDGET) {
        continue;
      }
      this.autoAccepted.add(t.id);
      this.autoAcceptedBytes += t.size;
      link.transfers
        .accept(t.id)
        .catch((error: unknown) => this.options.log(`could not receive the photo ${t.name}`, error));
    }
  }
}
