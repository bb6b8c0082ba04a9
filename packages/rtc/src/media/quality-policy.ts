import type { SendingStats } from './media-types.js';

/*
 * The video quality policy: a pure function from sampled sender statistics to a decision (which
 * step of the ladder to send at, whether to suggest turning the camera off). It never touches
 * WebRTC; media/sender-tuning.ts applies its decisions with `RTCRtpSender.setParameters`.
 *
 *   step s ──(pressure for DOWN_AFTER samples)──▶ step s+1 (or the step the estimate carries), hold
 *   step s ──(calm for upAfter samples)─────────▶ step s−1 (not above the mode's ceiling), hold
 *   lowest ──(pressure for VIDEO_OFF_AFTER more)▶ suggest video off, until calm again
 *
 * Hysteresis comes from three places: pressure and calm have separate thresholds with a band in
 * between that counts as neither; a change is followed by a hold in which samples are not judged
 * (the encoder and the bandwidth estimate need time to settle on the new step); and a step up that
 * is undone soon after doubles the calm needed before the next try, so a link at the edge of two
 * steps does not flap between them.
 */

/** The user's choice in Settings. */
export const QUALITY_MODES = ['auto', 'saver', 'high'] as const;
export type QualityMode = (typeof QUALITY_MODES)[number];

export function isQualityMode(value: unknown): value is QualityMode {
  return typeof value === 'string' && (QUALITY_MODES as readonly string[]).includes(value);
}

/** One rung of the ladder. Resolution is a bound on the height, never an upscale of the source. */
export interface VideoStep {
  maxHeight: number;
  maxFramerate: number;
  /** The encoder's cap for this step. */
  maxBitrateKbps: number;
  /**
   * Below this bandwidth estimate the step cannot be held: it is about what libwebrtc needs to keep
   * the step's resolution at its frame rate without dropping it by itself (roughly half the cap).
   */
  minKbps: number;
}

/** The lowest step: below it, video is not worth its bandwidth (the policy suggests turning it off). */
const THUMBNAIL: VideoStep = { maxHeight: 180, maxFramerate: 10, maxBitrateKbps: 150, minKbps: 80 };

/**
 * From full HD to a thumbnail. The rates follow what libwebrtc's own resolution ramp uses for VP8
 * (its `GetMaxDefaultVideoBitrateKbps` table), with the frame rate lowered as the picture shrinks:
 * at low rates fewer sharper frames read better than many blurred ones.
 */
export const VIDEO_STEPS: readonly VideoStep[] = [
  { maxHeight: 1080, maxFramerate: 30, maxBitrateKbps: 2500, minKbps: 1200 },
  { maxHeight: 720, maxFramerate: 30, maxBitrateKbps: 1500, minKbps: 700 },
  { maxHeight: 480, maxFramerate: 24, maxBitrateKbps: 800, minKbps: 400 },
  { maxHeight: 360, maxFramerate: 20, maxBitrateKbps: 500, minKbps: 250 },
  { maxHeight: 240, maxFramerate: 15, maxBitrateKbps: 300, minKbps: 150 },
  THUMBNAIL,
];
export const LOWEST_STEP = VIDEO_STEPS.length - 1;

/** The best step each mode allows. Data saver: 240p at 15 fps, ~300 kbit/s, ~130 MB an hour. */
export const CEILING: Record<QualityMode, number> = { auto: 0, saver: 4, high: 0 };

/** The thresholds of pressure and calm; between the two, a sample counts as neither. */
export const QUALITY_POLICY = {
  /**
   * Loss of our packets the peer reports. NACK and retransmission hide a few percent of video loss
   * at the cost of delay; from 5 % the picture freezes waiting for repairs, under 2 % it does not.
   */
  lossPercent: { pressure: 5, calm: 2 },
  /**
   * A growing queue before the bottleneck shows as RTT first (bufferbloat). 500 ms is past any
   * ordinary path's propagation delay; under 300 ms is a conversation's comfortable bound.
   */
  rttMs: { pressure: 500, calm: 300 },
  /** Before stepping up, the estimate must exceed the higher step's minimum by this factor. */
  upHeadroom: 1.25,
  /** An estimate this far above the step's own cap means the encoder's `bandwidth` limit is our cap's. */
  capHeadroom: 1.5,
  /**
   * Consecutive samples (about a second each, longer on a busy machine) of pressure before stepping
   * down: two, so one odd sample does not count; the hold and the calm needed keep it from flapping.
   */
  downAfter: 2,
  /** Consecutive calm samples before stepping up (doubled after a failed step up, up to the max). */
  upAfter: 5,
  maxUpAfter: 80,
  /** A step up undone within this many samples was a failed probe. */
  probeWindow: 15,
  /** Samples not judged after a change: the encoder and the estimate settle on the new step. */
  holdSamples: 3,
  /** At the lowest step, pressure for this many more samples suggests turning video off. */
  videoOffAfter: 5,
  /** Samples not judged at the start: the bandwidth estimate starts at 300 kbit/s and ramps up. */
  startHold: 5,
} as const;

/** What is holding the video back, most telling first. */
export type LimitReason = 'bandwidth' | 'loss' | 'rtt' | 'cpu';

/** The policy's state between samples; also its decision (the step and the suggestion). */
export interface QualityState {
  mode: QualityMode;
  /** Index into VIDEO_STEPS. */
  step: number;
  /** What held the video back in the last judged sample; null when nothing did. */
  limitedBy: LimitReason | null;
  /** Even the lowest step cannot be held: the UI suggests turning the camera off. */
  suggestVideoOff: boolean;
  /** Why the last step down happened, while below the ceiling: what keeps the video down. */
  reducedBy: LimitReason | null;
  /** Consecutive samples of pressure / calm. */
  pressure: number;
  /** The lowest bandwidth estimate of the current run of pressure (null: none known). */
  pressureKbps: number | null;
  calm: number;
  /** Samples left that are not judged. */
  hold: number;
  /** Calm samples needed to step up now. */
  upAfter: number;
  /** Samples since the last step up while it is still on probation (see `probeWindow`), else null. */
  sinceUp: number | null;
}

export function initialQuality(mode: QualityMode = 'auto'): QualityState {
  return {
    mode,
    step: CEILING[mode],
    limitedBy: null,
    suggestVideoOff: false,
    reducedBy: null,
    pressure: 0,
    pressureKbps: null,
    calm: 0,
    hold: QUALITY_POLICY.startHold,
    upAfter: QUALITY_POLICY.upAfter,
    sinceUp: null,
  };
}

/** The user chose another mode: start from its ceiling, with the counters reset. */
export function changeMode(state: QualityState, mode: QualityMode): QualityState {
  if (mode === state.mode) {
    return state;
  }
  return { ...initialQuality(mode), hold: QUALITY_POLICY.holdSamples };
}

/**
 * The encoder says `bandwidth` when its target rate is low for the resolution, and the target is the
 * lower of the estimate and our own `maxBitrate`: at a low step our cap alone makes it say so. Only
 * an estimate near or below the cap makes it the network's word.
 */
function networkBandwidthLimit(sample: SendingStats, step: number): boolean {
  const cap = VIDEO_STEPS[step]?.maxBitrateKbps ?? 0;
  return (
    sample.limitation === 'bandwidth' &&
    (sample.availableKbps === null || sample.availableKbps < cap * QUALITY_POLICY.capHeadroom)
  );
}

/** Why this sample says the current step cannot be held, or null. */
export function pressureOf(sample: SendingStats, step: number, rttMs: number | null): LimitReason | null {
  const need = VIDEO_STEPS[step]?.minKbps ?? 0;
  if (networkBandwidthLimit(sample, step) || (sample.availableKbps !== null && sample.availableKbps < need)) {
    return 'bandwidth';
  }
  if (sample.lossPercent !== null && sample.lossPercent >= QUALITY_POLICY.lossPercent.pressure) {
    return 'loss';
  }
  if (rttMs !== null && rttMs >= QUALITY_POLICY.rttMs.pressure) {
    return 'rtt';
  }
  if (sample.limitation === 'cpu') {
    return 'cpu';
  }
  return null;
}

/** Whether this sample leaves room for the step above `step` (unknown figures do not object). */
export function calmFor(sample: SendingStats, step: number, rttMs: number | null): boolean {
  const above = VIDEO_STEPS[step - 1];
  const limited =
    sample.limitation === 'cpu' || sample.limitation === 'other' || networkBandwidthLimit(sample, step);
  return (
    !limited &&
    (sample.availableKbps === null ||
      above === undefined ||
      sample.availableKbps >= above.minKbps * QUALITY_POLICY.upHeadroom) &&
    (sample.lossPercent === null || sample.lossPercent < QUALITY_POLICY.lossPercent.calm) &&
    (rttMs === null || rttMs < QUALITY_POLICY.rttMs.calm)
  );
}

/**
 * One sample in, the next state out. Pure. `rttMs` is the connection's round-trip time (the
 * sampler's `rttMs`). While no video goes out (camera off, audio call) nothing is judged: an idle
 * sender says nothing about the path, and the suggestion to turn video off is answered.
 */
export function nextQuality(state: QualityState, sample: SendingStats, rttMs: number | null): QualityState {
  const P = QUALITY_POLICY;
  const ceiling = CEILING[state.mode];
  // A step up that held through the probe window was a success: the calm needed is back to normal.
  const sinceUp = state.sinceUp === null ? null : state.sinceUp + 1;
  const held = sinceUp !== null && sinceUp > P.probeWindow;
  const base: QualityState = held ? { ...state, upAfter: P.upAfter, sinceUp: null } : { ...state, sinceUp };
  if (sample.videoKbps <= 0) {
    return { ...base, limitedBy: null, suggestVideoOff: false, pressure: 0, pressureKbps: null, calm: 0 };
  }
  const limitedBy = pressureOf(sample, state.step, rttMs);
  if (state.hold > 0) {
    return { ...base, limitedBy, hold: state.hold - 1 };
  }
  // High: the user wants the picture as sent; the browser's own adaptation still works underneath.
  if (state.mode === 'high') {
    return { ...base, limitedBy };
  }
  if (limitedBy !== null) {
    const pressure = state.pressure + 1;
    // The estimate swings (probes, bursts): the lowest of the run says best what the path carries.
    const pressureKbps = lowest(state.pressure > 0 ? state.pressureKbps : null, sample.availableKbps);
    if (state.step < LOWEST_STEP) {
      if (pressure < P.downAfter) {
        return { ...base, limitedBy, pressure, pressureKbps, calm: 0 };
      }
      const failedProbe = base.sinceUp !== null;
      return {
        ...base,
        step: stepDown(state.step, limitedBy, pressureKbps),
        limitedBy,
        reducedBy: limitedBy,
        pressure: 0,
        pressureKbps: null,
        calm: 0,
        hold: P.holdSamples,
        upAfter: failedProbe ? Math.min(P.maxUpAfter, base.upAfter * 2) : base.upAfter,
        sinceUp: null,
      };
    }
    const suggestVideoOff = state.suggestVideoOff || pressure >= P.videoOffAfter;
    return { ...base, limitedBy, suggestVideoOff, pressure, pressureKbps, calm: 0 };
  }
  if (!calmFor(sample, state.step, rttMs)) {
    // The band between pressure and calm: neither counter moves on, neither resets the other.
    return { ...base, limitedBy: null };
  }
  const calm = state.calm + 1;
  if (calm < base.upAfter) {
    return { ...base, limitedBy: null, pressure: 0, pressureKbps: null, calm };
  }
  // Calm long enough: the suggestion goes away; at the ceiling there is nowhere further up.
  if (state.step <= ceiling) {
    return { ...base, limitedBy: null, suggestVideoOff: false, pressure: 0, pressureKbps: null, calm };
  }
  const step = state.step - 1;
  return {
    ...base,
    step,
    limitedBy: null,
    suggestVideoOff: false,
    reducedBy: step > ceiling ? state.reducedBy : null,
    pressure: 0,
    pressureKbps: null,
    calm: 0,
    hold: P.holdSamples,
    sinceUp: 0,
  };
}

function lowest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/**
 * The step to go down to: one step, or, when the bandwidth estimate says how far off it is, straight
 * to the best step the estimate carries (a link that dropped to a third should not take three rounds
 * of pressure and hold, about 20 s, to get there).
 */
export function stepDown(step: number, reason: LimitReason, availableKbps: number | null): number {
  const next = Math.min(LOWEST_STEP, step + 1);
  if (reason !== 'bandwidth' || availableKbps === null) {
    return next;
  }
  const fits = VIDEO_STEPS.findIndex((rung) => rung.minKbps <= availableKbps);
  return Math.max(next, fits === -1 ? LOWEST_STEP : fits);
}

/** What the applier writes to the senders for a mode and step. Bitrates in bit/s, as WebRTC wants. */
export interface SenderSettings {
  video: { maxBitrate: number; maxFramerate: number; maxHeight: number };
  degradationPreference: RTCDegradationPreference;
  /** Audio goes first: in the sender's own queue and, where the network honours DSCP, on the wire. */
  audio: { priority: RTCPriorityType; networkPriority: RTCPriorityType };
}

/** High keeps the resolution and lets frames go; the others let the browser balance both. */
export function senderSettings(mode: QualityMode, step: number): SenderSettings {
  const index = Math.min(LOWEST_STEP, Math.max(CEILING[mode], step));
  const rung = VIDEO_STEPS[index] ?? THUMBNAIL;
  return {
    video: {
      maxBitrate: rung.maxBitrateKbps * 1000,
      maxFramerate: rung.maxFramerate,
      maxHeight: rung.maxHeight,
    },
    degradationPreference: mode === 'high' ? 'maintain-resolution' : 'balanced',
    audio: { priority: 'high', networkPriority: 'high' },
  };
}

/**
 * What the camera should capture in a mode: Data saver captures no more than it sends (its step is
 * its ceiling, and Auto's lower steps come and go too often to reopen the camera for each); the
 * others capture the camera's default and let the sender scale.
 */
export function captureLimit(mode: QualityMode): { maxHeight: number; maxFrameRate: number } | null {
  if (mode !== 'saver') {
    return null;
  }
  const rung = VIDEO_STEPS[CEILING.saver] ?? THUMBNAIL;
  return { maxHeight: rung.maxHeight, maxFrameRate: rung.maxFramerate };
}

/** `scaleResolutionDownBy` that brings a source of `sourceHeight` within `maxHeight` (never up). */
export function scaleFor(sourceHeight: number | null, maxHeight: number): number {
  if (sourceHeight === null || sourceHeight <= maxHeight || maxHeight <= 0) {
    return 1;
  }
  // Two decimals: the encoder rounds the scaled size anyway, and a stable number avoids rewrites.
  return Math.ceil((sourceHeight / maxHeight) * 100) / 100;
}
