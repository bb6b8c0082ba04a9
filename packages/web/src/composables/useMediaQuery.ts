import { onScopeDispose, shallowRef, type ShallowRef } from 'vue';

/** Whether a CSS media query matches now, kept current (e.g. the phone layout's breakpoint). */
export function useMediaQuery(query: string): Readonly<ShallowRef<boolean>> {
  const list = window.matchMedia(query);
  const matches = shallowRef(list.matches);
  const update = (event: MediaQueryListEvent) => (matches.value = event.matches);
  list.addEventListener('change', update);
  onScopeDispose(() => list.removeEventListener('change', update));
  return matches;
}
