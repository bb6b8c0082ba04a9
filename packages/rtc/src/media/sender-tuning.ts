import { scaleFor, type SenderSettings } from './quality-policy.js';

/*
 * The one writer of one peer connection's `RTCRtpSender.setParameters`. Two wishes meet here: the
 * connection's scaled-down first frames (call-session.ts, START_MAX_PIXELS) and the quality policy's
 * step (media/quality-policy.ts). Each is kept as a wish; every write is computed from both (the
 * stronger scale-down wins) against fresh `getParameters()`, one write at a time, because a
 * `setParameters` with a stale transaction id is rejected and two writers would undo each other.
 *
 * No SDP munging: every browser Duet supports takes `maxBitrate`, `maxFramerate` and
 * `scaleResolutionDownBy` through setParameters, and ignores what it does not know (Firefox has no
 * `networkPriority`; a dictionary member it does not know is dropped, not an error).
 */

/** The call's senders, as the connection has them now. */
export interface SenderSource {
  audio(): RTCRtpSender | undefined;
  video(): RTCRtpSender | undefined;
}

/** Two scales this close are the same (the encoder rounds the frame size anyway). */
const SCALE_EPSILON = 0.005;

export class SenderTuning {
  private startScale = 1;
  private target: SenderSettings | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly audioTuned = new WeakSet<RTCRtpSender>();

  constructor(
    private readonly senders: SenderSource,
    private readonly log: (message: string, detail?: unknown) => void = () => {},
  ) {}

  /** The connection's start scale (1: none). Resolves whether the video sender took it. */
  setStartScale(scale: number): Promise<boolean> {
    this.startScale = scale;
    return this.write();
  }

  /** The quality policy's wish; null: none (the browser's defaults). Re-applying the same is cheap. */
  setTarget(settings: SenderSettings | null): Promise<boolean> {
    this.target = settings;
    return this.write();
  }

  /** The video source changed (another camera, a shared screen): its height changes the scale. */
  refresh(): Promise<boolean> {
    return this.write();
  }

  close(): void {
    this.closed = true;
  }

  /** Queued: each write reads the parameters the one before it left. */
  private write(): Promise<boolean> {
    const run = this.queue.then(() => this.apply());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(): Promise<boolean> {
    if (this.closed) {
      return false;
    }
    const video = this.senders.video();
    const wrote = video ? await this.applyVideo(video) : false;
    const audio = this.senders.audio();
    if (audio && this.target) {
      await this.applyAudio(audio, this.target);
    }
    return wrote;
  }

  private async applyVideo(sender: RTCRtpSender): Promise<boolean> {
    const target = this.target;
    const height = sender.track?.kind === 'video' ? (sender.track.getSettings().height ?? null) : null;
    const scale = Math.max(this.startScale, target ? scaleFor(height, target.video.maxHeight) : 1);
    try {
      const parameters = sender.getParameters();
      if (parameters.encodings.length === 0) {
        return false;
      }
      let changed = false;
      for (const encoding of parameters.encodings) {
        if (Math.abs((encoding.scaleResolutionDownBy ?? 1) - scale) > SCALE_EPSILON) {
          encoding.scaleResolutionDownBy = scale;
          changed = true;
        }
        if (encoding.maxBitrate !== target?.video.maxBitrate) {
          changed = true;
          if (target) {
            encoding.maxBitrate = target.video.maxBitrate;
          } else {
            delete encoding.maxBitrate;
          }
        }
        if (encoding.maxFramerate !== target?.video.maxFramerate) {
          changed = true;
          if (target) {
            encoding.maxFramerate = target.video.maxFramerate;
          } else {
            delete encoding.maxFramerate;
          }
        }
      }
      if (target && parameters.degradationPreference !== target.degradationPreference) {
        parameters.degradationPreference = target.degradationPreference;
        changed = true;
      }
      if (changed) {
        await sender.setParameters(parameters);
      }
      return true;
    } catch (error) {
      // Not fatal: the encoder then adapts by itself, as it would without Duet's policy.
      this.log('could not set the video sender parameters', error);
      return false;
    }
  }

  /**
   * Once per sender: the audio priority never changes, and a browser that does not report the
   * fields back (Firefox) would otherwise be written to on every sample.
   */
  private async applyAudio(sender: RTCRtpSender, target: SenderSettings): Promise<void> {
    if (this.audioTuned.has(sender)) {
      return;
    }
    try {
      const parameters = sender.getParameters();
      if (parameters.encodings.length === 0) {
        return; // not negotiated yet: the next sample tries again
      }
      this.audioTuned.add(sender);
      for (const encoding of parameters.encodings) {
        encoding.priority = target.audio.priority;
        encoding.networkPriority = target.audio.networkPriority;
      }
      await sender.setParameters(parameters);
    } catch (error) {
      this.log('could not set the audio sender priority', error);
    }
  }
}
