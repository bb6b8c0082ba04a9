import type { ChatState } from '../data/chat.js';
import type { MessengerState } from '../data/messenger.js';
import type { StorageLike } from '../signaling/signaling-client.js';

/*
 * One call's chat, the messenger's delivery state and the restore key, kept in this tab's storage
 * so they survive a page reload into the running call (see CallLink). Saves are coalesced: chat and
 * delivery state change in bursts.
 */

export interface CallSnapshot {
  messenger: MessengerState;
  chat: ChatState;
  key: string | null;
}

const SAVE_DELAY_MS = 200;

export class SavedCall {
  private readonly storageKey: string;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    callId: string,
    private readonly storage: StorageLike | undefined,
    /** The state to save, read when a save happens. */
    private readonly snapshot: () => CallSnapshot,
  ) {
    this.storageKey = `duet.call.${callId}`;
  }

  /** What this tab saved of the call before (a reload), or undefined. */
  load(): CallSnapshot | undefined {
    try {
      const raw = this.storage?.getItem(this.storageKey);
      if (!raw) {
        return undefined;
      }
      // Our own earlier state in this tab; shape-checked lightly, a broken entry is no entry.
      const value = JSON.parse(raw) as { messenger?: MessengerState; chat?: ChatState; key?: unknown };
      if (!value.messenger || !value.chat || !Array.isArray(value.chat.messages)) {
        return undefined;
      }
      return {
        messenger: value.messenger,
        chat: value.chat,
        key: typeof value.key === 'string' ? value.key : null,
      };
    } catch {
      return undefined;
    }
  }

  /** Save soon, once for a burst of changes. */
  scheduleSave(): void {
    if (!this.storage || this.saveTimer) {
      return;
    }
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, SAVE_DELAY_MS);
  }

  /** Save now (the page is going away, or the call closes without ending). */
  saveNow(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.save();
  }

  /** The call ended: nothing of it is to come back. */
  discard(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.storage?.removeItem(this.storageKey);
  }

  private save(): void {
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(this.snapshot()));
    } catch {
      // Quota: history is a convenience, the call goes on.
    }
  }
}
