/**
 * Media assertions that work on any page, whichever tool drives it (Playwright for Chromium,
 * puppeteer-core for Firefox): each takes an `Evaluate` for its page. The in-page functions below are
 * serialized into the page, so they must not reference anything outside themselves.
 */
import type { MediaState } from '@duet/protocol';
import type { StatsSummary } from '@duet/rtc';
import { expect } from '@playwright/test';

/** Runs `fn(arg)` in a page and resolves with its (JSON) result. */
export type Evaluate = <Arg, R>(fn: (arg: Arg) => R | Promise<R>, arg: Arg) => Promise<R>;

/** The app's call statistics (`window.__duet.snapshot.stats`), sampled about once a second. */
export type DuetStats = StatsSummary;

/** What the peer says about its microphone, camera and screen share. */
export type RemoteMediaState = MediaState;

export interface VideoState {
  found: boolean;
  readyState: number;
  videoWidth: number;
  videoHeight: number;
  audioTrack: string | null;
  videoTrack: string | null;
}

/** What a `<video data-testid=…>` shows right now. */
export function videoState(testId: string): VideoState {
  const video = document.querySelector<HTMLVideoElement>(`video[data-testid="${testId}"]`);
  const stream = video?.srcObject instanceof MediaStream ? video.srcObject : null;
  return {
    found: video !== null,
    readyState: video?.readyState ?? -1,
    videoWidth: video?.videoWidth ?? 0,
    videoHeight: video?.videoHeight ?? 0,
    audioTrack: stream?.getAudioTracks()[0]?.readyState ?? null,
    videoTrack: stream?.getVideoTracks()[0]?.readyState ?? null,
  };
}

/**
 * How many frames a `<video data-testid=…>` presents within `windowMs` (requestVideoFrameCallback
 * callbacks): a decoder that keeps producing frames, not a frozen last picture. -1: no such element.
 */
export function countVideoFrames(arg: { testId: string; windowMs: number }): Promise<number> {
  const video = document.querySelector<HTMLVideoElement>(`video[data-testid="${arg.testId}"]`);
  if (!video) {
    return Promise.resolve(-1);
  }
  return new Promise((resolve) => {
    let frames = 0;
    const started = performance.now();
    const onFrame = (): void => {
      frames += 1;
      if (performance.now() - started < arg.windowMs) {
        video.requestVideoFrameCallback(onFrame);
      }
    };
    video.requestVideoFrameCallback(onFrame);
    setTimeout(() => resolve(frames), arg.windowMs);
  });
}

/** The app's latest call statistics (sampled about once a second). */
export function duetStats(): DuetStats | null {
  return window.__duet?.snapshot.stats ?? null;
}

/** What the peer says about its microphone, camera and screen share. */
export function duetRemoteMedia(): RemoteMediaState | null {
  return window.__duet?.snapshot.call?.remoteMedia ?? null;
}

/** The highest inbound audio level the app reports while sampling every 100 ms for `windowMs`. */
export function maxAudioLevel(windowMs: number): Promise<number> {
  return new Promise((resolve) => {
    let max = 0;
    const sample = (): void => {
      max = Math.max(max, window.__duet?.snapshot.stats?.audioLevel ?? 0);
    };
    const timer = setInterval(sample, 100);
    setTimeout(() => {
      clearInterval(timer);
      sample();
      resolve(max);
    }, windowMs);
  });
}

/** The number of frames the app's inbound video has decoded, `windowMs` apart: [before, after]. */
export function framesDecodedOver(windowMs: number): Promise<[number, number]> {
  const read = (): number => window.__duet?.snapshot.stats?.framesDecoded ?? -1;
  const before = read();
  return new Promise((resolve) => setTimeout(() => resolve([before, read()]), windowMs));
}

/**
 * Init script: every camera track the page gets is scaled to `size` (like a camera that can do only
 * that), whatever the page asked for.
 */
export function fixCameraSize(size: { width: number; height: number }): void {
  // Absent where the page is not a secure context (about:blank before the app loads).
  if (!('mediaDevices' in navigator)) {
    return;
  }
  const mediaDevices = navigator.mediaDevices;
  const original = mediaDevices.getUserMedia.bind(mediaDevices);
  mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    for (const track of stream.getVideoTracks()) {
      await track.applyConstraints({ width: { exact: size.width }, height: { exact: size.height } });
    }
    return stream;
  };
}

const MEDIA_TIMEOUT_MS = 20_000;

/**
 * The remote video has enough data to play, keeps presenting new frames, and the remote audio
 * track is live.
 */
export async function expectRemoteMediaFlowing(evaluate: Evaluate, who: string): Promise<void> {
  await expect
    .poll(async () => (await evaluate(videoState, 'remote-video')).readyState, {
      message: `${who}: remote video reaches HAVE_ENOUGH_DATA`,
      timeout: MEDIA_TIMEOUT_MS,
    })
    .toBeGreaterThanOrEqual(4);
  await expectRemoteVideoDecoding(evaluate, who);
  const state = await evaluate(videoState, 'remote-video');
  expect(state.videoWidth, `${who}: remote video has a width`).toBeGreaterThan(0);
  expect(state.videoHeight, `${who}: remote video has a height`).toBeGreaterThan(0);
  expect(state.audioTrack, `${who}: remote audio track`).toBe('live');
}

/** At least a few new frames per second reach the remote `<video>`. */
export async function expectRemoteVideoDecoding(evaluate: Evaluate, who: string): Promise<void> {
  await expect
    .poll(() => evaluate(countVideoFrames, { testId: 'remote-video', windowMs: 1000 }), {
      message: `${who}: remote video keeps presenting frames`,
      timeout: MEDIA_TIMEOUT_MS,
      intervals: [0],
    })
    .toBeGreaterThanOrEqual(3);
}

/**
 * The remote video shows a picture of the given aspect ratio, no larger than `maxWidth`: a camera's
 * picture as the encoder sends it (it may scale it down when CPU or bandwidth run short).
 */
export async function expectRemoteVideoShape(
  evaluate: Evaluate,
  who: string,
  camera: { width: number; height: number },
): Promise<void> {
  const aspect = (camera.width / camera.height).toFixed(2);
  await expect
    .poll(
      async () => {
        const { videoWidth: width, videoHeight: height } = await evaluate(videoState, 'remote-video');
        if (width === 0 || height === 0) {
          return 'no picture';
        }
        if (width > camera.width) {
          return `${width}x${height}: larger than ${camera.width}x${camera.height}`;
        }
        return `aspect ${(width / height).toFixed(2)}`;
      },
      {
        message: `${who}: remote video is the ${camera.width}x${camera.height} camera`,
        timeout: MEDIA_TIMEOUT_MS,
      },
    )
    .toBe(`aspect ${aspect}`);
}

/** The remote video's intrinsic size becomes `width`x`height`. */
export async function expectRemoteVideoSize(
  evaluate: Evaluate,
  who: string,
  width: number,
  height: number,
): Promise<void> {
  await expect
    .poll(
      async () => {
        const state = await evaluate(videoState, 'remote-video');
        return `${state.videoWidth}x${state.videoHeight}`;
      },
      { message: `${who}: remote video size`, timeout: MEDIA_TIMEOUT_MS },
    )
    .toBe(`${width}x${height}`);
}
