import { onBeforeUnmount, onMounted, type Ref } from 'vue';

/**
 * Keyboard behaviour of a modal: on mount, focus `initial`; Tab and Shift+Tab cycle through the
 * enabled buttons inside `container` (the page behind is inert, but Tab could still reach the
 * browser's own UI and come back at <body>); Escape runs `onEscape`. On unmount, focus returns to
 * whatever had it before, as long as that is still on the page.
 */
export function useModalFocus(options: {
  container: Readonly<Ref<HTMLElement | null>>;
  initial: Readonly<Ref<HTMLElement | null>>;
  onEscape: () => void;
}): void {
  let previous: HTMLElement | null = null;

  function onKeydown(event: KeyboardEvent): void {
    if (event.key === 'Escape') {
      event.preventDefault();
      options.onEscape();
      return;
    }
    const container = options.container.value;
    if (event.key !== 'Tab' || !container) {
      return;
    }
    const focusable = [
      ...container.querySelectorAll<HTMLElement>('button:not(:disabled), [href], select, input'),
    ];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (!first || !last) {
      event.preventDefault();
      return;
    }
    const active = document.activeElement;
    const outside = !container.contains(active);
    if (event.shiftKey && (active === first || outside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || outside)) {
      event.preventDefault();
      first.focus();
    }
  }

  onMounted(() => {
    previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    options.initial.value?.focus();
    document.addEventListener('keydown', onKeydown);
  });

  onBeforeUnmount(() => {
    document.removeEventListener('keydown', onKeydown);
    const target = previous;
    previous = null;
    // In the next frame, not now: focus() forces style and layout at once, and a dialog closes just
    // as the next screen mounts (answering a call), when the peer connection is being set up. By
    // then the next screen is in place, and an element it replaced is no longer connected.
    if (target && target !== document.body) {
      requestAnimationFrame(() => {
        if (target.isConnected && !containsFocusElsewhere()) {
          target.focus();
        }
      });
    }
  });
}

/** Something other than the page itself has focus (the next screen moved it on purpose). */
function containsFocusElsewhere(): boolean {
  const active = document.activeElement;
  return active !== null && active !== document.body;
}
