// Ctrl+V of a file or image sends it from anywhere in the call view, so the paste is caught on the
// document, and a rule keeps text pasted into the message box text.
import { onScopeDispose, watch, type Ref } from 'vue';

/** Where a paste landed, as far as the rule cares: outside the view, in a text box, or elsewhere in it. */
export type PasteTarget = 'outside' | 'text-box' | 'view';

/**
 * Whether the view takes a paste's files. Not outside it (focus on nothing in particular counts as
 * inside); and in a text box, text wins whenever the clipboard has any, even when it also holds a
 * picture of that text (office applications copy both).
 */
export function takesPastedFiles(target: PasteTarget, plainText: string): boolean {
  if (target === 'outside') {
    return false;
  }
  return target !== 'text-box' || plainText.trim() === '';
}

/** Where the event target `target` lies relative to `view`. */
export function pasteTarget(target: EventTarget | null, view: HTMLElement | null): PasteTarget {
  const node = target instanceof Node ? target : null;
  const inView = node === null || node === document.body || (view?.contains(node) ?? false);
  if (!inView) {
    return 'outside';
  }
  return node instanceof HTMLTextAreaElement || node instanceof HTMLInputElement ? 'text-box' : 'view';
}

/**
 * While `active`, hand pastes into `view` (or with focus nowhere) to `send`, which returns whether it
 * took something (files, or folders it refused); only then is the browser's own paste prevented.
 */
export function usePastedFiles(
  view: Readonly<Ref<HTMLElement | null>>,
  active: () => boolean,
  send: (data: DataTransfer) => boolean,
): void {
  function onPaste(event: ClipboardEvent): void {
    const data = event.clipboardData;
    if (!data || event.defaultPrevented) {
      return;
    }
    const target = pasteTarget(event.target, view.value);
    const text = target === 'text-box' ? data.getData('text/plain') : '';
    if (takesPastedFiles(target, text) && send(data)) {
      event.preventDefault();
    }
  }

  function listen(on: boolean): void {
    if (on) {
      document.addEventListener('paste', onPaste);
    } else {
      document.removeEventListener('paste', onPaste);
    }
  }
  watch(active, listen, { immediate: true });
  onScopeDispose(() => listen(false));
}
