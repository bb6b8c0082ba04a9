import { describe, expect, it } from 'vitest';
import type { SendingStats } from '../src/media/media-types.js';
import {
  CEILING,
  LOWEST_STEP,
  QUALITY_POLICY,
  VIDEO_STEPS,
  captureLimit,
  changeMode,
  initialQuality,
  isQualityMode,
  appLimited,
  calmFor,
  nextFloor,
  nextQuality,
  pressureOf,
  scaleFor,
  senderSettings,
  stepDown,
  stepUp,
  type QualityMode,
  type QualityState,
} from '../src/media/quality-policy.js';

/**
 * A calm sample whose estimate says nothing of the steps above (unknown, as in Firefox): calm moves
 * one step at a time. With GOOD's estimate the policy goes straight to the top.
 */
const CALM_ONE_STEP: Partial<SendingStats> = { availableKbps: null };

/** A healthy sender: plenty of estimate, no loss, the encoder unconstrained. */
const GOOD: SendingStats = {
  availableKbps: 5000,
  lossPercent: 0,
  videoKbps: 1200,
  frameWidth: 1280,
  frameHeight: 720,
  framesPerSecond: 30,
  limitation: 'none',
};
const good = (patch: Partial<SendingStats> = {}): SendingStats => ({ ...GOOD, ...patch });

/** Settled (no start hold) at `step`. */
const settled = (
  step: number,
  mode: QualityMode = 'auto',
  patch: Partial<QualityState> = {},
): QualityState => ({
  ...initialQuality(mode),
  step,
  hold: 0,
  ...patch,
});

/** Feed `samples` in order; the states after each. */
function run(
  state: QualityState,
  samples: readonly SendingStats[],
  rttMs: number | null = 40,
): QualityState[] {
  const out: QualityState[] = [];
  for (const sample of samples) {
    state = nextQuality(state, sample, rttMs);
    out.push(state);
  }
  return out;
}
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);
const last = (states: QualityState[]): QualityState => states.at(-1)!;

describe('how far down', () => {
  // [step, reason, estimate, next]
  it.each([
    [0, 'bandwidth', 5000, 1],
    [0, 'bandwidth', 1000, 1],
    [0, 'bandwidth', 699, 2],
    [0, 'bandwidth', 350, 3],
    [0, 'bandwidth', 79, LOWEST_STEP],
    [0, 'bandwidth', null, 1],
    [0, 'loss', 100, 1],
    [2, 'rtt', 100, 3],
    [3, 'bandwidth', 1000, 4],
  ] as const)('from step %i, %s with an estimate of %s kbit/s: step %i', (step, reason, kbps, next) => {
    expect(stepDown(step, reason, kbps)).toBe(next);
  });
});

describe('how far up', () => {
  // [step, ceiling, estimate, next]
  it.each([
    [3, 0, null, 2],
    [3, 0, 500, 2],
    // The estimate carries a higher step with headroom: straight there.
    [3, 0, 1200, 1],
    [3, 0, 1500, 0],
    [5, 0, 5000, 0],
    // Never above the mode's ceiling.
    [5, 4, 5000, 4],
    // An estimate that carries nothing higher still means one step (calm came from elsewhere).
    [3, 0, 100, 2],
  ] as const)(
    'from step %i (ceiling %i) with an estimate of %s kbit/s: step %i',
    (step, ceiling, kbps, next) => {
      expect(stepUp(step, ceiling, kbps)).toBe(next);
    },
  );
});

describe('the round-trip floor', () => {
  it.each([
    [null, null, null],
    [null, 150, 150],
    [150, 120, 120],
    [150, 400, 150 + QUALITY_POLICY.floorRiseMs],
    [150, 151, 151],
    [150, null, 150],
  ] as const)('floor %s, RTT %s: floor %s', (floor, rtt, next) => {
    expect(nextFloor(floor, rtt)).toBe(next);
  });

  it('a long path is not a queue: 300 ms steady from the start never steps down', () => {
    const end = last(run(settled(2), times(30, good()), 300));
    expect(end).toMatchObject({ step: 0, limitedBy: null, floorRttMs: 300 });
  });

  it('a queue above the floor steps down', () => {
    const start = nextQuality(settled(2), good(), 40);
    const end = last(
      run(start, times(QUALITY_POLICY.downAfter, good()), 50 + QUALITY_POLICY.queueMs.pressure),
    );
    expect(end).toMatchObject({ step: 3, limitedBy: 'rtt' });
  });
});

describe('when the encoder leaves the estimate nothing to measure', () => {
  // [name, sample patch, step, app-limited]
  it.each([
    ['a still picture at 60 of 150 kbit/s, estimate 314', { videoKbps: 60, availableKbps: 314 }, 5, true],
    ['sending what the estimate allows', { videoKbps: 250, availableKbps: 314 }, 3, false],
    ['sending its cap', { videoKbps: 480, availableKbps: 5000 }, 3, false],
    ['well under its cap, the estimate unknown', { videoKbps: 100, availableKbps: null }, 3, true],
  ] as const)('%s: %s', (_name, patch, step, limited) => {
    expect(appLimited(good(patch), step)).toBe(limited);
  });

  it('an estimate too low for the step above is still calm when the encoder does not use it', () => {
    expect(calmFor(good({ videoKbps: 60, availableKbps: 314, limitation: 'bandwidth' }), 5, 0)).toBe(true);
    expect(calmFor(good({ videoKbps: 250, availableKbps: 314, limitation: 'bandwidth' }), 3, 0)).toBe(false);
  });

  // The regression this guards against (a call over a 150 ms relay stuck at 180 lines): at the start
  // the estimate is libwebrtc's 300 kbit/s and the encoder, fitting under it, says `bandwidth`.
  it('the start-up estimate puts the ceiling where the estimate fits, and no lower', () => {
    const startup = good({ availableKbps: 310, videoKbps: 190, frameHeight: 270, limitation: 'bandwidth' });
    const states = run(initialQuality('auto'), times(40, startup), 155);
    expect(states.map((s) => s.step).filter((step, i, all) => step !== all[i - 1])).toEqual([0, 3]);
  });

  it('from the lowest step, a calm path with an unused estimate climbs back', () => {
    const still = good({ availableKbps: 314, videoKbps: 60, frameHeight: 180, limitation: 'bandwidth' });
    const end = last(run(settled(LOWEST_STEP), times(QUALITY_POLICY.upAfter, still), 155));
    expect(end.step).toBe(LOWEST_STEP - 1);
  });
});

describe('what counts as pressure on the current step', () => {
  // [name, sample patch, step, queue above the floor, reason]
  const rows: Array<[string, Partial<SendingStats>, number, number | null, ReturnType<typeof pressureOf>]> = [
    ['a healthy sender', {}, 0, 40, null],
    [
      'the estimate short of the step, the encoder held back by bandwidth',
      { limitation: 'bandwidth', availableKbps: 200 },
      3,
      40,
      'bandwidth',
    ],
    // The estimate carries the step: the encoder's limit is libwebrtc fitting the picture under it.
    [
      'the encoder held back by bandwidth, the estimate enough for the step',
      { limitation: 'bandwidth', availableKbps: 600 },
      3,
      40,
      null,
    ],
    [
      'the encoder held back by bandwidth, the estimate unknown',
      { limitation: 'bandwidth', availableKbps: null },
      3,
      40,
      'bandwidth',
    ],
    // The estimate is far above the step's 500 kbit/s cap: it is our cap that holds the encoder back.
    ['the encoder held back by our own cap', { limitation: 'bandwidth', availableKbps: 2000 }, 3, 40, null],
    ['an estimate below the step minimum', { availableKbps: 1100 }, 0, 40, 'bandwidth'],
    ['the same estimate, enough for a lower step', { availableKbps: 1100 }, 1, 40, null],
    ['loss at the pressure threshold', { lossPercent: QUALITY_POLICY.lossPercent.pressure }, 2, 40, 'loss'],
    ['loss just under it', { lossPercent: 4.9 }, 2, 40, null],
    ['a queue at the threshold', {}, 2, QUALITY_POLICY.queueMs.pressure, 'rtt'],
    ['a queue just under it', {}, 2, QUALITY_POLICY.queueMs.pressure - 1, null],
    ['the encoder short of CPU', { limitation: 'cpu' }, 2, 40, 'cpu'],
    [
      'bandwidth wins over loss and RTT',
      { limitation: 'bandwidth', availableKbps: 300, lossPercent: 20 },
      2,
      900,
      'bandwidth',
    ],
    [
      'unknown figures are no pressure',
      { availableKbps: null, lossPercent: null, limitation: null },
      0,
      null,
      null,
    ],
  ];
  it.each(rows)('%s', (_name, patch, step, rtt, reason) => {
    expect(pressureOf(good(patch), step, rtt)).toBe(reason);
  });
});

describe('auto: stepping down under pressure', () => {
  // [name, start state, samples, rtt, expected step after them, expected limitedBy]
  const rows: Array<[string, QualityState, SendingStats[], number, number, string | null]> = [
    [
      'one bad sample is not enough',
      settled(0),
      [good({ limitation: 'bandwidth', availableKbps: null })],
      40,
      0,
      'bandwidth',
    ],
    [
      'one bad sample short is not enough',
      settled(0),
      times(QUALITY_POLICY.downAfter - 1, good({ availableKbps: 500 })),
      40,
      0,
      'bandwidth',
    ],
    [
      'enough bad samples step down once',
      settled(0),
      times(QUALITY_POLICY.downAfter, good({ availableKbps: 1000 })),
      40,
      1,
      'bandwidth',
    ],
    [
      'a good sample between bad ones resets the count',
      settled(0),
      [good({ lossPercent: 9 }), good(), good({ lossPercent: 9 })],
      40,
      0,
      'loss',
    ],
    [
      'the hold after a step: no second step at once',
      settled(0),
      times(QUALITY_POLICY.downAfter + QUALITY_POLICY.holdSamples, good({ lossPercent: 9 })),
      40,
      1,
      'loss',
    ],
    [
      'sustained pressure walks down the ladder, one step per hold and count',
      settled(0),
      times(
        3 * (QUALITY_POLICY.downAfter + QUALITY_POLICY.holdSamples),
        good({ limitation: 'bandwidth', availableKbps: null }),
      ),
      40,
      3,
      'bandwidth',
    ],
    [
      'an estimate far below the step goes straight to the step it carries',
      settled(0),
      times(QUALITY_POLICY.downAfter, good({ availableKbps: 350 })),
      40,
      3,
      'bandwidth',
    ],
    [
      'an estimate below every step goes to the lowest',
      settled(1),
      times(QUALITY_POLICY.downAfter, good({ availableKbps: 50 })),
      40,
      LOWEST_STEP,
      'bandwidth',
    ],
    [
      'a long queue steps down too',
      settled(2, 'auto', { floorRttMs: 40 }),
      times(QUALITY_POLICY.downAfter, good()),
      800,
      3,
      'rtt',
    ],
    [
      'the start hold: the estimate ramps up from 300 kbit/s, not judged',
      initialQuality('auto'),
      times(QUALITY_POLICY.startHold, good({ availableKbps: 300 })),
      40,
      0,
      'bandwidth',
    ],
    [
      'no video going out (camera off): nothing judged',
      settled(1),
      times(10, good({ videoKbps: 0, availableKbps: 50, lossPercent: 30 })),
      40,
      1,
      null,
    ],
  ];
  it.each(rows)('%s', (_name, start, samples, rtt, step, limitedBy) => {
    const end = last(run(start, samples, rtt));
    expect(end.step).toBe(step);
    expect(end.limitedBy).toBe(limitedBy);
  });

  it('steps down exactly on the second bad sample', () => {
    const steps = run(settled(0), times(3, good({ limitation: 'bandwidth', availableKbps: null }))).map(
      (s) => s.step,
    );
    expect(steps).toEqual([0, 1, 1]);
  });

  it('goes as far down as the lowest estimate of the run of pressure (the estimate swings)', () => {
    const end = last(run(settled(0), [good({ availableKbps: 300 }), good({ availableKbps: 450 })]));
    expect(end.step).toBe(3);
  });

  it('remembers why it went down until back at the ceiling', () => {
    let state = last(run(settled(0), times(QUALITY_POLICY.downAfter, good({ availableKbps: 600 }))));
    expect(state).toMatchObject({ step: 2, reducedBy: 'bandwidth' });
    // The hold ends with no pressure at step 2: nothing limits it now, but it is still down for a reason.
    state = last(run(state, times(QUALITY_POLICY.holdSamples + 1, good({ availableKbps: 600 }))));
    expect(state).toMatchObject({ step: 2, limitedBy: null, reducedBy: 'bandwidth' });
    state = last(run(state, times(QUALITY_POLICY.upAfter, good(CALM_ONE_STEP))));
    expect(state).toMatchObject({ step: 1, reducedBy: 'bandwidth' });
    state = last(run(state, times(QUALITY_POLICY.holdSamples + QUALITY_POLICY.upAfter, good())));
    expect(state).toMatchObject({ step: 0, reducedBy: null });
  });
});

describe('auto: stepping back up when it clears, with hysteresis', () => {
  const up = QUALITY_POLICY.upAfter;
  // [name, start state, samples, expected step]
  const rows: Array<[string, QualityState, SendingStats[], number]> = [
    ['calm for one sample less than needed: stays', settled(3), times(up - 1, good(CALM_ONE_STEP)), 3],
    ['calm long enough: one step up', settled(3), times(up, good(CALM_ONE_STEP)), 2],
    ['calm long enough with an estimate for the top: straight there', settled(3), times(up, good()), 0],
    ['never above the ceiling', settled(0), times(3 * up, good(CALM_ONE_STEP)), 0],
    [
      'an estimate just above the higher step minimum is not enough (headroom)',
      settled(3),
      times(3 * up, good({ availableKbps: VIDEO_STEPS[2]!.minKbps * 1.1 })),
      3,
    ],
    [
      'with headroom above the higher step, it goes up',
      settled(3),
      times(up, good({ availableKbps: VIDEO_STEPS[2]!.minKbps * QUALITY_POLICY.upHeadroom })),
      2,
    ],
    [
      'loss between the thresholds neither steps down nor counts as calm',
      settled(3),
      times(3 * up, good({ lossPercent: 3 })),
      3,
    ],
    [
      'the in-between band does not reset the calm count',
      settled(3),
      [...times(up - 1, good(CALM_ONE_STEP)), good({ lossPercent: 3 }), good(CALM_ONE_STEP)],
      2,
    ],
    [
      'pressure resets the calm count',
      settled(3),
      [...times(up - 1, good(CALM_ONE_STEP)), good({ lossPercent: 9 }), good(CALM_ONE_STEP)],
      3,
    ],
    ['the encoder still limited is not calm', settled(3), times(3 * up, good({ limitation: 'other' })), 3],
  ];
  it.each(rows)('%s', (_name, start, samples, step) => {
    expect(last(run(start, samples)).step).toBe(step);
  });

  it('a step up undone at once doubles the calm needed before the next try', () => {
    let state = last(run(settled(3), times(up, good(CALM_ONE_STEP))));
    expect(state.step).toBe(2);
    // The higher step does not hold: back down after the hold and three bad samples.
    state = last(
      run(
        state,
        times(
          QUALITY_POLICY.holdSamples + QUALITY_POLICY.downAfter,
          good({ limitation: 'bandwidth', availableKbps: null }),
        ),
      ),
    );
    expect(state.step).toBe(3);
    expect(state.upAfter).toBe(2 * up);
    state = last(run(state, times(QUALITY_POLICY.holdSamples + up, good(CALM_ONE_STEP))));
    expect(state.step).toBe(3);
    state = last(run(state, times(up, good(CALM_ONE_STEP))));
    expect(state.step).toBe(2);
  });

  it('a drop long after a step up is news, not a failed probe: the calm needed stays', () => {
    let state = last(run(settled(1), times(up, good(CALM_ONE_STEP))));
    expect(state.step).toBe(0);
    state = last(run(state, times(QUALITY_POLICY.probeWindow + 5, good(CALM_ONE_STEP))));
    state = last(
      run(state, times(QUALITY_POLICY.downAfter, good({ limitation: 'bandwidth', availableKbps: null }))),
    );
    expect(state).toMatchObject({ step: 1, upAfter: up });
  });

  it('a step up that holds after a failed one brings the calm needed back to normal', () => {
    const failed = { ...settled(3), upAfter: 2 * up };
    let state = last(run(failed, times(2 * up, good(CALM_ONE_STEP))));
    expect(state).toMatchObject({ step: 2, upAfter: 2 * up });
    state = last(run(state, times(QUALITY_POLICY.probeWindow + 1, good({ availableKbps: 800 }))));
    expect(state).toMatchObject({ step: 2, upAfter: up });
  });
});

describe('when even the lowest step cannot be held', () => {
  const after = QUALITY_POLICY.videoOffAfter;
  it.each([
    ['pressure at the lowest step for a while suggests video off', after, true],
    ['one sample short of it does not', after - 1, false],
  ] as const)('%s', (_name, count, suggested) => {
    const end = last(run(settled(LOWEST_STEP), times(count, good({ availableKbps: 40 }))));
    expect(end.step).toBe(LOWEST_STEP);
    expect(end.suggestVideoOff).toBe(suggested);
  });

  it('the suggestion stays through an in-between sample and goes once calm long enough', () => {
    let state = last(run(settled(LOWEST_STEP), times(after, good({ availableKbps: 40 }))));
    state = nextQuality(state, good({ lossPercent: 3 }), 40);
    expect(state.suggestVideoOff).toBe(true);
    const calm = run(state, times(QUALITY_POLICY.upAfter, good(CALM_ONE_STEP)));
    expect(calm.at(-2)!.suggestVideoOff).toBe(true);
    expect(last(calm)).toMatchObject({ suggestVideoOff: false, step: LOWEST_STEP - 1 });
  });

  it('the camera turned off answers the suggestion', () => {
    const state = last(run(settled(LOWEST_STEP), times(after, good({ availableKbps: 40 }))));
    expect(nextQuality(state, good({ videoKbps: 0 }), 40).suggestVideoOff).toBe(false);
  });
});

describe('modes', () => {
  it.each([
    ['auto', 0],
    ['saver', 4],
    ['high', 0],
  ] as const)('%s starts at step %i', (mode, step) => {
    expect(initialQuality(mode).step).toBe(step);
    expect(CEILING[mode]).toBe(step);
  });

  it('data saver adapts below its ceiling and never above it', () => {
    const down = last(
      run(settled(4, 'saver'), times(3, good({ limitation: 'bandwidth', availableKbps: null }))),
    );
    expect(down.step).toBe(5);
    const up = last(run(down, times(QUALITY_POLICY.holdSamples + 3 * QUALITY_POLICY.upAfter, good())));
    expect(up.step).toBe(4);
  });

  it('high never steps (the user asked for the picture as it is), but still names the limit', () => {
    const end = last(
      run(settled(0, 'high'), times(30, good({ limitation: 'bandwidth', availableKbps: null }))),
    );
    expect(end).toMatchObject({ step: 0, limitedBy: 'bandwidth', suggestVideoOff: false });
  });

  it('a change of mode starts from the new ceiling', () => {
    const saver = changeMode(settled(2, 'auto'), 'saver');
    expect(saver).toMatchObject({ mode: 'saver', step: 4, pressure: 0, calm: 0 });
    expect(changeMode(saver, 'saver')).toBe(saver);
    expect(changeMode(saver, 'auto').step).toBe(0);
  });

  it.each([
    ['auto', true],
    ['saver', true],
    ['high', true],
    ['ultra', false],
    [null, false],
  ])('isQualityMode(%s) is %s', (value, ok) => {
    expect(isQualityMode(value)).toBe(ok);
  });
});

describe('what the senders get', () => {
  // [mode, step, maxBitrate, maxFramerate, maxHeight, degradation]
  it.each([
    ['auto', 0, 2_500_000, 30, 1080, 'balanced'],
    ['auto', 3, 500_000, 20, 360, 'balanced'],
    ['auto', 5, 150_000, 10, 180, 'balanced'],
    ['saver', 4, 300_000, 15, 240, 'balanced'],
    // A step above the mode's ceiling is clamped to it.
    ['saver', 0, 300_000, 15, 240, 'balanced'],
    ['high', 0, 2_500_000, 30, 1080, 'maintain-resolution'],
  ] as const)('%s step %i', (mode, step, maxBitrate, maxFramerate, maxHeight, degradation) => {
    const settings = senderSettings(mode, step);
    expect(settings.video).toEqual({ maxBitrate, maxFramerate, maxHeight });
    expect(settings.degradationPreference).toBe(degradation);
  });

  it.each(['auto', 'saver', 'high'] as const)('audio keeps priority in %s mode', (mode) => {
    for (let step = 0; step <= LOWEST_STEP; step++) {
      expect(senderSettings(mode, step).audio).toEqual({ priority: 'high', networkPriority: 'high' });
    }
  });

  it.each([
    [480, 240, 2],
    [720, 240, 3],
    [720, 1080, 1],
    [480, 360, 1.34],
    [null, 240, 1],
    [1080, 180, 6],
  ])('a %s-line source within %i lines is scaled down by %f', (height, max, scale) => {
    expect(scaleFor(height, max)).toBe(scale);
  });
});

describe('what the camera captures', () => {
  it.each([
    ['auto', null],
    ['saver', { maxHeight: 240, maxFrameRate: 15 }],
    ['high', null],
  ] as const)('%s: %j', (mode, limit) => {
    expect(captureLimit(mode)).toEqual(limit);
  });
});
