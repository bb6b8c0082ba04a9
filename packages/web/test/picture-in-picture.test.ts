import { describe, expect, it } from 'vitest';
import { canOfferPictureInPicture } from '../src/lib/picture-in-picture.js';

/** A video element's prototype with the standard API, and one without (Firefox). */
const withApi = { requestPictureInPicture: () => Promise.resolve({}) };
const withoutApi = {};

describe('canOfferPictureInPicture (the button is shown only where it can work)', () => {
  it.each([
    ['Chromium / Safari: the API, enabled', { pictureInPictureEnabled: true }, withApi, false, true],
    ['a data-only call: no video to show', { pictureInPictureEnabled: true }, withApi, true, false],
    [
      'turned off by a permissions policy or the user',
      { pictureInPictureEnabled: false },
      withApi,
      false,
      false,
    ],
    ['Firefox: no such API (its own toggle on videos only)', {}, withoutApi, false, false],
    ['the flag without the method', { pictureInPictureEnabled: true }, withoutApi, false, false],
    ['the method without the flag', {}, withApi, false, false],
  ])('%s', (_name, host, prototype, dataOnly, expected) => {
    expect(canOfferPictureInPicture(host, prototype, { dataOnly })).toBe(expected);
  });
});
