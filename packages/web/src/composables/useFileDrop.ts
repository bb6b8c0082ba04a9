// Drops are caught on the whole window during a call: a file dropped a few pixels off the video
// must not make the browser navigate away to show it (and end the call).
import { computed, onScopeDispose, shallowRef, watch, type Ref } from 'vue';
import { draggingFiles } from '../lib/files.js';

/**
 * Catch files dragged onto the page while `active`: `dragging` says when to show a drop zone, and
 * `drop` receives what was dropped. Text or links dragged around the page are left alone.
 */
export function useFileDrop(
  active: () => boolean,
  drop: (data: DataTransfer) => void,
): { dragging: Readonly<Ref<boolean>> } {
  // dragenter and dragleave fire for every element the pointer crosses (entering a child leaves its
  // parent), so the zone shows while more elements were entered than left.
  const depth = shallowRef(0);

  function onDragEnter(event: DragEvent): void {
    if (!draggingFiles(event.dataTransfer)) {
      return;
    }
    event.preventDefault();
    depth.value++;
  }
  function onDragOver(event: DragEvent): void {
    if (!draggingFiles(event.dataTransfer)) {
      return;
    }
    event.preventDefault();
    if (event.dataTransfer) {
      event.dataTransfer.dropEffect = 'copy';
    }
  }
  function onDragLeave(): void {
    depth.value = Math.max(0, depth.value - 1);
  }
  function onDrop(event: DragEvent): void {
    depth.value = 0;
    if (!event.dataTransfer || !draggingFiles(event.dataTransfer)) {
      return;
    }
    event.preventDefault();
    drop(event.dataTransfer);
  }

  const EVENTS = [
    ['dragenter', onDragEnter],
    ['dragover', onDragOver],
    ['dragleave', onDragLeave],
    ['drop', onDrop],
  ] as const;
  function listen(on: boolean): void {
    for (const [type, listener] of EVENTS) {
      if (on) {
        window.addEventListener(type, listener);
      } else {
        window.removeEventListener(type, listener);
      }
    }
  }
  watch(active, listen, { immediate: true });
  onScopeDispose(() => listen(false));

  return { dragging: computed(() => depth.value > 0) };
}
