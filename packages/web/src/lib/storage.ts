/**
 * Small wrappers around Web Storage. Storage can be missing or throw (Safari private mode, disabled
 * cookies, a full quota); remembering a setting is a convenience, so a failure only means "not
 * remembered" and must never break the app.
 */

/** Keys this app stores. The call core keeps its own session token; these are UI preferences only. */
export const STORAGE_KEYS = {
  room: 'duet.room',
  name: 'duet.name',
  locale: 'duet.locale',
  audioOnly: 'duet.audioOnly',
  /** The video quality setting: `auto` (also when absent or unknown), `saver` or `high`. */
  quality: 'duet.quality',
  /** Per tab (sessionStorage): the call core's log lines go to the console (`?debug` in the address). */
  debug: 'duet.debug',
} as const;

type Area = 'local' | 'session';

function area(which: Area): Storage | null {
  try {
    return which === 'local' ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
}

export function readSetting(key: string, which: Area = 'local'): string | null {
  try {
    return area(which)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function writeSetting(key: string, value: string | null, which: Area = 'local'): void {
  try {
    const storage = area(which);
    if (value === null) {
      storage?.removeItem(key);
    } else {
      storage?.setItem(key, value);
    }
  } catch {
    // Not remembered; see above.
  }
}
