import type { StorageLike } from '../signaling/signaling-client.js';

/*
 * The user's microphone/camera choice in the current call, kept per tab so a reload never unmutes
 * anyone or turns a camera back on. Its own module because it is tab storage with its own key and
 * format, read once (after a reload) and written on every change.
 */

/** Where this tab keeps the choice (sessionStorage: per tab, gone with the tab). */
const MEDIA_CHOICE_KEY = 'duet.callMedia';

export type MediaChoice = { microphone: boolean; camera: boolean };

export class MediaChoiceMemory {
  constructor(private readonly storage: StorageLike | undefined) {}

  save(callId: string, choice: MediaChoice): void {
    try {
      this.storage?.setItem(MEDIA_CHOICE_KEY, JSON.stringify({ callId, ...choice }));
    } catch {
      // Quota: the reloaded tab then starts unmuted with its camera on, as a new call would.
    }
  }

  /** The choice saved for this call, or null (another call's, none, or a broken entry). */
  load(callId: string): MediaChoice | null {
    try {
      const raw = this.storage?.getItem(MEDIA_CHOICE_KEY);
      // This tab's own earlier state; checked lightly, a broken entry is no entry.
      const value = raw ? (JSON.parse(raw) as Partial<MediaChoice> & { callId?: unknown }) : null;
      if (value?.callId !== callId) {
        return null;
      }
      return { microphone: value.microphone !== false, camera: value.camera !== false };
    } catch {
      return null;
    }
  }

  forget(): void {
    this.storage?.removeItem(MEDIA_CHOICE_KEY);
  }
}
