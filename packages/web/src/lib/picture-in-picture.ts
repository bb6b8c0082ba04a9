/** The parts of `document` that say whether picture-in-picture can be offered. */
export interface PictureInPictureHost {
  pictureInPictureEnabled?: boolean;
}

/**
 * Whether to offer picture-in-picture: the standard API (Chromium, Safari) exists and is allowed
 * (`pictureInPictureEnabled` is false when a permissions policy or the user turned it off). Firefox
 * has its own PiP toggle on videos but not this API: there the button is not shown rather than one
 * that cannot work. A call without video (chat and files only) has nothing to show in it.
 */
export function canOfferPictureInPicture(
  host: PictureInPictureHost,
  videoPrototype: object,
  call: { dataOnly: boolean },
): boolean {
  return (
    host.pictureInPictureEnabled === true &&
    typeof (videoPrototype as { requestPictureInPicture?: unknown }).requestPictureInPicture === 'function' &&
    !call.dataOnly
  );
}
