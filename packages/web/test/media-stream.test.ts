import { describe, expect, it } from 'vitest';
import { nextTick, shallowRef } from 'vue';
import { useMediaStream } from '../src/composables/useMediaStream.js';

/** Enough of a media element: `srcObject`, `muted` and a counted `play()`. */
function fakeElement() {
  const el = {
    srcObject: null as unknown,
    muted: false,
    plays: 0,
    play(): Promise<void> {
      el.plays++;
      return Promise.resolve();
    },
  };
  return el;
}

describe('useMediaStream', () => {
  it('binds and plays once per element and stream, not on every change of what the getter reads', async () => {
    const el = fakeElement();
    // A shallow ref, as a template ref is (the case where Vue re-runs the watcher on every read).
    const element = shallowRef(el as unknown as HTMLMediaElement);
    const stream = { id: 'remote' } as unknown as MediaStream;
    const snapshot = shallowRef({ stream, bytes: 0 });
    useMediaStream(element, () => snapshot.value.stream);
    await nextTick();
    expect(el.srcObject).toBe(stream);
    expect(el.plays).toBe(1);

    // A transfer's progress replaces the snapshot ten times a second; the stream stays.
    for (let bytes = 1; bytes <= 5; bytes++) {
      snapshot.value = { stream, bytes };
      await nextTick();
    }
    expect(el.plays).toBe(1);

    const other = { id: 'other' } as unknown as MediaStream;
    snapshot.value = { stream: other, bytes: 6 };
    await nextTick();
    expect(el.srcObject).toBe(other);
    expect(el.plays).toBe(2);
  });
});
