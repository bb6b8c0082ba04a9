/**
 * Stand-ins for the browser's media APIs, for Node tests: they behave like Chromium where behaviour
 * matters (error names and their order, hidden labels before a grant, `stop()` not firing `ended`).
 */
import type { MediaDevicesLike, TrackSink } from '../../src/media/media-types.js';

let nextId = 0;

export class FakeMediaStreamTrack extends EventTarget {
  readonly id = `track-${String(++nextId)}`;
  enabled = true;
  readyState: MediaStreamTrackState = 'live';
  contentHint = '';
  stopCalls = 0;
  /** What `applyConstraints` was given, in order. */
  readonly appliedConstraints: MediaTrackConstraints[] = [];

  constructor(
    readonly kind: 'audio' | 'video',
    readonly label: string,
    /** The capturing device; undefined for a screen. */
    readonly deviceId: string | undefined,
  ) {
    super();
  }

  getSettings(): MediaTrackSettings {
    return this.deviceId === undefined ? {} : { deviceId: this.deviceId };
  }

  applyConstraints(constraints: MediaTrackConstraints): Promise<void> {
    this.appliedConstraints.push(constraints);
    return Promise.resolve();
  }

  /** Like browsers, stopping on purpose does not fire `ended`. */
  stop(): void {
    this.stopCalls += 1;
    this.readyState = 'ended';
  }

  /** The browser or the OS ends the track (unplugged, permission revoked, "Stop sharing"). */
  end(): void {
    if (this.readyState === 'ended') {
      return;
    }
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }
}

/** Our fakes as the DOM types the code under test expects. */
export const asTrack = (track: FakeMediaStreamTrack): MediaStreamTrack =>
  track as unknown as MediaStreamTrack;
export const asFake = (track: MediaStreamTrack | null | undefined): FakeMediaStreamTrack | null =>
  (track ?? null) as FakeMediaStreamTrack | null;

export class FakeStream {
  readonly id = `stream-${String(++nextId)}`;
  constructor(readonly tracks: readonly MediaStreamTrack[]) {}
  getTracks(): MediaStreamTrack[] {
    return [...this.tracks];
  }
  getAudioTracks(): MediaStreamTrack[] {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks(): MediaStreamTrack[] {
    return this.tracks.filter((t) => t.kind === 'video');
  }
}

export const createFakeStream = (tracks: MediaStreamTrack[]): MediaStream =>
  new FakeStream(tracks) as unknown as MediaStream;

export interface FakeDevice {
  kind: MediaDeviceKind;
  deviceId: string;
  label: string;
}

export const MIC_A: FakeDevice = { kind: 'audioinput', deviceId: 'mic-a', label: 'Built-in Microphone' };
export const MIC_B: FakeDevice = { kind: 'audioinput', deviceId: 'mic-b', label: 'USB Headset' };
export const CAM_A: FakeDevice = { kind: 'videoinput', deviceId: 'cam-a', label: 'FaceTime HD Camera' };
export const CAM_B: FakeDevice = { kind: 'videoinput', deviceId: 'cam-b', label: 'USB Webcam' };
export const SPEAKER: FakeDevice = { kind: 'audiooutput', deviceId: 'spk', label: 'Speakers' };

const domError = (name: string, message: string) => new DOMException(message, name);

function exactDeviceId(constraint: boolean | MediaTrackConstraints | undefined): string | undefined {
  if (typeof constraint !== 'object') {
    return undefined;
  }
  const id = constraint.deviceId;
  if (typeof id === 'string') {
    return id;
  }
  if (typeof id === 'object' && !Array.isArray(id) && typeof id.exact === 'string') {
    return id.exact;
  }
  return undefined;
}

/**
 * `navigator.mediaDevices` with configurable devices, permission answer, busy devices, one-off
 * failures, a gate to hold requests open, and a record of every request and track.
 */
export class FakeMediaDevices implements MediaDevicesLike {
  /** How the user answers the permission prompt. */
  permission: 'grant' | 'deny' = 'grant';
  /** Becomes true after a successful getUserMedia; before that, listings hide ids and labels. */
  granted = false;
  /** Device ids held by another application (NotReadableError). */
  readonly busy = new Set<string>();
  /** Like a phone: opening a second camera while one is live fails with NotReadableError. */
  singleCamera = false;
  /** Errors thrown by the next getUserMedia / getDisplayMedia calls, in order. */
  readonly userMediaFailures: unknown[] = [];
  readonly displayFailures: unknown[] = [];
  readonly userMediaCalls: MediaStreamConstraints[] = [];
  readonly displayCalls: (DisplayMediaStreamOptions | undefined)[] = [];
  /** Every track handed out, oldest first. */
  readonly tracks: FakeMediaStreamTrack[] = [];
  inFlight = 0;
  maxInFlight = 0;
  getDisplayMedia?: (options?: DisplayMediaStreamOptions) => Promise<MediaStream>;

  private readonly listeners = new Set<() => void>();
  private gate: Promise<void> | null = null;

  constructor(
    public devices: FakeDevice[] = [MIC_A, MIC_B, CAM_A, CAM_B, SPEAKER],
    options: { displayMedia?: boolean } = {},
  ) {
    if (options.displayMedia !== false) {
      this.getDisplayMedia = (o) => this.pickScreen(o);
    }
  }

  /** Make getUserMedia wait (as if the prompt were open) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = null;
      release();
    };
  }

  addEventListener(_type: 'devicechange', listener: () => void): void {
    this.listeners.add(listener);
  }

  removeEventListener(_type: 'devicechange', listener: () => void): void {
    this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    await Promise.resolve();
    const visible = this.granted
      ? this.devices
      : // Before a grant Chromium lists one anonymous entry per kind present.
        [...new Set(this.devices.map((d) => d.kind))].map((kind) => ({ kind, deviceId: '', label: '' }));
    return visible.map((d): MediaDeviceInfo => ({ ...d, groupId: '', toJSON: () => ({ ...d }) }));
  }

  async getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
    this.userMediaCalls.push(constraints);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await (this.gate ?? Promise.resolve());
      if (this.userMediaFailures.length > 0) {
        throw this.userMediaFailures.shift();
      }
      if (!constraints.audio && !constraints.video) {
        throw new TypeError(
          "Failed to execute 'getUserMedia': At least one of audio and video must be requested",
        );
      }
      const picks: [FakeDevice, 'audio' | 'video'][] = [];
      for (const kind of ['audio', 'video'] as const) {
        const constraint = constraints[kind];
        if (!constraint) {
          continue;
        }
        const candidates = this.devices.filter(
          (d) => d.kind === (kind === 'audio' ? 'audioinput' : 'videoinput'),
        );
        if (candidates.length === 0) {
          throw domError('NotFoundError', 'Requested device not found');
        }
        const wanted = exactDeviceId(constraint);
        const device = wanted === undefined ? candidates[0] : candidates.find((d) => d.deviceId === wanted);
        if (!device) {
          throw Object.assign(domError('OverconstrainedError', ''), { constraint: 'deviceId' });
        }
        picks.push([device, kind]);
      }
      // Chromium checks for devices before prompting, and for busy devices after.
      if (this.permission === 'deny') {
        throw domError('NotAllowedError', 'Permission denied');
      }
      for (const [device, kind] of picks) {
        const otherCamera = this.live('video').some(
          (t) => t.deviceId !== undefined && t.deviceId !== device.deviceId,
        );
        if (this.busy.has(device.deviceId) || (kind === 'video' && this.singleCamera && otherCamera)) {
          throw domError('NotReadableError', 'Could not start video source');
        }
      }
      this.granted = true;
      const tracks = picks.map(
        ([device, kind]) => new FakeMediaStreamTrack(kind, device.label, device.deviceId),
      );
      this.tracks.push(...tracks);
      return createFakeStream(tracks.map(asTrack));
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Live tracks, optionally of one kind (screens included in 'video'). */
  live(kind?: 'audio' | 'video'): FakeMediaStreamTrack[] {
    return this.tracks.filter((t) => t.readyState === 'live' && (kind === undefined || t.kind === kind));
  }

  /** Add a device and tell listeners, as plugging in a headset does. */
  plug(device: FakeDevice): void {
    this.devices = [...this.devices, device];
    this.fireDeviceChange();
  }

  /** Remove a device: its tracks end (firing `ended`), then listeners hear `devicechange`. */
  unplug(deviceId: string): void {
    this.devices = this.devices.filter((d) => d.deviceId !== deviceId);
    for (const track of this.live()) {
      if (track.deviceId === deviceId) {
        track.end();
      }
    }
    this.fireDeviceChange();
  }

  fireDeviceChange(): void {
    for (const listener of [...this.listeners]) {
      listener();
    }
  }

  private async pickScreen(options?: DisplayMediaStreamOptions): Promise<MediaStream> {
    this.displayCalls.push(options);
    await Promise.resolve();
    if (this.displayFailures.length > 0) {
      throw this.displayFailures.shift();
    }
    const track = new FakeMediaStreamTrack('video', 'screen:0:0', undefined);
    this.tracks.push(track);
    return createFakeStream([asTrack(track)]);
  }
}

/** A TrackSink that records every replaceTrack and can be told to fail (a closing connection). */
export class RecordingSink implements TrackSink {
  readonly calls: { kind: 'audio' | 'video'; track: MediaStreamTrack | null }[] = [];
  audio: MediaStreamTrack | null = null;
  video: MediaStreamTrack | null = null;
  failWith: Error | null = null;

  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    await Promise.resolve();
    this.calls.push({ kind, track });
    if (this.failWith) {
      throw this.failWith;
    }
    this[kind] = track;
  }
}

/** Let every pending promise callback and zero-delay continuation run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
