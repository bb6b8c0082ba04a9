import { DuetError, type MediaErrorReason } from '../errors.js';

/*
 * What a failed getUserMedia/getDisplayMedia means to a person. Why its own module: the mapping is a
 * table of browser quirks (legacy names, Firefox's AbortError) that the UI and tests use on their
 * own, apart from the device juggling in media-controller.ts.
 */

/** Which browser prompt a media failure came from: camera/microphone, or the screen picker. */
export type CaptureSource = 'user' | 'display';

const MEDIA_REASONS: ReadonlySet<string> = new Set<MediaErrorReason>([
  'permission_denied',
  'no_device',
  'device_busy',
  'insecure_context',
  'overconstrained',
  'screen_share_denied',
  'unsupported',
  'unknown',
]);

export function isMediaReason(reason: string): reason is MediaErrorReason {
  return MEDIA_REASONS.has(reason);
}

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('name' in error)) {
    return undefined;
  }
  return typeof error.name === 'string' ? error.name : undefined;
}

/**
 * Translate a `getUserMedia` / `getDisplayMedia` rejection into a reason the UI can explain.
 *
 * Matches on `name` rather than `instanceof DOMException`: Chrome's `OverconstrainedError` was not a
 * DOMException for years, and the legacy names (`PermissionDeniedError`, `DevicesNotFoundError`,
 * `TrackStartError`, `ConstraintNotSatisfiedError`) come from pre-standard Chrome and adapter shims.
 * With `source: 'display'` a refusal means the user closed the screen picker (or the OS denied screen
 * recording), which the UI words differently from a camera refusal.
 */
export function mapMediaError(error: unknown, source: CaptureSource = 'user'): MediaErrorReason {
  if (error instanceof DuetError && isMediaReason(error.reason)) {
    return error.reason;
  }
  switch (errorName(error)) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return source === 'display' ? 'screen_share_denied' : 'permission_denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return 'no_device';
    // Firefox reports a camera held by another application as AbortError ("Starting videoinput failed").
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'device_busy';
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return 'overconstrained';
    // A TypeError here means the API (or a method on it) is missing, e.g. getDisplayMedia on a phone.
    case 'NotSupportedError':
    case 'TypeError':
      return 'unsupported';
    default:
      return 'unknown';
  }
}

export const MEDIA_ERROR_MESSAGES: Record<MediaErrorReason, string> = {
  permission_denied: 'Camera or microphone access was denied',
  no_device: 'No camera or microphone was found',
  device_busy: 'The camera or microphone is in use by another application',
  insecure_context: 'Camera and microphone need HTTPS (or localhost)',
  overconstrained: 'The selected device is not available',
  screen_share_denied: 'Screen sharing was cancelled or denied',
  unsupported: 'This browser does not support this media feature',
  unknown: 'Camera or microphone failed',
};

export function toDuetError(error: unknown, source: CaptureSource): DuetError {
  if (error instanceof DuetError) {
    return error;
  }
  const reason = mapMediaError(error, source);
  return new DuetError(reason, MEDIA_ERROR_MESSAGES[reason], { cause: error });
}
