import { BodySchema } from '@duet/protocol';
import { describe, expect, it } from 'vitest';
import { CallQuality, blameOf, type QualityBody } from '../src/client/call-quality.js';
import type { SendingStats, StatsSummary } from '../src/media/media-types.js';
import { QUALITY_POLICY, type SenderSettings } from '../src/media/quality-policy.js';

const SENDING: SendingStats = {
  availableKbps: 5000,
  lossPercent: 0,
  videoKbps: 1000,
  frameWidth: 640,
  frameHeight: 480,
  framesPerSecond: 30,
  limitation: 'none',
};

function summary(sending: Partial<SendingStats> = {}): StatsSummary {
  return {
    at: 0,
    bitrateInKbps: 0,
    bitrateOutKbps: 0,
    rttMs: 40,
    packetLossPercent: 0,
    jitterMs: null,
    framesPerSecond: null,
    frameWidth: null,
    frameHeight: null,
    framesDecoded: null,
    audioLevel: null,
    audioPacketsReceived: null,
    path: 'direct',
    localCandidateType: 'host',
    remoteCandidateType: 'host',
    quality: 'good',
    sending: { ...SENDING, ...sending },
  };
}

function setup() {
  const sent: QualityBody[] = [];
  const applied: SenderSettings[] = [];
  let changes = 0;
  const quality = new CallQuality({
    apply: (settings) => applied.push(settings),
    send: (body) => sent.push(body),
    changed: () => changes++,
  });
  quality.begin();
  return { quality, sent, applied, changes: () => changes };
}

const PEER_OK: QualityBody = {
  kind: 'quality',
  step: 0,
  steps: 6,
  reduced: false,
  limitedBy: null,
  videoOff: false,
};

describe('CallQuality', () => {
  it('applies the mode at once and tells the peer, with a body the protocol accepts', () => {
    const { quality, sent, applied } = setup();
    quality.setMode('saver');
    expect(applied.at(-1)?.video.maxHeight).toBe(240);
    expect(quality.view).toMatchObject({ mode: 'saver', step: 4, blame: null });
    expect(sent.at(-1)).toEqual({ ...PEER_OK, step: 4 });
    expect(BodySchema.safeParse(sent.at(-1)).success).toBe(true);
  });

  it('applies on every sample (a rebuilt connection gets the step) but tells the peer only of changes', () => {
    const { quality, sent, applied } = setup();
    const before = sent.length;
    for (let i = 0; i < 8; i++) {
      quality.sample(summary());
    }
    expect(applied).toHaveLength(8);
    expect(sent).toHaveLength(before);
    quality.resend();
    expect(sent).toHaveLength(before + 1);
  });

  it('our own pressure blames our connection; the peer’s report blames theirs', () => {
    const { quality } = setup();
    const bad = summary({ limitation: 'bandwidth', availableKbps: null });
    for (let i = 0; i < QUALITY_POLICY.startHold + QUALITY_POLICY.downAfter; i++) {
      quality.sample(bad);
    }
    expect(quality.view).toMatchObject({ step: 1, limitedBy: 'bandwidth', blame: 'self' });
    quality.remote({ ...PEER_OK, step: 1, reduced: true, limitedBy: 'loss' });
    expect(quality.view.blame).toBe('both');

    const other = setup().quality;
    other.remote({ ...PEER_OK, step: 5, reduced: true, limitedBy: 'bandwidth', videoOff: true });
    expect(other.view).toMatchObject({ blame: 'peer', peer: { videoOff: true } });
    // A peer short of CPU is not a connection problem.
    other.remote({ ...PEER_OK, limitedBy: 'cpu' });
    expect(other.view.blame).toBeNull();
  });

  it('logs each step change with the figures that made it, and nothing while the step holds', () => {
    const lines: string[] = [];
    const quality = new CallQuality({
      apply: () => {},
      send: () => {},
      changed: () => {},
      log: (line) => lines.push(line),
    });
    quality.begin();
    const short = summary({ availableKbps: 321, videoKbps: 239, frameHeight: 720, limitation: 'none' });
    for (let i = 0; i < QUALITY_POLICY.startHold + QUALITY_POLICY.downAfter + 2; i++) {
      quality.sample(short);
    }
    expect(lines).toEqual([
      'video step 0 (1080p) → 3 (360p), down for bandwidth: estimate 321 kbit/s, sending 239 kbit/s at 720p, ' +
        'loss 0 %, RTT 40 ms, encoder limited by none',
    ]);
  });

  it('a new call forgets the peer and the steps, keeps the mode', () => {
    const { quality } = setup();
    quality.setMode('high');
    quality.remote({ ...PEER_OK, limitedBy: 'rtt' });
    quality.begin();
    expect(quality.view).toMatchObject({ mode: 'high', step: 0, peer: null, blame: null });
  });
});

describe('whose connection (blameOf)', () => {
  const side = (patch: Partial<QualityBody> = {}): QualityBody => ({ ...PEER_OK, ...patch });
  const congested = side({ step: 3, reduced: true, limitedBy: 'bandwidth' });
  const lossy = side({ step: 2, reduced: true, limitedBy: 'loss' });
  const slowRtt = side({ step: 1, reduced: true, limitedBy: 'rtt' });
  const cpu = side({ step: 1, reduced: true, limitedBy: 'cpu' });
  const frozen = side({ step: 5, reduced: true, limitedBy: 'bandwidth', videoOff: true });
  // [name, self, peer, blame]
  it.each([
    ['both fine', side(), side(), null],
    ['an older peer that says nothing', side(), null, null],
    ['our uplink congested', congested, side(), 'self'],
    ["the peer's packets lost", side(), lossy, 'peer'],
    ['both congested, ours worse (further down)', congested, lossy, 'self'],
    ['both congested, theirs worse', lossy, congested, 'peer'],
    ['both congested alike', congested, congested, 'both'],
    // A queue on our uplink lengthens the peer's RTT too: that is not the peer's connection.
    ['our congestion beats the peer’s long RTT', congested, slowRtt, 'self'],
    ['a long RTT alone is weak evidence, but evidence', slowRtt, side(), 'self'],
    ['long RTTs on both sides', slowRtt, slowRtt, 'both'],
    ['a busy processor is not a connection', cpu, side(), null],
    ['video the peer cannot carry at all', side(), frozen, 'peer'],
  ] as const)('%s', (_name, self, peer, blame) => {
    expect(blameOf(self, peer)).toBe(blame);
  });
});
