import { onScopeDispose, shallowRef, type ShallowRef } from 'vue';

/** Whether the tab is in front (not minimised, not a background tab). */
export function usePageVisible(): Readonly<ShallowRef<boolean>> {
  const visible = shallowRef(document.visibilityState === 'visible');
  const update = () => (visible.value = document.visibilityState === 'visible');
  document.addEventListener('visibilitychange', update);
  onScopeDispose(() => document.removeEventListener('visibilitychange', update));
  return visible;
}
