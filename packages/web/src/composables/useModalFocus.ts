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
    if (event.key !== 'Tab' || !container) return;
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
    if (previous?.isConnected) previous.focus();
  });
}
