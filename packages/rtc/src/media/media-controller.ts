import type { MediaState } from '@duet/protocol';
import { Emitter } from '../emitter.js';
import { DuetError, type MediaErrorReason } from '../errors.js';
import {
  DEFAULT_VIDEO,
  capped,
  defaultCreateStream,
  deviceIdOf,
  deviceOptions,
  idFor,
  isListed,
  isLive,
  isLost,
  only,
  sameOptions,
  sameState,
  withDevice,
  type CaptureLimit,
  type DeviceIds,
  type Kind,
  type Wanted,
} from './devices.js';
import {
  MEDIA_ERROR_MESSAGES,
  isMediaReason,
  mapMediaError,
  toDuetError,
  type CaptureSource,
} from './media-errors.js';
import type { DeviceOption, LocalMediaState, MediaDevicesLike, TrackSink } from './media-types.js';

export { mapMediaError, type CaptureSource } from './media-errors.js';

/*
 * Why one class of ~750 lines: every device operation (start, switch, hot-plug recovery, screen
 * share, stop) runs through one queue and one epoch, and splitting it would spread that ordering
 * over several objects; the pure rules live in devices.ts and media-errors.ts.
 */

/**
 * Thrown inside an operation that `stop()` overtook; the queue swallows it, so the caller's promise
 * resolves quietly instead of reporting a failure nobody can act on.
 */
class Stale extends Error {}

type Captured = { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
/** Dependencies of {@link MediaController}, injected so Node tests can stand in for the browser. */
export interface MediaControllerDeps {
  /** `navigator.mediaDevices` (undefined outside a secure context: browsers hide it there). */
  mediaDevices: MediaDevicesLike | undefined;
  /** `globalThis.isSecureContext`. */
  isSecureContext: boolean;
  /** Builds the preview stream; defaults to `new MediaStream(tracks)`, or no preview where that is missing. */
  createStream?: (tracks: MediaStreamTrack[]) => MediaStream;
  /** Microphone constraints; the selected device id is added on top. Default: the browser's. */
  audioConstraints?: MediaTrackConstraints;
  /** Camera constraints; the selected device id is added on top. Default: up to 1280×720 at 30 fps. */
  videoConstraints?: MediaTrackConstraints;
}

/**
 * Owns the local microphone, camera and screen-share tracks: acquisition and its failures, mute,
 * camera on/off, device switching, hot-plugging, and handing the outgoing tracks to the call's
 * {@link TrackSink}. Framework-free; the UI renders {@link MediaController.state} and calls methods.
 *
 * Operations that touch devices run one at a time (a promise queue), so rapid clicks cannot leave two
 * cameras open or let an older request finish last. `stop()` overtakes the queue: anything still
 * waiting or in flight then resolves without effect and releases whatever it had acquired.
 *
 * `state.stream` carries the microphone too, so the UI must render the preview `muted`.
 */
export class MediaController extends Emitter<{ change: LocalMediaState; 'screen-ended': undefined }> {
  /** Called when the sink refuses a track (its call is closing); the local change still stands. */
  onSinkError: (error: unknown, kind: Kind) => void = () => {};

  private readonly devices: MediaDevicesLike | undefined;
  private readonly secure: boolean;
  private readonly createStream: (tracks: MediaStreamTrack[]) => MediaStream | null;
  private readonly audioConstraints: MediaTrackConstraints;
  private readonly videoConstraints: MediaTrackConstraints;
  /** The Data saver's cap on the camera (see `limitCapture`). */
  private captureLimit: CaptureLimit | null = null;

  private mic: MediaStreamTrack | null = null;
  private camera: MediaStreamTrack | null = null;
  private screen: MediaStreamTrack | null = null;
  /** The mute switch; survives device switches and applies to a microphone acquired later. */
  private micEnabled = true;
  /** Whether `start()` opens the camera; after that, a camera track exists exactly when it is on. */
  private wantCamera = true;
  private microphoneId: string | null = null;
  private cameraId: string | null = null;
  private microphones: DeviceOption[] = [];
  private cameras: DeviceOption[] = [];
  private micPresent = false;
  private cameraPresent = false;
  private error: MediaErrorReason | null = null;
  private sink: TrackSink | null = null;

  private started = false;
  private starting: Promise<void> | null = null;
  private picking: Promise<void> | null = null;
  private listening = false;
  /** Bumped by `stop()`; an operation that sees a different value after an await gives up. */
  private epoch = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly endedListeners = new Map<MediaStreamTrack, () => void>();
  private preview: { tracks: MediaStreamTrack[]; stream: MediaStream | null } = { tracks: [], stream: null };
  private snapshot: LocalMediaState;

  constructor(deps: MediaControllerDeps) {
    super();
    this.devices = deps.mediaDevices;
    this.secure = deps.isSecureContext;
    this.createStream = deps.createStream ?? defaultCreateStream;
    this.audioConstraints = deps.audioConstraints ?? {};
    this.videoConstraints = deps.videoConstraints ?? DEFAULT_VIDEO;
    this.snapshot = this.compute();
  }

  /** What the UI shows. A fresh object on every change, announced with `change`. */
  get state(): LocalMediaState {
    return this.snapshot;
  }

  /**
   * Cap what the camera captures (the Data saver setting), or lift the cap (null): applied to the
   * running camera at once and to every camera opened later. Capturing more than the call sends
   * costs the device CPU and battery for a picture the sender then scales down again. A camera that
   * refuses is no failure: the sender's parameters still bound what goes out.
   */
  async limitCapture(limit: CaptureLimit | null): Promise<void> {
    this.captureLimit = limit;
    const camera = this.camera;
    if (!camera || typeof camera.applyConstraints !== 'function') {
      return;
    }
    try {
      await camera.applyConstraints(capped(this.videoConstraints, limit));
    } catch {
      // See above: the sender's parameters still hold.
    }
  }

  /**
   * Open the microphone and, unless `video` is false or there is no camera, the camera — in one
   * `getUserMedia` call so the user sees one prompt. `audio: false` starts muted: the microphone is
   * still opened so that unmuting later is instant and never prompts. Without a camera (or with the
   * camera held by another application) the call goes on audio-only; only when neither device can be
   * opened does this reject. Idempotent: while starting or started, further calls (and their
   * `wanted`) are ignored. Rejects with a {@link DuetError} whose reason also lands in `state.error`.
   */
  start(wanted?: Wanted): Promise<void> {
    if (this.started) {
      return Promise.resolve();
    }
    if (this.starting) {
      return this.starting;
    }
    if (wanted) {
      this.micEnabled = wanted.audio;
      this.wantCamera = wanted.video;
    }
    const run = this.serial((epoch) => this.doStart(epoch));
    this.starting = run;
    const settle = () => {
      if (this.starting === run) {
        this.starting = null;
      }
    };
    void run.then(settle, settle);
    return run;
  }

  /**
   * Send the current microphone and video (screen while sharing, else camera, else nothing) through
   * `sink`, and every later change too; `null` detaches. Not queued behind other operations: a call
   * must not wait for the user to answer a permission prompt, and a sink only ever sees tracks that
   * were current at the time, with the queued operation replacing them when it completes.
   */
  async attach(sink: TrackSink | null): Promise<void> {
    this.sink = sink;
    if (!sink) {
      return;
    }
    await this.send('audio', this.mic);
    await this.send('video', this.shownVideo());
  }

  /**
   * What the user chose, whatever the devices did: the mute switch and whether the camera should be
   * on. Unlike `state` this is not false merely because media has not started yet, so it is what a
   * call keeps across a page reload.
   */
  get choices(): { microphone: boolean; camera: boolean } {
    return { microphone: this.micEnabled, camera: this.wantCamera };
  }

  /** The tracks a new call should send right now. */
  currentTracks(): { audio: MediaStreamTrack | null; video: MediaStreamTrack | null } {
    return { audio: this.mic, video: this.shownVideo() };
  }

  /**
   * Mute or unmute through `track.enabled`: instant, no renegotiation, no prompt, and the peer receives
   * silence. Not queued (nothing to await); an in-flight microphone switch applies it to its new track.
   */
  setMicrophoneEnabled(on: boolean): void {
    this.micEnabled = on;
    if (this.mic) {
      this.mic.enabled = on;
    }
    this.update();
  }

  /**
   * Camera off stops the track, so the camera light goes out (a disabled track would keep it lit), and
   * sends no video unless the screen is being shared. Camera on re-opens the selected camera. Before
   * `start()` this only decides whether `start()` opens the camera.
   */
  setCameraEnabled(on: boolean): Promise<void> {
    return this.serial(async (epoch) => {
      this.wantCamera = on;
      if (!this.started) {
        return;
      }
      if (!on) {
        if (this.camera) {
          await this.swap('video', null, epoch);
        }
      } else if (!this.camera || !isLive(this.camera)) {
        const got = await this.captureWithFallback(only('video'), idFor('video', this.cameraId), epoch);
        await this.swap('video', got.video, epoch, this.cameraId);
        this.error = null;
      }
      this.update();
    });
  }

  /** Switch microphones: open the new one, hand it to the sink, then stop the old one; mute carries over. */
  selectMicrophone(deviceId: string): Promise<void> {
    return this.serial(async (epoch) => {
      if (!this.started) {
        this.microphoneId = deviceId;
      } else if (!(this.mic && isLive(this.mic) && this.microphoneId === deviceId)) {
        await this.switchTo('audio', deviceId, epoch);
        this.error = null;
      }
      this.update();
    });
  }

  /** Switch cameras like {@link selectMicrophone}; with the camera off, only remember the choice. */
  selectCamera(deviceId: string): Promise<void> {
    return this.serial(async (epoch) => {
      if (!this.started || !this.camera) {
        this.cameraId = deviceId;
      } else if (!(isLive(this.camera) && this.cameraId === deviceId)) {
        await this.switchTo('video', deviceId, epoch);
        this.error = null;
      }
      this.update();
    });
  }

  /**
   * Send the screen instead of the camera (which stays open, so returning to it is instant). When the
   * user ends the share from the browser's own "Stop sharing" control, the controller returns to the
   * camera by itself and emits `screen-ended`. No-op while already sharing or picking.
   */
  startScreenShare(): Promise<void> {
    if (this.picking) {
      return this.picking;
    }
    if (this.screen) {
      return Promise.resolve();
    }
    let picked: Promise<{ stream: MediaStream } | { error: unknown }>;
    try {
      const devices = this.requireDevices();
      if (!devices.getDisplayMedia) {
        throw new DuetError('unsupported', 'This browser cannot share the screen');
      }
      // Called now rather than from the queue: Safari and Firefox show the picker only within the
      // click's user activation, which waiting in line behind another operation could outlast.
      picked = devices.getDisplayMedia({ video: true, audio: false }).then(
        (stream) => ({ stream }),
        (error: unknown) => ({ error }),
      );
    } catch (error) {
      return Promise.reject(this.fail(error, 'display'));
    }
    const releaseUnused = () =>
      void picked.then((result) => {
        if ('stream' in result) {
          for (const track of result.stream.getTracks()) {
            track.stop();
          }
        }
      });
    const run = this.serial(
      async (epoch) => {
        const result = await picked;
        if ('error' in result) {
          throw toDuetError(result.error, 'display');
        }
        const tracks = result.stream.getTracks();
        const track = tracks.find((t) => t.kind === 'video');
        for (const t of tracks) {
          if (t !== track) {
            t.stop();
          }
        }
        if (epoch !== this.epoch || this.screen || !track) {
          track?.stop();
          this.check(epoch);
          if (!track) {
            throw new DuetError('unknown', 'The screen picker returned no video');
          }
          return;
        }
        // Tells the encoder to keep resolution (text stays legible) and drop frame rate instead.
        track.contentHint = 'detail';
        this.screen = track;
        this.watch(track, () => this.onScreenEnded(track));
        await this.send('video', track);
        this.check(epoch);
        this.error = null;
        this.update();
      },
      'display',
      releaseUnused,
    );
    this.picking = run;
    const settle = () => {
      if (this.picking === run) {
        this.picking = null;
      }
    };
    void run.then(settle, settle);
    return run;
  }

  /**
   * Stop sharing and send the camera again (re-opened if it died meanwhile), or nothing with the
   * camera off. Does not emit `screen-ended`, which is only for a share the browser ended.
   */
  stopScreenShare(): Promise<void> {
    return this.serial(async (epoch) => {
      await this.leaveScreen(epoch);
      this.update();
    });
  }

  /** What to tell the peer about our media (`MediaState` in the protocol). */
  mediaState(): MediaState {
    return {
      microphone: this.snapshot.microphone,
      camera: this.snapshot.camera,
      screen: this.snapshot.screen,
    };
  }

  /**
   * Stop every track, stop listening to devices and detach the sink. Queued and in-flight operations
   * resolve without effect. Device choices and the mute switch are kept, and `start()` works again.
   */
  stop(): void {
    this.epoch += 1;
    // A fresh queue: the next call must not wait behind a permission prompt nobody will answer.
    this.queue = Promise.resolve();
    if (this.listening) {
      this.devices?.removeEventListener('devicechange', this.onDeviceChange);
    }
    this.listening = false;
    for (const track of [this.mic, this.camera, this.screen]) {
      if (track) {
        this.release(track);
      }
    }
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.sink = null;
    this.started = false;
    this.starting = null;
    this.picking = null;
    this.error = null;
    this.update();
  }

  // ---------------------------------------------------------------------------------------------
  // Operations
  // ---------------------------------------------------------------------------------------------

  private async doStart(epoch: number): Promise<void> {
    const devices = this.requireDevices();
    if (!this.listening) {
      devices.addEventListener('devicechange', this.onDeviceChange);
      this.listening = true;
    }
    try {
      const { got, warning } = await this.captureForStart(epoch);
      this.adopt('audio', got.audio, this.microphoneId);
      this.adopt('video', got.video, this.cameraId);
      this.started = true;
      this.error = warning;
      // Only now does the browser reveal device labels (and, in some browsers, the full list).
      await this.refreshDevices(epoch);
      await this.send('audio', this.mic);
      await this.send('video', this.shownVideo());
      this.check(epoch);
      this.update();
    } catch (error) {
      // Even a failure tells the UI which kinds of device exist (e.g. to word "no camera found").
      if (!(error instanceof Stale)) {
        await this.refreshDevices(epoch);
      }
      throw error;
    }
  }

  /** The fallbacks that keep a call possible when one device is missing or held elsewhere. */
  private async captureForStart(epoch: number): Promise<{ got: Captured; warning: MediaErrorReason | null }> {
    const ids = { audio: this.microphoneId, video: this.cameraId };
    try {
      return {
        got: await this.captureWithFallback({ audio: true, video: this.wantCamera }, ids, epoch),
        warning: null,
      };
    } catch (error) {
      const reason = error instanceof DuetError ? error.reason : null;
      // Chrome fails the whole request when either device is missing or busy; the camera is the
      // likelier culprit, and a call without video beats no call.
      if (
        !this.wantCamera ||
        (reason !== 'no_device' && reason !== 'device_busy' && reason !== 'overconstrained')
      ) {
        throw error;
      }
      try {
        const got = await this.captureWithFallback({ audio: true, video: false }, ids, epoch);
        return { got, warning: reason === 'no_device' ? null : reason };
      } catch (audioError) {
        if (
          reason !== 'no_device' ||
          !(audioError instanceof DuetError) ||
          audioError.reason !== 'no_device'
        ) {
          throw audioError;
        }
        // No microphone at all: a camera alone still lets the peer see us (and read our lips).
        return {
          got: await this.captureWithFallback({ audio: false, video: true }, ids, epoch),
          warning: null,
        };
      }
    }
  }

  /** Replace a track with one from `deviceId`, releasing the old one first only if the device insists. */
  private async switchTo(kind: Kind, deviceId: string, epoch: number): Promise<void> {
    let got: Captured;
    try {
      got = await this.capture(only(kind), idFor(kind, deviceId), epoch);
    } catch (error) {
      if (!(error instanceof DuetError) || error.reason !== 'device_busy' || !this.trackOf(kind)) {
        throw error;
      }
      // Phones (and some Windows camera drivers) cannot open a second camera while one is open. Let go of
      // the old one and try again; if that fails too, the device stays off and the state says so.
      await this.swap(kind, null, epoch);
      got = await this.capture(only(kind), idFor(kind, deviceId), epoch);
    }
    await this.swap(kind, got[kind], epoch, deviceId);
  }

  /** The selected device vanished or its track died: fall back to the default device, or to nothing. */
  private async recover(kind: Kind, epoch: number): Promise<void> {
    const id = kind === 'audio' ? this.microphoneId : this.cameraId;
    const listed = kind === 'audio' ? this.microphones : this.cameras;
    const keep = id !== null && listed.some((o) => o.deviceId === id) ? id : null;
    try {
      const got = await this.captureWithFallback(only(kind), idFor(kind, keep), epoch);
      await this.swap(kind, got[kind], epoch, keep);
    } catch (error) {
      if (error instanceof Stale) {
        throw error;
      }
      await this.swap(kind, null, epoch);
      this.error = mapMediaError(error);
    }
  }

  private async leaveScreen(epoch: number): Promise<void> {
    const screen = this.screen;
    if (!screen) {
      return;
    }
    this.screen = null;
    if (this.camera && !isLive(this.camera)) {
      await this.recover('video', epoch);
    } else {
      await this.send('video', this.camera);
    }
    this.release(screen);
    this.check(epoch);
  }

  /** Devices were plugged or unplugged, or a track died: refresh the lists and repair what broke. */
  private async reconcile(epoch: number): Promise<void> {
    await this.refreshDevices(epoch);
    if (this.started) {
      if (this.mic && isLost(this.mic, this.microphones, this.microphoneId)) {
        await this.recover('audio', epoch);
      }
      if (this.camera && isLost(this.camera, this.cameras, this.cameraId)) {
        await this.recover('video', epoch);
      }
      // A remembered choice that was unplugged would only make the next acquisition fall back anyway.
      if (!this.mic && this.microphones.length > 0 && !isListed(this.microphones, this.microphoneId)) {
        this.microphoneId = null;
      }
      if (!this.camera && this.cameras.length > 0 && !isListed(this.cameras, this.cameraId)) {
        this.cameraId = null;
      }
    }
    this.update();
  }

  private readonly onDeviceChange = (): void => {
    // Failures are recorded in state.error by the queue; there is no caller to reject.
    this.serial((epoch) => this.reconcile(epoch)).catch(() => {});
  };

  private onScreenEnded(track: MediaStreamTrack): void {
    this.serial(async (epoch) => {
      if (this.screen !== track) {
        return;
      }
      await this.leaveScreen(epoch);
      this.update();
      this.emit('screen-ended', undefined);
    }).catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing
  // ---------------------------------------------------------------------------------------------

  /**
   * Run `op` after every earlier operation. A failure is mapped to a {@link DuetError}, recorded in
   * `state.error` and rethrown; it does not block the operations behind it.
   */
  private serial(op: (epoch: number) => Promise<void>, source: CaptureSource = 'user', skipped?: () => void) {
    const epoch = this.epoch;
    const run = async (): Promise<void> => {
      if (epoch !== this.epoch) {
        skipped?.();
        return;
      }
      try {
        await op(epoch);
      } catch (error) {
        if (error instanceof Stale || epoch !== this.epoch) {
          return;
        }
        throw this.fail(error, source);
      }
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => {});
    return result;
  }

  private fail(error: unknown, source: CaptureSource): DuetError {
    const duetError = toDuetError(error, source);
    if (isMediaReason(duetError.reason)) {
      this.error = duetError.reason;
    }
    this.update();
    return duetError;
  }

  private check(epoch: number): void {
    if (epoch !== this.epoch) {
      throw new Stale();
    }
  }

  private requireDevices(): MediaDevicesLike {
    if (!this.secure) {
      throw new DuetError('insecure_context', MEDIA_ERROR_MESSAGES.insecure_context);
    }
    // In a secure context a missing API means an old browser or a locked-down webview, not plain HTTP.
    if (!this.devices) {
      throw new DuetError('unsupported', 'This browser has no camera or microphone API');
    }
    return this.devices;
  }

  private async capture(want: Wanted, ids: DeviceIds, epoch: number): Promise<Captured> {
    const devices = this.requireDevices();
    let stream: MediaStream;
    try {
      stream = await devices.getUserMedia({
        audio: want.audio ? withDevice(this.audioConstraints, ids.audio) : false,
        video: want.video ? withDevice(capped(this.videoConstraints, this.captureLimit), ids.video) : false,
      });
    } catch (error) {
      this.check(epoch);
      throw toDuetError(error, 'user');
    }
    const tracks = stream.getTracks();
    const audio = want.audio ? (tracks.find((t) => t.kind === 'audio') ?? null) : null;
    const video = want.video ? (tracks.find((t) => t.kind === 'video') ?? null) : null;
    const stale = epoch !== this.epoch;
    for (const track of tracks) {
      if (stale || (track !== audio && track !== video)) {
        track.stop();
      }
    }
    this.check(epoch);
    return { audio, video };
  }

  /** Like `capture`, but a remembered device that has since vanished falls back to the default one. */
  private async captureWithFallback(want: Wanted, ids: DeviceIds, epoch: number): Promise<Captured> {
    try {
      return await this.capture(want, ids, epoch);
    } catch (error) {
      const pinned = (want.audio && Boolean(ids.audio)) || (want.video && Boolean(ids.video));
      const vanished =
        error instanceof DuetError && (error.reason === 'no_device' || error.reason === 'overconstrained');
      if (!pinned || !vanished) {
        throw error;
      }
      return await this.capture(want, {}, epoch);
    }
  }

  /**
   * Put `fresh` in place of the current track of `kind`, hand it to the sink, then stop the old one —
   * in that order, so the peer never receives a stopped track.
   */
  private async swap(kind: Kind, fresh: MediaStreamTrack | null, epoch: number, requestedId?: string | null) {
    const old = this.trackOf(kind);
    if (old === fresh) {
      return;
    }
    this.adopt(kind, fresh, requestedId ?? null);
    if (kind === 'audio' || !this.screen) {
      await this.send(kind, fresh);
    }
    if (old) {
      this.release(old);
    }
    this.check(epoch);
  }

  private adopt(kind: Kind, track: MediaStreamTrack | null, requestedId: string | null): void {
    if (kind === 'audio') {
      this.mic = track;
    } else {
      this.camera = track;
    }
    if (!track) {
      return;
    }
    if (kind === 'audio') {
      track.enabled = this.micEnabled;
      this.microphoneId = deviceIdOf(track) ?? requestedId ?? this.microphoneId;
    } else {
      this.cameraId = deviceIdOf(track) ?? requestedId ?? this.cameraId;
    }
    // Unplugging a device or revoking permission ends the track without a word to us otherwise.
    this.watch(track, this.onDeviceChange);
  }

  private trackOf(kind: Kind): MediaStreamTrack | null {
    return kind === 'audio' ? this.mic : this.camera;
  }

  private shownVideo(): MediaStreamTrack | null {
    return this.screen ?? this.camera;
  }

  private async send(kind: Kind, track: MediaStreamTrack | null): Promise<void> {
    const sink = this.sink;
    if (!sink) {
      return;
    }
    try {
      await sink.replaceTrack(kind, track);
    } catch (error) {
      this.onSinkError(error, kind);
    }
  }

  private watch(track: MediaStreamTrack, listener: () => void): void {
    track.addEventListener('ended', listener);
    this.endedListeners.set(track, listener);
  }

  private release(track: MediaStreamTrack): void {
    // Unsubscribe first: some browsers have fired 'ended' for tracks stopped on purpose.
    const listener = this.endedListeners.get(track);
    if (listener) {
      track.removeEventListener('ended', listener);
    }
    this.endedListeners.delete(track);
    track.stop();
  }

  private async refreshDevices(epoch: number): Promise<void> {
    if (!this.devices) {
      return;
    }
    let infos: MediaDeviceInfo[];
    try {
      infos = await this.devices.enumerateDevices();
    } catch {
      // A failed listing says nothing about the devices: keep the last known lists.
      return;
    }
    this.check(epoch);
    this.micPresent = infos.some((d) => d.kind === 'audioinput');
    this.cameraPresent = infos.some((d) => d.kind === 'videoinput');
    const microphones = deviceOptions(infos, 'audioinput');
    const cameras = deviceOptions(infos, 'videoinput');
    // Keep the old arrays when nothing changed, so a shallow-watching UI does not re-render.
    if (!sameOptions(microphones, this.microphones)) {
      this.microphones = microphones;
    }
    if (!sameOptions(cameras, this.cameras)) {
      this.cameras = cameras;
    }
  }

  private previewStream(): MediaStream | null {
    const tracks = [this.mic, this.shownVideo()].filter((t): t is MediaStreamTrack => t !== null);
    const same =
      tracks.length === this.preview.tracks.length && tracks.every((t, i) => t === this.preview.tracks[i]);
    // A new stream object only when the tracks change: a <video> restarts when its srcObject changes.
    if (!same) {
      this.preview = { tracks, stream: tracks.length > 0 ? this.createStream(tracks) : null };
    }
    return this.preview.stream;
  }

  private compute(): LocalMediaState {
    return {
      stream: this.previewStream(),
      microphone: this.mic !== null && this.micEnabled,
      camera: this.camera !== null,
      screen: this.screen !== null,
      hasMicrophone: this.micPresent || this.mic !== null,
      hasCamera: this.cameraPresent || this.camera !== null,
      microphones: this.microphones,
      cameras: this.cameras,
      microphoneId: this.microphoneId,
      cameraId: this.cameraId,
      error: this.error,
    };
  }

  private update(): void {
    const next = this.compute();
    if (sameState(next, this.snapshot)) {
      return;
    }
    this.snapshot = next;
    this.emit('change', next);
  }
}
