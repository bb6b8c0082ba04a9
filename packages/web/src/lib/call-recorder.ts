import { AudioMixer } from './audio-mixer.js';
import { CanvasCompositor, type Tile } from './canvas-compositor.js';
import { createLogger } from './logger.js';
import { finalizeWebm } from './webm-finalize.js';

const log = createLogger('recording');

/** What the recording shows and plays, read again whenever the call changes. */
export interface RecordingSources {
  /** Left to right: the peer, then us. */
  tiles: readonly Tile[];
  /** Whose voices to mix (their audio tracks). */
  audio: ReadonlyArray<MediaStream | null>;
}

/** The container and codecs, the first this browser's MediaRecorder supports. */
const FORMATS = [
  { mimeType: 'video/webm;codecs=vp8,opus', extension: 'webm' },
  { mimeType: 'video/webm', extension: 'webm' },
  // Safari records MP4 only (with its duration written).
  { mimeType: 'video/mp4', extension: 'mp4' },
] as const;
export type RecordingFormat = (typeof FORMATS)[number];

/** The format this browser records, or null where it cannot (no MediaRecorder or canvas capture). */
export function recordingFormat(): RecordingFormat | null {
  if (
    typeof MediaRecorder === 'undefined' ||
    typeof AudioContext === 'undefined' ||
    typeof HTMLCanvasElement.prototype.captureStream !== 'function'
  ) {
    return null;
  }
  return FORMATS.find((format) => MediaRecorder.isTypeSupported(format.mimeType)) ?? null;
}

/*
 * 2.5 Mbit/s for 1280x480 at 24 fps: VP8 looks clean there for talking heads, and ten minutes
 * make about 190 MB, which a browser still holds in memory comfortably.
 */
const VIDEO_BITS_PER_SECOND = 2_500_000;
const AUDIO_BITS_PER_SECOND = 128_000;
/** The recorder hands over its data every second, so a failure late in a call loses little. */
const TIMESLICE_MS = 1000;

/**
 * One recording's browser plumbing: the compositor's picture and the mixer's voices into a
 * MediaRecorder, and at the end one file with its duration and cues. It decides nothing: the
 * recorder state machine (recorder-state.ts) says when to start and stop.
 */
export class CallRecorder {
  readonly format: RecordingFormat;
  private readonly compositor: CanvasCompositor;
  private readonly mixer: AudioMixer;
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private sources: RecordingSources;

  /**
   * Build and start the pipeline (call it from the click that asked for it: see AudioMixer).
   * `onError`: the recorder broke while running. Throws where the browser cannot record.
   */
  constructor(sources: RecordingSources, onError: (error: unknown) => void) {
    const format = recordingFormat();
    if (!format) {
      throw new RecordingUnsupportedError();
    }
    this.format = format;
    this.sources = sources;
    this.compositor = new CanvasCompositor({ tiles: () => this.sources.tiles });
    try {
      this.mixer = new AudioMixer();
    } catch (error) {
      this.compositor.stop();
      throw error;
    }
    try {
      this.mixer.update(sources.audio);
      const video = this.compositor.stream.getVideoTracks();
      this.recorder = new MediaRecorder(new MediaStream([...video, this.mixer.track]), {
        mimeType: format.mimeType,
        videoBitsPerSecond: VIDEO_BITS_PER_SECOND,
        audioBitsPerSecond: AUDIO_BITS_PER_SECOND,
      });
      this.recorder.addEventListener('dataavailable', (event) => {
        if (event.data.size > 0) {
          this.chunks.push(event.data);
        }
      });
      this.recorder.addEventListener('error', (event) => onError(event.error ?? event));
      this.recorder.start(TIMESLICE_MS);
    } catch (error) {
      this.release();
      throw error;
    }
  }

  /** The call changed (a track arrived, a camera went off, a name changed). */
  update(sources: RecordingSources): void {
    this.sources = sources;
    this.mixer.update(sources.audio);
  }

  /**
   * Stop. `keep`: resolve with the finished file (WebM remuxed with its duration and cues; the file
   * as recorded if that fails, which still plays), else with null and nothing kept.
   */
  async stop(keep: boolean): Promise<Blob | null> {
    const stopped = new Promise<void>((resolve) => {
      if (this.recorder.state === 'inactive') {
        resolve();
      } else {
        this.recorder.addEventListener('stop', () => resolve(), { once: true });
        this.recorder.stop();
      }
    });
    await stopped;
    this.release();
    if (!keep) {
      this.chunks.length = 0;
      return null;
    }
    const recorded = new Blob(this.chunks, { type: this.format.mimeType.split(';')[0] });
    this.chunks.length = 0;
    if (this.format.extension !== 'webm' || recorded.size === 0) {
      return recorded;
    }
    try {
      return await finalizeWebm(recorded);
    } catch (error) {
      // Without duration and cues it still plays from the start; better than no file.
      log.warn('could not write the recording’s duration and cues', error);
      return recorded;
    }
  }

  private release(): void {
    this.compositor.stop();
    this.mixer.close();
  }
}

export class RecordingUnsupportedError extends Error {
  override readonly name = 'RecordingUnsupportedError';
  constructor() {
    super('This browser cannot record a call (MediaRecorder or canvas capture is missing).');
  }
}
