import type { SendingStats } from './media-types.js';

/*
 * The video quality policy: a pure function from sampled sender statistics to a decision (which
 * step of the ladder to send at, whether to suggest turning the camera off). It never touches
 * WebRTC; media/sender-tuning.ts applies its decisions with `RTCRtpSender.setParameters`.
 *
 *   step s ──(pressure for DOWN_AFTER samples)──▶ step s+1 (or the step the estimate carries), hold
 *   step s ──(calm for upAfter samples)─────────▶ step s−1 (or the step the estimate carries,
 *                                                 not above the mode's ceiling), hold
 *   lowest ──(pressure for VIDEO_OFF_AFTER more)▶ suggest video off, until calm again
 *
 * A step is a ceiling, not a target: under it libwebrtc still fits resolution and frame rate to its
 * own bandwidth estimate. So the policy lowers the ceiling only when the path cannot carry the step
 * (the estimate below the step's need, loss, a growing queue), never merely because the encoder runs
 * below the ceiling: that is the browser adapting, and lowering the ceiling under it starves the
 * estimate, which grows only with what is sent (libwebrtc caps it at 1.5× the acknowledged rate).
 * For the same reason an encoder that does not use what it may send (a still picture, a small
 * window) leaves the estimate silent about the step above: then a calm path is enough to try it.
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
   * A growing queue before the bottleneck shows as RTT first (bufferbloat): the round trip above the
   * lowest seen in the call. It is measured against the path's own floor, not as an absolute, so a
   * long path (satellite, another continent, a TURN relay far away) is not taken for a congested one.
   * 250 ms of queue is a buffer filling up; under 100 ms is a normal jitter buffer's worth.
   */
  queueMs: { pressure: 250, calm: 100 },
  /**
   * The floor rises by this much a sample towards the current round trip, so a move to a longer path
   * (Wi-Fi to cellular, an ICE restart onto a relay) is absorbed in a minute or two instead of
   * counting as a queue for the rest of the call.
   */
  floorRiseMs: 2,
  /** Before stepping up, the estimate must exceed the higher step's minimum by this factor. */
  upHeadroom: 1.25,
  /**
   * Video sent below this share of what it may send (the lower of the step's cap and the estimate):
   * the encoder does not use the room it has, so the estimate (bounded by what is sent) cannot show
   * whether the step above fits, and a calm path is enough to try it.
   */
  appLimitedShare: 0.6,
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
  /** The path's round-trip floor: the lowest RTT of the call, rising slowly (see `floorRiseMs`). */
  floorRttMs: number | null;
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
    floorRttMs: null,
  };
}

/** The user chose another mode: start from its ceiling, with the counters reset. */
export function changeMode(state: QualityState, mode: QualityMode): QualityState {
  if (mode === state.mode) {
    return state;
  }
  return { ...initialQuality(mode), hold: QUALITY_POLICY.holdSamples, floorRttMs: state.floorRttMs };
}

/** The round-trip floor after this sample: down at once, up by at most `floorRiseMs`. */
export function nextFloor(floorMs: number | null, rttMs: number | null): number | null {
  if (rttMs === null) {
    return floorMs;
  }
  return floorMs === null || rttMs < floorMs ? rttMs : Math.min(rttMs, floorMs + QUALITY_POLICY.floorRiseMs);
}

/**
 * Whether the path cannot carry the step for bandwidth. The estimate says so when the browser gives
 * one; the encoder's `bandwidth` limit only when it does not (Firefox): where the estimate carries
 * the step, that limit is libwebrtc fitting the picture under our ceiling, not the path refusing it.
 */
function bandwidthShort(sample: SendingStats, step: number): boolean {
  const need = VIDEO_STEPS[step]?.minKbps ?? 0;
  return sample.availableKbps === null ? sample.limitation === 'bandwidth' : sample.availableKbps < need;
}

/** The encoder sends well below what it may (see `appLimitedShare`): the estimate cannot say more. */
export function appLimited(sample: SendingStats, step: number): boolean {
  const cap = VIDEO_STEPS[step]?.maxBitrateKbps ?? 0;
  const room = sample.availableKbps === null ? cap : Math.min(cap, sample.availableKbps);
  return sample.videoKbps < room * QUALITY_POLICY.appLimitedShare;
}

/**
 * Why this sample says the current step cannot be held, or null. `queueMs`: the round trip above
 * the path's floor (null when unknown).
 */
export function pressureOf(sample: SendingStats, step: number, queueMs: number | null): LimitReason | null {
  if (bandwidthShort(sample, step)) {
    return 'bandwidth';
  }
  if (sample.lossPercent !== null && sample.lossPercent >= QUALITY_POLICY.lossPercent.pressure) {
    return 'loss';
  }
  if (queueMs !== null && queueMs >= QUALITY_POLICY.queueMs.pressure) {
    return 'rtt';
  }
  if (sample.limitation === 'cpu') {
    return 'cpu';
  }
  return null;
}

/**
 * Whether this sample leaves room for the step above `step` (unknown figures do not object): no
 * loss or queue to speak of, the encoder not short of CPU, and either an estimate with headroom
 * over the higher step's need or an encoder that leaves the estimate nothing to measure.
 */
export function calmFor(sample: SendingStats, step: number, queueMs: number | null): boolean {
  const above = VIDEO_STEPS[step - 1];
  const room =
    above === undefined ||
    (sample.availableKbps === null
      ? sample.limitation !== 'bandwidth'
      : sample.availableKbps >= above.minKbps * QUALITY_POLICY.upHeadroom || appLimited(sample, step));
  return (
    room &&
    sample.limitation !== 'cpu' &&
    sample.limitation !== 'other' &&
    (sample.lossPercent === null || sample.lossPercent < QUALITY_POLICY.lossPercent.calm) &&
    (queueMs === null || queueMs < QUALITY_POLICY.queueMs.calm)
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
  const floorRttMs = nextFloor(state.floorRttMs, rttMs);
  const base: QualityState = held
    ? { ...state, upAfter: P.upAfter, sinceUp: null, floorRttMs }
    : { ...state, sinceUp, floorRttMs };
  if (sample.videoKbps <= 0) {
    return { ...base, limitedBy: null, suggestVideoOff: false, pressure: 0, pressureKbps: null, calm: 0 };
  }
  const queueMs = rttMs === null || floorRttMs === null ? null : rttMs - floorRttMs;
  const limitedBy = pressureOf(sample, state.step, queueMs);
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
  if (!calmFor(sample, state.step, queueMs)) {
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
  const step = stepUp(state.step, ceiling, appLimited(sample, state.step) ? null : sample.availableKbps);
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

/**
 * The step to go up to after calm: one step, or, when the estimate has headroom over a higher one,
 * straight to the best step it carries (after a limit lifts, the estimate recovers within seconds;
 * climbing one step per calm period would take the better part of a minute). `availableKbps` null:
 * the estimate says nothing (unknown, or the encoder leaves it nothing to measure): one step.
 */
export function stepUp(step: number, ceiling: number, availableKbps: number | null): number {
  const next = step - 1;
  const fits =
    availableKbps === null
      ? -1
      : VIDEO_STEPS.findIndex((rung) => rung.minKbps * QUALITY_POLICY.upHeadroom <= availableKbps);
  return Math.max(ceiling, fits === -1 ? next : Math.min(next, fits));
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
