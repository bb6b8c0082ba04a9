import { onScopeDispose, shallowRef } from 'vue';

/** The current time, refreshed every `intervalMs` while the calling component lives (call timer). */
export function useNow(intervalMs = 1000) {
  const now = shallowRef(Date.now());
  const timer = setInterval(() => (now.value = Date.now()), intervalMs);
  onScopeDispose(() => clearInterval(timer));
  return now;
}
