import { onBeforeUnmount, shallowRef, watch, type Ref } from 'vue';

/**
 * Bind a MediaStream to a `<video>`/`<audio>` element. `srcObject` cannot be set from a template, so
 * a watcher does it, then calls `play()`:
 * - AbortError means a newer stream replaced this load before it started; the newer play() covers it.
 * - NotAllowedError means autoplay with sound was refused (no user gesture yet, e.g. right after a
 *   reload restored a call). An `audible` element then plays muted, so the picture still runs, and
 *   `soundBlocked` asks the UI for a button that calls `enableSound()` from a real click.
 */
export function useMediaStream(
  element: Readonly<Ref<HTMLMediaElement | null>>,
  stream: () => MediaStream | null | undefined,
  options: { audible?: boolean } = {},
) {
  const soundBlocked = shallowRef(false);

  function play(el: HTMLMediaElement): void {
    el.play().then(
      () => {
        if (!el.muted) {
          soundBlocked.value = false;
        }
      },
      (error: unknown) => {
        const name = error instanceof DOMException ? error.name : '';
        if (name === 'NotAllowedError' && options.audible && !el.muted) {
          el.muted = true;
          soundBlocked.value = true;
          play(el);
        }
      },
    );
  }

  // What was bound last. Why compare by hand: a template ref is a shallow ref, and Vue runs a
  // watcher over a shallow ref's sources whenever they are re-evaluated, changed or not; `stream()`
  // reads the call's snapshot, which changes with every progress update of a file transfer, so
  // `play()` ran ~10 times a second on each page (~0.3 s of main thread per 64 MiB, profiled).
  let boundElement: HTMLMediaElement | null = null;
  let boundStream: MediaStream | null = null;
  watch(
    [element, stream],
    ([el, media]) => {
      const next = media ?? null;
      if (!el || (el === boundElement && next === boundStream)) {
        return;
      }
      boundElement = el;
      boundStream = next;
      if (el.srcObject !== next) {
        el.srcObject = next;
      }
      if (next) {
        play(el);
      }
    },
    { immediate: true, flush: 'post' },
  );

  onBeforeUnmount(() => {
    // Release the stream so a stopped camera's last frame is not held by a detached element.
    if (element.value) {
      element.value.srcObject = null;
    }
  });

  return {
    soundBlocked,
    /** Call from a click handler: unmutes and plays with the gesture's permission. */
    enableSound: (): void => {
      const el = element.value;
      if (!el) {
        return;
      }
      el.muted = false;
      play(el);
    },
  };
}
