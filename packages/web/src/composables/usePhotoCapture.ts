// "Take photo" sends what the local camera shows now, with a camera's flash so the user sees that
// it happened; the photo travels as an ordinary file transfer marked as a photo.
import { shallowRef, type ShallowRef } from 'vue';
import { captureFrame, photoFileName } from '../lib/files.js';

export interface PhotoCaptureOptions {
  /** The element showing our camera. */
  video: HTMLVideoElement;
  /** It shows the camera (not a shared screen) and has a picture. */
  canTake: () => boolean;
  /** Offer the photo to the peer. */
  send: (photo: Blob, name: string) => void;
  /** No frame could be captured or sent: tell the user. */
  failed: () => void;
}

export function usePhotoCapture({ video, canTake, send, failed }: PhotoCaptureOptions): {
  /** True from the shutter until the flash element reports its animation ended (set it back then). */
  flashing: ShallowRef<boolean>;
  takePhoto: () => Promise<void>;
} {
  const flashing = shallowRef(false);

  async function takePhoto(): Promise<void> {
    if (!video.isConnected || !canTake()) {
      return;
    }
    flashing.value = true;
    try {
      const blob = await captureFrame(video);
      send(blob, photoFileName(new Date()));
    } catch {
      failed();
    }
  }

  return { flashing, takePhoto };
}
