import { onScopeDispose, watch, type WatchSource } from 'vue';

/**
 * Run `close` when Escape is pressed while `active` is true: closes panels that are not dialogs
 * (settings, statistics). Listens on the document so it works wherever focus is.
 */
export function useEscape(active: WatchSource<boolean>, close: () => void): void {
  const onKeydown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    close();
  };
  const stop = watch(
    active,
    (isActive) => {
      if (isActive) {
        document.addEventListener('keydown', onKeydown);
      } else {
        document.removeEventListener('keydown', onKeydown);
      }
    },
    { immediate: true },
  );
  onScopeDispose(() => {
    stop();
    document.removeEventListener('keydown', onKeydown);
  });
}
