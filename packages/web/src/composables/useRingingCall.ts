import { onBeforeUnmount, onMounted, shallowRef, type ShallowRef } from 'vue';
import { useRingtone, type RingKind } from './useRingtone.js';

/**
 * For the dialogs of a ringing call (incoming and outgoing): the tone `kind` plays while the dialog
 * is on screen, so it stops however the ringing ends (an answer, a cancel, a timeout). `act` runs
 * one answer at a time with the tone paused; normally the call moves on and the dialog goes, but if
 * it is still there the action failed (and was announced): ring again and let the user retry.
 */
export function useRingingCall(kind: RingKind): {
  busy: Readonly<ShallowRef<boolean>>;
  act: (action: () => Promise<void>) => Promise<void>;
} {
  const busy = shallowRef(false);
  const tone = useRingtone();
  let mounted = false;

  async function act(action: () => Promise<void>): Promise<void> {
    if (busy.value) {
      return;
    }
    // The action first: answering starts the core's answer in a microtask, and this busy state
    // queues a render; queued first, that render (and the call screen's with it) went ahead of the answer.
    const done = action();
    busy.value = true;
    tone.stop();
    await done;
    if (mounted) {
      busy.value = false;
      tone.start(kind);
    }
  }

  onMounted(() => {
    mounted = true;
    tone.start(kind);
  });
  onBeforeUnmount(() => {
    mounted = false;
    tone.stop();
  });
  return { busy, act };
}
