import { shallowRef, type ShallowRef } from 'vue';
import type { Message } from './messages.js';

/*
 * The notices on screen (and in the live region): a short queue, each notice gone after its time,
 * an identical message within a few seconds shown once. Apart from useDuet because it is about what
 * the screen can hold, not about the call core.
 */

export type NoticeTone = 'info' | 'success' | 'error';

/** A notice on screen and in the live region. Holds a message key, translated when rendered. */
export interface UiNotice {
  id: number;
  message: Message;
  tone: NoticeTone;
}

/** How long a notice stays on screen. Errors stay longer: they usually ask the user to do something. */
const NOTICE_TTL_MS: Record<NoticeTone, number> = { info: 8_000, success: 6_000, error: 20_000 };
/** Older notices give way: a burst of failures should not bury the screen. */
const MAX_NOTICES = 4;
/**
 * The core may both reject an action and emit a notice for the same failure; an identical message
 * within this window is shown once.
 */
const DUPLICATE_WINDOW_MS = 3_000;

/** Plain functions, not methods: callers take them apart. */
export interface NoticeQueue {
  readonly notices: ShallowRef<readonly UiNotice[]>;
  readonly notify: (message: Message, tone?: NoticeTone) => void;
  readonly dismiss: (id: number) => void;
  /** Stop every notice's timer (the app is going away). */
  readonly dispose: () => void;
}

export function createNoticeQueue(): NoticeQueue {
  const notices = shallowRef<readonly UiNotice[]>([]);
  let nextNoticeId = 1;
  const noticeTimers = new Map<number, ReturnType<typeof setTimeout>>();
  const recentMessages = new Map<string, number>();

  function notify(message: Message, tone: NoticeTone = 'info'): void {
    const fingerprint = JSON.stringify(message);
    const now = Date.now();
    const seen = recentMessages.get(fingerprint);
    if (seen !== undefined && now - seen < DUPLICATE_WINDOW_MS) {
      return;
    }
    recentMessages.set(fingerprint, now);
    for (const [key, at] of recentMessages) {
      if (now - at >= DUPLICATE_WINDOW_MS) {
        recentMessages.delete(key);
      }
    }

    const notice: UiNotice = { id: nextNoticeId++, message, tone };
    const kept = [...notices.value, notice];
    for (const dropped of kept.splice(0, Math.max(0, kept.length - MAX_NOTICES))) {
      clearTimer(dropped.id);
    }
    notices.value = kept;
    noticeTimers.set(
      notice.id,
      setTimeout(() => dismiss(notice.id), NOTICE_TTL_MS[tone]),
    );
  }

  function clearTimer(id: number): void {
    clearTimeout(noticeTimers.get(id));
    noticeTimers.delete(id);
  }

  function dismiss(id: number): void {
    clearTimer(id);
    notices.value = notices.value.filter((notice) => notice.id !== id);
  }

  function dispose(): void {
    for (const id of [...noticeTimers.keys()]) {
      clearTimer(id);
    }
  }

  return { notices, notify, dismiss, dispose };
}
