import type { DeviceOption, LocalMediaState } from './media-types.js';

/*
 * Small pure rules about devices and tracks: the constraints asked for, which listed device a track
 * is, whether a device list or a state changed. Kept apart so media-controller.ts holds only the
 * ordering of device operations.
 */

export type Kind = 'audio' | 'video';
export type Wanted = { audio: boolean; video: boolean };
export type DeviceIds = { audio?: string | null; video?: string | null };

// Browsers open cameras at 640×480 unless asked; `ideal` (never `min`) cannot fail on a weaker camera,
// and the encoder scales down on its own when the network cannot carry 720p.
export const DEFAULT_VIDEO: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30 },
};

/** A cap on what the camera captures (see `MediaController.limitCapture`). */
export interface CaptureLimit {
  maxHeight: number;
  maxFrameRate: number;
}

/**
 * The camera constraints under a capture limit. `ideal`, not `max`: a camera that cannot go that low
 * still opens (a `max` it cannot meet is an OverconstrainedError), and the sender's parameters bound
 * what goes out anyway. 16:9 like the default.
 */
export function capped(
  constraints: MediaTrackConstraints,
  limit: CaptureLimit | null,
): MediaTrackConstraints {
  if (!limit) {
    return constraints;
  }
  return {
    ...constraints,
    width: { ideal: Math.round((limit.maxHeight * 16) / 9) },
    height: { ideal: limit.maxHeight },
    frameRate: { ideal: limit.maxFrameRate },
  };
}

export function defaultCreateStream(tracks: MediaStreamTrack[]): MediaStream | null {
  return 'MediaStream' in globalThis ? new MediaStream(tracks) : null;
}

export function withDevice(
  base: MediaTrackConstraints,
  deviceId: string | null | undefined,
): MediaTrackConstraints {
  return deviceId ? { ...base, deviceId: { exact: deviceId } } : { ...base };
}

export function isLive(track: MediaStreamTrack): boolean {
  return track.readyState === 'live';
}

export function deviceIdOf(track: MediaStreamTrack): string | null {
  const id = track.getSettings().deviceId;
  return id === undefined || id === '' ? null : id;
}

export function only(kind: Kind): Wanted {
  return { audio: kind === 'audio', video: kind === 'video' };
}

export function idFor(kind: Kind, deviceId: string | null): DeviceIds {
  return kind === 'audio' ? { audio: deviceId } : { video: deviceId };
}

export function deviceOptions(infos: readonly MediaDeviceInfo[], kind: MediaDeviceKind): DeviceOption[] {
  const seen = new Set<string>();
  const options: DeviceOption[] = [];
  for (const info of infos) {
    // Before the first grant browsers list a placeholder with an empty id: it proves a device exists
    // (see hasMicrophone/hasCamera) but cannot be selected.
    if (info.kind !== kind || info.deviceId === '' || seen.has(info.deviceId)) {
      continue;
    }
    seen.add(info.deviceId);
    options.push({ deviceId: info.deviceId, label: info.label });
  }
  return options;
}

export function sameOptions(a: readonly DeviceOption[], b: readonly DeviceOption[]): boolean {
  return a.length === b.length && a.every((o, i) => o.deviceId === b[i]?.deviceId && o.label === b[i].label);
}

export function sameState(a: LocalMediaState, b: LocalMediaState): boolean {
  return (
    a.stream === b.stream &&
    a.microphone === b.microphone &&
    a.camera === b.camera &&
    a.screen === b.screen &&
    a.hasMicrophone === b.hasMicrophone &&
    a.hasCamera === b.hasCamera &&
    a.microphones === b.microphones &&
    a.cameras === b.cameras &&
    a.microphoneId === b.microphoneId &&
    a.cameraId === b.cameraId &&
    a.error === b.error
  );
}

export function isListed(options: readonly DeviceOption[], deviceId: string | null): boolean {
  return deviceId === null || options.some((o) => o.deviceId === deviceId);
}

/** Whether the track in use needs replacing after a device change. */
export function isLost(
  track: MediaStreamTrack,
  options: readonly DeviceOption[],
  deviceId: string | null,
): boolean {
  // An empty list says nothing (a browser may hide devices); a dead track always needs replacing.
  return !isLive(track) || (options.length > 0 && !isListed(options, deviceId));
}
