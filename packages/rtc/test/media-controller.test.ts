import { describe, expect, it, vi } from 'vitest';
import { DuetError } from '../src/errors.js';
import { MediaController, mapMediaError } from '../src/media/media-controller.js';
import type { LocalMediaState } from '../src/media/media-types.js';
import {
  CAM_A,
  FakeMediaDevices,
  FakeStream,
  MIC_A,
  MIC_B,
  RecordingSink,
  SPEAKER,
  asFake,
  createFakeStream,
  flush,
  type FakeDevice,
} from './fakes/media.js';

function setup(
  options: { devices?: FakeDevice[]; secure?: boolean; api?: boolean; displayMedia?: boolean } = {},
) {
  const devices = new FakeMediaDevices(options.devices, { displayMedia: options.displayMedia ?? true });
  const media = new MediaController({
    mediaDevices: options.api === false ? undefined : devices,
    isSecureContext: options.secure ?? true,
    createStream: createFakeStream,
  });
  const sink = new RecordingSink();
  const changes: LocalMediaState[] = [];
  media.on('change', (state) => changes.push(state));
  return { devices, media, sink, changes };
}

/** A started controller with a sink attached and the sink's initial calls cleared. */
async function started(options: Parameters<typeof setup>[0] = {}) {
  const context = setup(options);
  await context.media.start();
  await context.media.attach(context.sink);
  context.sink.calls.length = 0;
  return context;
}

const previewTracks = (state: LocalMediaState) =>
  (state.stream as unknown as FakeStream | null)?.tracks ?? [];

describe('mapMediaError', () => {
  it.each([
    ['NotAllowedError', 'permission_denied'],
    ['PermissionDeniedError', 'permission_denied'],
    ['SecurityError', 'permission_denied'],
    ['NotFoundError', 'no_device'],
    ['DevicesNotFoundError', 'no_device'],
    ['NotReadableError', 'device_busy'],
    ['TrackStartError', 'device_busy'],
    ['AbortError', 'device_busy'],
    ['OverconstrainedError', 'overconstrained'],
    ['ConstraintNotSatisfiedError', 'overconstrained'],
    ['NotSupportedError', 'unsupported'],
    ['InvalidStateError', 'unknown'],
    ['SomethingNew', 'unknown'],
  ] as const)('maps DOMException %s to %s', (name, reason) => {
    expect(mapMediaError(new DOMException('x', name))).toBe(reason);
    // Chrome's OverconstrainedError was long a plain object with a name, not a DOMException.
    expect(mapMediaError({ name, message: 'x' })).toBe(reason);
  });

  it('maps a missing API (TypeError) to unsupported and anything else to unknown', () => {
    expect(mapMediaError(new TypeError("Cannot read properties of undefined (reading 'getUserMedia')"))).toBe(
      'unsupported',
    );
    expect(mapMediaError(new Error('boom'))).toBe('unknown');
    expect(mapMediaError('boom')).toBe('unknown');
    expect(mapMediaError(null)).toBe('unknown');
    expect(mapMediaError({ name: 42 })).toBe('unknown');
  });

  it('maps a refused screen picker to screen_share_denied, other display failures as usual', () => {
    expect(mapMediaError(new DOMException('Permission denied', 'NotAllowedError'), 'display')).toBe(
      'screen_share_denied',
    );
    expect(mapMediaError(new DOMException('x', 'NotReadableError'), 'display')).toBe('device_busy');
  });

  it('keeps the reason of a DuetError', () => {
    expect(mapMediaError(new DuetError('insecure_context', 'x'))).toBe('insecure_context');
  });
});

describe('MediaController.start', () => {
  it('opens microphone and camera with one prompt, then lists labelled devices', async () => {
    const { devices, media, changes } = setup();
    expect(media.state).toMatchObject({ microphone: false, camera: false, stream: null });

    await media.start();

    expect(devices.userMediaCalls).toHaveLength(1);
    expect(devices.userMediaCalls[0]).toMatchObject({ audio: {}, video: { width: { ideal: 1280 } } });
    expect(media.state).toMatchObject({
      microphone: true,
      camera: true,
      screen: false,
      hasMicrophone: true,
      hasCamera: true,
      microphoneId: 'mic-a',
      cameraId: 'cam-a',
      error: null,
    });
    expect(media.state.microphones).toEqual([
      { deviceId: 'mic-a', label: 'Built-in Microphone' },
      { deviceId: 'mic-b', label: 'USB Headset' },
    ]);
    expect(media.state.cameras.map((c) => c.deviceId)).toEqual(['cam-a', 'cam-b']);
    expect(previewTracks(media.state).map((t) => t.kind)).toEqual(['audio', 'video']);
    expect(changes.at(-1)).toBe(media.state);
    expect(media.mediaState()).toEqual({ microphone: true, camera: true, screen: false });
    expect(devices.listenerCount).toBe(1);
  });

  it('is idempotent, concurrently and afterwards', async () => {
    const { devices, media } = setup();
    await Promise.all([media.start(), media.start()]);
    await media.start({ audio: true, video: false });
    expect(devices.userMediaCalls).toHaveLength(1);
    expect(devices.live()).toHaveLength(2);
    expect(devices.listenerCount).toBe(1);
  });

  it('falls back to audio-only without a camera, and that is not an error', async () => {
    const { devices, media } = setup({ devices: [MIC_A] });
    await media.start();
    expect(media.state).toMatchObject({ microphone: true, camera: false, hasCamera: false, error: null });
    expect(devices.userMediaCalls.map((c) => [Boolean(c.audio), Boolean(c.video)])).toEqual([
      [true, true],
      [true, false],
    ]);
    expect(media.currentTracks().video).toBeNull();
  });

  it('does not open the camera for an audio call, though one exists', async () => {
    const { devices, media } = setup();
    await media.start({ audio: true, video: false });
    expect(devices.userMediaCalls).toEqual([{ audio: {}, video: false }]);
    expect(media.state).toMatchObject({ microphone: true, camera: false, hasCamera: true });
  });

  it('starts muted with audio: false, the microphone open for an instant unmute', async () => {
    const { devices, media } = setup();
    await media.start({ audio: false, video: true });
    expect(devices.live('audio')[0]!.enabled).toBe(false);
    expect(media.state.microphone).toBe(false);
    media.setMicrophoneEnabled(true);
    expect(devices.live('audio')[0]!.enabled).toBe(true);
    expect(devices.userMediaCalls).toHaveLength(1);
  });

  it('sends video alone when there is a camera but no microphone', async () => {
    const { media } = setup({ devices: [CAM_A] });
    await media.start();
    expect(media.state).toMatchObject({ microphone: false, camera: true, hasMicrophone: false, error: null });
  });

  it('rejects with no_device when there is neither microphone nor camera', async () => {
    const { devices, media } = setup({ devices: [SPEAKER] });
    await expect(media.start()).rejects.toMatchObject({ name: 'DuetError', reason: 'no_device' });
    expect(media.state).toMatchObject({
      error: 'no_device',
      hasMicrophone: false,
      hasCamera: false,
      stream: null,
    });
    expect(devices.live()).toHaveLength(0);
  });

  it('rejects with insecure_context outside a secure context, without touching the devices', async () => {
    const { devices, media } = setup({ secure: false });
    await expect(media.start()).rejects.toBeInstanceOf(DuetError);
    expect(media.state.error).toBe('insecure_context');
    expect(devices.userMediaCalls).toHaveLength(0);
  });

  it('rejects with unsupported when a secure context has no media API', async () => {
    const { media } = setup({ api: false });
    await expect(media.start()).rejects.toMatchObject({ reason: 'unsupported' });
  });

  it('reports a denied permission, and a later start can succeed', async () => {
    const { devices, media } = setup();
    devices.permission = 'deny';
    const error = await media.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuetError);
    expect(error).toMatchObject({ reason: 'permission_denied' });
    expect((error as DuetError).cause).toBeInstanceOf(DOMException);
    // Labels stay hidden, but the UI learns that devices exist.
    expect(media.state).toMatchObject({ error: 'permission_denied', hasMicrophone: true, microphones: [] });

    devices.permission = 'grant';
    await media.start();
    expect(media.state).toMatchObject({ microphone: true, camera: true, error: null });
  });

  it('goes on audio-only when another application holds the camera, and says so', async () => {
    const { devices, media } = setup();
    devices.busy.add('cam-a');
    await media.start();
    expect(media.state).toMatchObject({
      microphone: true,
      camera: false,
      hasCamera: true,
      error: 'device_busy',
    });
  });

  it('falls back to the default device when a remembered one is gone', async () => {
    const { devices, media } = setup();
    await media.selectCamera('cam-gone');
    await media.start();
    expect(devices.userMediaCalls).toHaveLength(2);
    expect(media.state).toMatchObject({ camera: true, cameraId: 'cam-a', error: null });
  });
});

describe('MediaController tracks and the sink', () => {
  it('attach pushes the current tracks; null detaches', async () => {
    const { devices, media, sink } = setup();
    await media.start();
    await media.attach(sink);
    expect(sink.audio).toBe(media.currentTracks().audio);
    expect(sink.video).toBe(media.currentTracks().video);
    expect(asFake(sink.video)?.deviceId).toBe('cam-a');

    await media.attach(null);
    await media.setCameraEnabled(false);
    expect(sink.video).not.toBeNull();
    expect(devices.live('video')).toHaveLength(0);
  });

  it('mute and unmute flip track.enabled and leave the sink alone', async () => {
    const { devices, media, sink, changes } = await started();
    const mic = devices.live('audio')[0]!;
    const before = changes.length;

    media.setMicrophoneEnabled(false);
    expect(mic.enabled).toBe(false);
    expect(media.state.microphone).toBe(false);
    expect(media.mediaState()).toEqual({ microphone: false, camera: true, screen: false });
    media.setMicrophoneEnabled(false);
    expect(changes.length).toBe(before + 1);

    media.setMicrophoneEnabled(true);
    expect(mic.enabled).toBe(true);
    expect(mic.readyState).toBe('live');
    await flush();
    expect(sink.calls).toEqual([]);
    expect(devices.userMediaCalls).toHaveLength(1);
  });

  it('camera off stops the track and sends nothing; on re-opens the selected camera', async () => {
    const { devices, media, sink } = await started();
    const first = devices.live('video')[0]!;

    await media.setCameraEnabled(false);
    expect(first.readyState).toBe('ended');
    expect(sink.calls).toEqual([{ kind: 'video', track: null }]);
    expect(media.state.camera).toBe(false);
    expect(previewTracks(media.state).map((t) => t.kind)).toEqual(['audio']);

    await media.setCameraEnabled(true);
    const second = devices.live('video')[0]!;
    expect(second).not.toBe(first);
    expect(devices.userMediaCalls.at(-1)).toMatchObject({
      audio: false,
      video: { deviceId: { exact: 'cam-a' } },
    });
    expect(asFake(sink.video)).toBe(second);
    expect(media.state).toMatchObject({ camera: true, cameraId: 'cam-a' });
  });

  it('camera on/off before start only decides what start opens', async () => {
    const { devices, media } = setup();
    await media.setCameraEnabled(false);
    expect(devices.userMediaCalls).toHaveLength(0);
    await media.start();
    expect(devices.userMediaCalls).toEqual([{ audio: {}, video: false }]);
  });

  it('switching microphones replaces the track, stops the old one and keeps the mute', async () => {
    const { devices, media, sink } = await started();
    const old = devices.live('audio')[0]!;
    media.setMicrophoneEnabled(false);

    await media.selectMicrophone('mic-b');

    const fresh = devices.live('audio')[0]!;
    expect(fresh.deviceId).toBe('mic-b');
    expect(fresh.enabled).toBe(false);
    expect(old.readyState).toBe('ended');
    expect(sink.calls).toEqual([{ kind: 'audio', track: fresh }]);
    expect(devices.userMediaCalls.at(-1)).toMatchObject({
      audio: { deviceId: { exact: 'mic-b' } },
      video: false,
    });
    expect(media.state).toMatchObject({ microphoneId: 'mic-b', microphone: false });
  });

  it('switching cameras replaces the track and stops the old one', async () => {
    const { devices, media, sink } = await started();
    const old = devices.live('video')[0]!;
    await media.selectCamera('cam-b');
    expect(old.readyState).toBe('ended');
    expect(devices.live('video').map((t) => t.deviceId)).toEqual(['cam-b']);
    expect(asFake(sink.video)?.deviceId).toBe('cam-b');
    expect(media.state.cameraId).toBe('cam-b');
  });

  it('releases the old camera first on a device that cannot open two at once', async () => {
    const { devices, media, sink } = await started();
    devices.singleCamera = true;
    await media.selectCamera('cam-b');
    expect(devices.live('video').map((t) => t.deviceId)).toEqual(['cam-b']);
    expect(sink.calls.map((c) => asFake(c.track)?.deviceId ?? null)).toEqual([null, 'cam-b']);
    expect(media.state).toMatchObject({ camera: true, cameraId: 'cam-b', error: null });
  });

  it('keeps the current camera when the chosen one cannot be opened', async () => {
    const { devices, media, sink } = await started();
    const current = devices.live('video')[0]!;
    await expect(media.selectCamera('cam-nope')).rejects.toMatchObject({ reason: 'overconstrained' });
    expect(current.readyState).toBe('live');
    expect(sink.calls).toEqual([]);
    expect(media.state).toMatchObject({ camera: true, cameraId: 'cam-a', error: 'overconstrained' });
  });

  it('with the camera off, choosing a camera is only remembered', async () => {
    const { devices, media } = await started();
    await media.setCameraEnabled(false);
    const calls = devices.userMediaCalls.length;
    await media.selectCamera('cam-b');
    expect(devices.userMediaCalls).toHaveLength(calls);
    expect(media.state).toMatchObject({ camera: false, cameraId: 'cam-b' });
    await media.setCameraEnabled(true);
    expect(devices.live('video').map((t) => t.deviceId)).toEqual(['cam-b']);
  });

  it('reports a sink failure to onSinkError and keeps the local change', async () => {
    const { media, sink } = await started();
    const onSinkError = vi.fn();
    media.onSinkError = onSinkError;
    sink.failWith = new DOMException('closed', 'InvalidStateError');
    await media.setCameraEnabled(false);
    expect(onSinkError).toHaveBeenCalledWith(sink.failWith, 'video');
    expect(media.state).toMatchObject({ camera: false, error: null });
  });
});

describe('MediaController screen share', () => {
  it('sends the screen instead of the camera; the browser stopping it returns to the camera', async () => {
    const { devices, media, sink } = await started();
    const camera = devices.live('video')[0]!;

    await media.startScreenShare();
    const screen = asFake(sink.video)!;
    expect(screen.deviceId).toBeUndefined();
    expect(screen.contentHint).toBe('detail');
    expect(devices.displayCalls).toEqual([{ video: true, audio: false }]);
    expect(media.state).toMatchObject({ screen: true, camera: true });
    expect(previewTracks(media.state).at(-1)).toBe(screen);
    expect(media.currentTracks().video).toBe(screen);
    expect(media.mediaState()).toEqual({ microphone: true, camera: true, screen: true });
    expect(camera.readyState).toBe('live');

    const ended = media.waitFor('screen-ended');
    screen.end(); // the browser's own "Stop sharing" button
    await ended;

    expect(asFake(sink.video)).toBe(camera);
    expect(screen.stopCalls).toBe(1);
    expect(media.state).toMatchObject({ screen: false, camera: true });
    expect(previewTracks(media.state).at(-1)).toBe(camera);
  });

  it('returns to no video when the camera was off', async () => {
    const { media, sink } = await started();
    await media.setCameraEnabled(false);
    await media.startScreenShare();
    expect(sink.video).not.toBeNull();

    const ended = media.waitFor('screen-ended');
    asFake(sink.video)!.end();
    await ended;
    expect(sink.video).toBeNull();
    expect(media.state).toMatchObject({ screen: false, camera: false });
  });

  it('turning the camera off while sharing leaves the screen on the sink', async () => {
    const { devices, media, sink } = await started();
    await media.startScreenShare();
    const screen = sink.video;
    await media.setCameraEnabled(false);
    expect(sink.video).toBe(screen);
    expect(devices.live('video')).toEqual([asFake(screen)]);
    await media.stopScreenShare();
    expect(sink.video).toBeNull();
  });

  it('stopScreenShare goes back to the camera without emitting screen-ended', async () => {
    const { devices, media, sink } = await started();
    const camera = devices.live('video')[0]!;
    const onEnded = vi.fn();
    media.on('screen-ended', onEnded);
    await media.startScreenShare();
    const screen = asFake(sink.video)!;
    await media.stopScreenShare();
    expect(asFake(sink.video)).toBe(camera);
    expect(screen.readyState).toBe('ended');
    screen.dispatchEvent(new Event('ended'));
    await flush();
    expect(onEnded).not.toHaveBeenCalled();
  });

  it('re-opens the camera if it died while hidden behind the screen', async () => {
    const { devices, media, sink } = await started();
    const camera = devices.live('video')[0]!;
    await media.startScreenShare();
    camera.stop(); // dead, but without an event
    await media.stopScreenShare();
    const fresh = devices.live('video')[0]!;
    expect(fresh).not.toBe(camera);
    expect(asFake(sink.video)).toBe(fresh);
  });

  it('reports a cancelled picker as screen_share_denied and keeps the camera', async () => {
    const { devices, media, sink } = await started();
    devices.displayFailures.push(new DOMException('Permission denied', 'NotAllowedError'));
    await expect(media.startScreenShare()).rejects.toMatchObject({ reason: 'screen_share_denied' });
    expect(media.state).toMatchObject({ screen: false, camera: true, error: 'screen_share_denied' });
    expect(sink.calls).toEqual([]);
  });

  it('reports unsupported without getDisplayMedia', async () => {
    const { media } = await started({ displayMedia: false });
    await expect(media.startScreenShare()).rejects.toMatchObject({ reason: 'unsupported' });
    expect(media.state.error).toBe('unsupported');
  });

  it('opens one picker for a double click', async () => {
    const { devices, media } = await started();
    await Promise.all([media.startScreenShare(), media.startScreenShare()]);
    await media.startScreenShare();
    expect(devices.displayCalls).toHaveLength(1);
  });
});

describe('MediaController device changes', () => {
  it('refreshes the lists when a device is plugged in', async () => {
    const { devices, media } = await started({ devices: [MIC_A, CAM_A] });
    const changed = media.waitFor('change', (s) => s.microphones.length === 2);
    devices.plug(MIC_B);
    const state = await changed;
    expect(state.microphones.map((m) => m.label)).toEqual(['Built-in Microphone', 'USB Headset']);
    expect(state.microphoneId).toBe('mic-a');
    expect(devices.userMediaCalls).toHaveLength(1);
  });

  it('falls back to the default camera when the selected one is unplugged', async () => {
    const { devices, media, sink } = await started();
    await media.selectCamera('cam-b');
    const changed = media.waitFor('change', (s) => s.cameras.length === 1 && s.cameraId === 'cam-a');
    devices.unplug('cam-b');
    await changed;
    expect(devices.live('video').map((t) => t.deviceId)).toEqual(['cam-a']);
    expect(asFake(sink.video)?.deviceId).toBe('cam-a');
  });

  it('falls back to the default microphone when the selected one is unplugged, keeping the mute', async () => {
    const { devices, media, sink } = await started();
    await media.selectMicrophone('mic-b');
    media.setMicrophoneEnabled(false);
    const changed = media.waitFor('change', (s) => s.microphoneId === 'mic-a');
    devices.unplug('mic-b');
    await changed;
    const mic = devices.live('audio')[0]!;
    expect(mic.deviceId).toBe('mic-a');
    expect(mic.enabled).toBe(false);
    expect(asFake(sink.audio)).toBe(mic);
  });

  it('turns the camera off when the last one is unplugged', async () => {
    const { devices, media, sink } = await started({ devices: [MIC_A, CAM_A] });
    const changed = media.waitFor('change', (s) => !s.hasCamera);
    devices.unplug('cam-a');
    const state = await changed;
    expect(state).toMatchObject({ camera: false, hasCamera: false, error: 'no_device' });
    expect(sink.video).toBeNull();
    expect(devices.live('video')).toHaveLength(0);
  });

  it('re-acquires a track that the browser ended (e.g. permission revoked and restored)', async () => {
    const { devices, media, sink } = await started();
    const mic = devices.live('audio')[0]!;
    const changed = media.waitFor('change', (s) => s.microphone && devices.live('audio')[0] !== mic);
    mic.end();
    await changed;
    expect(asFake(sink.audio)).toBe(devices.live('audio')[0]);
    expect(devices.live('audio')[0]!.deviceId).toBe('mic-a');
  });
});

describe('MediaController serialization and stop', () => {
  it('runs overlapping operations one at a time, so rapid clicks leave one camera', async () => {
    const { devices, media, sink } = await started();
    const release = devices.hold();
    const clicks = [
      media.setCameraEnabled(false),
      media.setCameraEnabled(true),
      media.selectCamera('cam-b'),
      media.setCameraEnabled(false),
      media.setCameraEnabled(true),
      media.selectCamera('cam-a'),
    ];
    await flush();
    release();
    await Promise.all(clicks);
    expect(devices.maxInFlight).toBe(1);
    expect(devices.live('video').map((t) => t.deviceId)).toEqual(['cam-a']);
    expect(asFake(sink.video)).toBe(devices.live('video')[0]);
    expect(media.state).toMatchObject({ camera: true, cameraId: 'cam-a' });
  });

  it('a failed operation does not block the next one', async () => {
    const { devices, media } = await started();
    devices.userMediaFailures.push(new DOMException('x', 'NotAllowedError'));
    await expect(media.selectMicrophone('mic-b')).rejects.toMatchObject({ reason: 'permission_denied' });
    expect(media.state).toMatchObject({
      microphone: true,
      microphoneId: 'mic-a',
      error: 'permission_denied',
    });
    await media.selectMicrophone('mic-b');
    expect(media.state).toMatchObject({ microphoneId: 'mic-b', error: null });
  });

  it('stop() stops every track, stops listening and detaches', async () => {
    const { devices, media, sink } = await started();
    await media.startScreenShare();
    const tracks = devices.live();
    expect(tracks).toHaveLength(3);

    media.stop();

    expect(tracks.every((t) => t.readyState === 'ended')).toBe(true);
    expect(devices.listenerCount).toBe(0);
    expect(media.state).toMatchObject({ microphone: false, camera: false, screen: false, stream: null });
    sink.calls.length = 0;
    await media.start();
    expect(sink.calls).toEqual([]);
    expect(media.state).toMatchObject({ microphone: true, camera: true });
  });

  it('a request still waiting for the prompt when stop() comes releases what it gets', async () => {
    const { devices, media } = setup();
    const release = devices.hold();
    const starting = media.start();
    await flush();
    media.stop();
    release();
    await starting;
    expect(devices.tracks.length).toBeGreaterThan(0);
    expect(devices.live()).toHaveLength(0);
    expect(media.state).toMatchObject({ microphone: false, camera: false, stream: null });
  });

  it('a screen picked after stop() is released', async () => {
    const { devices, media } = await started();
    const sharing = media.startScreenShare();
    media.stop();
    await sharing;
    await flush();
    expect(devices.live()).toHaveLength(0);
  });
});

describe('the capture limit (Data saver)', () => {
  const LIMIT = { maxHeight: 240, maxFrameRate: 15 };
  const CAPPED = { width: { ideal: 427 }, height: { ideal: 240 }, frameRate: { ideal: 15 } };

  it('applies to the running camera at once, and lifting it restores the default', async () => {
    const { media } = await started();
    const camera = asFake(media.currentTracks().video)!;
    await media.limitCapture(LIMIT);
    expect(camera.appliedConstraints.at(-1)).toMatchObject(CAPPED);
    await media.limitCapture(null);
    expect(camera.appliedConstraints.at(-1)).toMatchObject({
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
    });
  });

  it('applies to a camera opened later, with the chosen device still asked for', async () => {
    const { media, devices } = setup();
    await media.limitCapture(LIMIT);
    await media.start();
    expect(devices.userMediaCalls.at(-1)?.video).toMatchObject(CAPPED);
    const other = devices.userMediaCalls.length;
    await media.setCameraEnabled(false);
    await media.setCameraEnabled(true);
    expect(devices.userMediaCalls.length).toBeGreaterThan(other);
    expect(devices.userMediaCalls.at(-1)?.video).toMatchObject({
      ...CAPPED,
      deviceId: { exact: media.state.cameraId },
    });
  });

  it('without a camera there is nothing to apply, and no failure', async () => {
    const { media } = setup();
    await expect(media.limitCapture(LIMIT)).resolves.toBeUndefined();
  });
});
