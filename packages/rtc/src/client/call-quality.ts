import type { BodyOf } from '@duet/protocol';
import type { StatsSummary } from '../media/media-types.js';
import {
  CEILING,
  VIDEO_STEPS,
  captureLimit,
  changeMode,
  initialQuality,
  nextQuality,
  senderSettings,
  type LimitReason,
  type QualityMode,
  type QualityState,
  type SenderSettings,
} from '../media/quality-policy.js';

export type QualityBody = BodyOf<'quality'>;

/** Whose connection holds the call back, as far as either side can tell. */
export type QualityBlame = 'self' | 'peer' | 'both' | null;

/** What the UI shows about video quality. A fresh object on every change. */
export interface QualityView {
  mode: QualityMode;
  /** The step we send at (0 the best), of `steps`. */
  step: number;
  steps: number;
  /** The step's bounds, for the statistics panel. */
  maxHeight: number;
  maxFramerate: number;
  /** What holds our video back now; null when nothing does. */
  limitedBy: LimitReason | null;
  /** Even our lowest step cannot be carried: suggest turning the camera off. */
  suggestVideoOff: boolean;
  /** What the peer told us about its sending side; null until it does (or an older peer). */
  peer: QualityBody | null;
  blame: QualityBlame;
}

export interface CallQualityOptions {
  /** Write the policy's settings to the current connection's senders (CallSession.setQuality). */
  apply: (settings: SenderSettings) => void;
  /** Tell the peer (a `quality` body over the messenger). */
  send: (body: QualityBody) => void;
  /** The view changed. */
  changed: () => void;
  /** Cap the camera for the mode (MediaController.limitCapture); resolves once applied. */
  capture?: (limit: ReturnType<typeof captureLimit>) => Promise<void>;
  /** Where each step change is told, with the figures that made it (the diagnostics log). */
  log?: (message: string) => void;
}

/** A limit that says something about the connection (a busy CPU is the device's, not the network's). */
const networkLimit = (limit: LimitReason | null): boolean => limit !== null && limit !== 'cpu';
/**
 * A limit that points at one direction of the path, the sender's: its bandwidth estimate and the loss
 * of its packets. Round-trip time does not: a queue on either side's uplink lengthens both sides' RTT.
 */
const directional = (limit: LimitReason | null): boolean => limit === 'bandwidth' || limit === 'loss';

/**
 * Whose connection holds the call back. Each side's evidence is strong (a directional limit, or
 * video it cannot carry at all) or weak (a long RTT, a step down for a reason that passed). Strong
 * evidence on either side decides alone: a congested uplink also lengthens the other side's RTT,
 * which must not make it "both". When both have it, the side further down the ladder is named.
 */
export function blameOf(self: QualityBody, peer: QualityBody | null): QualityBlame {
  const strong = (side: QualityBody) => directional(side.limitedBy) || side.videoOff;
  // Down for a reason not given (an older peer) counts; down for the processor does not.
  const weak = (side: QualityBody) =>
    networkLimit(side.limitedBy) || (side.reduced && side.limitedBy === null);
  const judge = strong(self) || (peer !== null && strong(peer)) ? strong : weak;
  const us = judge(self);
  if (peer === null) {
    return us ? 'self' : null;
  }
  const them = judge(peer);
  if (us && them && self.step !== peer.step) {
    // Both estimates dropped: a congested uplink also delays the other side's congestion feedback,
    // which then lowers that side's estimate too. The side pushed further down is the bottleneck.
    return self.step > peer.step ? 'self' : 'peer';
  }
  return us && them ? 'both' : us ? 'self' : them ? 'peer' : null;
}

/** One log line for a step change: where from and to, why, and the figures of the sample that moved it. */
function describeStep(before: number, state: QualityState, stats: StatsSummary): string {
  const { availableKbps, videoKbps, lossPercent, limitation, frameHeight } = stats.sending;
  const height = (step: number) => VIDEO_STEPS[step]?.maxHeight ?? '?';
  const why = state.step > before ? `down for ${state.limitedBy ?? 'pressure'}` : 'up after calm';
  const known = (value: number | null, unit: string) =>
    value === null ? '?' : `${Math.round(value)}${unit}`;
  return (
    `video step ${before} (${height(before)}p) → ${state.step} (${height(state.step)}p), ${why}: ` +
    `estimate ${known(availableKbps, ' kbit/s')}, sending ${known(videoKbps, ' kbit/s')} at ` +
    `${known(frameHeight, 'p')}, loss ${known(lossPercent, ' %')}, RTT ${known(stats.rttMs, ' ms')}, ` +
    `encoder limited by ${limitation ?? '?'}`
  );
}

/**
 * The quality policy's driver for the client: it keeps the policy's state, feeds it each stats
 * sample, hands the decision to the connection's senders, tells the peer when what it would say
 * changes, and keeps what the peer said. The user's mode outlives calls; the rest is per call.
 */
export class CallQuality {
  private state: QualityState;
  private peer: QualityBody | null = null;
  private lastSent: QualityBody | null = null;
  private current: QualityView;

  constructor(
    private readonly options: CallQualityOptions,
    mode: QualityMode = 'auto',
  ) {
    this.state = initialQuality(mode);
    this.current = this.build();
  }

  get view(): QualityView {
    return this.current;
  }

  get mode(): QualityMode {
    return this.state.mode;
  }

  /** The user's choice: applied at once (not at the next sample). */
  setMode(mode: QualityMode): void {
    const next = changeMode(this.state, mode);
    if (next === this.state) {
      return;
    }
    this.state = next;
    this.options.apply(this.settings());
    // Once the camera captured the new size, the scale for it (the sender's parameters otherwise
    // follow at the next sample).
    void this.options.capture?.(captureLimit(mode)).then(() => this.options.apply(this.settings()));
    this.update();
  }

  /** A new call: the policy starts over from the mode's ceiling; the peer has said nothing yet. */
  begin(): void {
    this.state = initialQuality(this.state.mode);
    this.peer = null;
    this.lastSent = null;
    this.update();
  }

  /** One stats sample: judge it, then apply (every time: a new connection or track gets it too). */
  sample(stats: StatsSummary): void {
    const before = this.state.step;
    this.state = nextQuality(this.state, stats.sending, stats.rttMs);
    if (this.state.step !== before) {
      this.options.log?.(describeStep(before, this.state, stats));
    }
    this.options.apply(this.settings());
    this.update();
  }

  /** The peer's `quality` body. */
  remote(body: QualityBody): void {
    this.peer = body;
    this.update();
  }

  /** The data channel (re)opened: a peer that reloaded has forgotten what we said. */
  resend(): void {
    this.lastSent = null;
    this.tell();
  }

  private settings(): SenderSettings {
    return senderSettings(this.state.mode, this.state.step);
  }

  private update(): void {
    this.tell();
    const next = this.build();
    if (!sameView(next, this.current)) {
      this.current = next;
      this.options.changed();
    }
  }

  private tell(): void {
    const body = this.body();
    const last = this.lastSent;
    if (
      last?.step === body.step &&
      last.reduced === body.reduced &&
      last.limitedBy === body.limitedBy &&
      last.videoOff === body.videoOff
    ) {
      return;
    }
    this.lastSent = body;
    this.options.send(body);
  }

  /** What we tell the peer. `limitedBy`: what holds the video back now, else what put it down. */
  private body(): QualityBody {
    const { step, mode, limitedBy, reducedBy, suggestVideoOff } = this.state;
    const reduced = step > CEILING[mode];
    return {
      kind: 'quality',
      step,
      steps: VIDEO_STEPS.length,
      reduced,
      limitedBy: limitedBy ?? (reduced ? reducedBy : null),
      videoOff: suggestVideoOff,
    };
  }

  private build(): QualityView {
    const { mode, step, limitedBy, suggestVideoOff } = this.state;
    const rung = VIDEO_STEPS[step];
    return {
      mode,
      step,
      steps: VIDEO_STEPS.length,
      maxHeight: rung?.maxHeight ?? 0,
      maxFramerate: rung?.maxFramerate ?? 0,
      limitedBy,
      suggestVideoOff,
      peer: this.peer,
      blame: blameOf(this.body(), this.peer),
    };
  }
}

function sameView(a: QualityView, b: QualityView): boolean {
  return (
    a.mode === b.mode &&
    a.step === b.step &&
    a.limitedBy === b.limitedBy &&
    a.suggestVideoOff === b.suggestVideoOff &&
    a.peer === b.peer &&
    a.blame === b.blame
  );
}
