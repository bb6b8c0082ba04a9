import { onBeforeUnmount, watch, type Ref } from 'vue';

/**
 * The page's one `<video>` of our own camera, shared by the room's preview and the call's
 * picture-in-picture. Answering a call swaps the room view for the call view; with a video element
 * in each, the preview's player was torn down and a new one built and started for the same stream,
 * all on the main thread at the moment the peer connection is being set up. One element that moves
 * from view to view keeps its player, its decoded frames and its playback.
 *
 * The element is created outside Vue's virtual DOM (a view gives it an empty slot element), and
 * between views it waits in a hidden parking spot in the document, so it is never out of the
 * document: a media element taken out of the document is paused, and its next start costs a frame.
 */
let element: HTMLVideoElement | null = null;
let parking: HTMLElement | null = null;

/** The shared local video element (created on first use). */
export function localVideoElement(): HTMLVideoElement {
  if (!element) {
    element = document.createElement('video');
    element.dataset.testid = 'local-video';
    element.autoplay = true;
    element.muted = true;
    element.playsInline = true;
    element.className = 'local-video';
    park();
  }
  return element;
}

/** Move without leaving the document where the browser can (`moveBefore` keeps playback as it is). */
function move(parent: HTMLElement, video: HTMLVideoElement): void {
  if (video.parentElement === parent) {
    return;
  }
  const atomic = parent as HTMLElement & { moveBefore?: (node: Node, child: Node | null) => void };
  if (typeof atomic.moveBefore === 'function' && video.isConnected && parent.isConnected) {
    try {
      atomic.moveBefore(video, null);
      return;
    } catch {
      // Not movable atomically here (e.g. across documents): an ordinary move below.
    }
  }
  parent.append(video);
  // A browser may have paused it on the way; it keeps its stream, so resuming is cheap.
  if (video.srcObject && video.paused) {
    video.play().catch(() => undefined);
  }
}

function park(): void {
  if (!element) {
    return;
  }
  if (!parking) {
    parking = document.createElement('div');
    parking.hidden = true;
    document.body.append(parking);
  }
  move(parking, element);
}

/**
 * Show the shared local video inside `slot` while the calling component is mounted and `active`;
 * it goes back to the parking spot before the component's DOM is removed.
 */
export function useLocalVideo(
  slot: Readonly<Ref<HTMLElement | null>>,
  active: () => boolean = () => true,
): HTMLVideoElement {
  const video = localVideoElement();
  watch(
    [slot, active],
    ([element, on]) => {
      if (element && on) {
        move(element, video);
      } else if (element && video.parentElement === element) {
        park();
      }
    },
    { immediate: true, flush: 'post' },
  );
  onBeforeUnmount(() => {
    if (slot.value && video.parentElement === slot.value) {
      park();
    }
  });
  return video;
}
