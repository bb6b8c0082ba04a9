import { computed, onBeforeUnmount, shallowRef } from 'vue';
import { canOfferPictureInPicture } from '../lib/picture-in-picture.js';
import { createLogger } from '../lib/logger.js';

const log = createLogger('pip');

/**
 * Picture-in-picture of the peer's video: the call in a small always-on-top window while the user
 * works in other tabs or apps. The call itself needs nothing for that: its media keeps flowing with
 * the tab in the background. Leaves picture-in-picture when the call screen goes.
 */
export function usePictureInPicture(video: () => HTMLVideoElement | null, dataOnly: () => boolean) {
  const supported = computed(() =>
    typeof document === 'undefined'
      ? false
      : canOfferPictureInPicture(document, HTMLVideoElement.prototype, { dataOnly: dataOnly() }),
  );
  const active = shallowRef(false);

  // The browser's own controls can close the window too: follow its events, not our clicks.
  const onEnter = (): void => {
    active.value = document.pictureInPictureElement === video();
  };
  const onLeave = (): void => {
    active.value = false;
  };
  document.addEventListener('enterpictureinpicture', onEnter, true);
  document.addEventListener('leavepictureinpicture', onLeave, true);

  async function toggle(): Promise<void> {
    const element = video();
    try {
      if (document.pictureInPictureElement) {
        await document.exitPictureInPicture();
      } else if (element) {
        await element.requestPictureInPicture();
      }
    } catch (error) {
      // E.g. the peer's video has no frames yet (its camera is off): nothing to show.
      log.warn('picture-in-picture refused', error);
    }
  }

  onBeforeUnmount(() => {
    document.removeEventListener('enterpictureinpicture', onEnter, true);
    document.removeEventListener('leavepictureinpicture', onLeave, true);
    if (document.pictureInPictureElement) {
      void document.exitPictureInPicture().catch(() => undefined);
    }
  });

  return { supported, active, toggle };
}
