import { afterEach, describe, expect, it, vi } from 'vitest';
import { QUALITY_THRESHOLDS, StatsSampler, rateQuality, summarizeStats } from '../src/media/stats.js';
import type { StatsSummary } from '../src/media/media-types.js';

type Stat = Record<string, unknown> & { id: string; type: string };
const report = (stats: Stat[]) => new Map(stats.map((s) => [s.id, s]));

const T0 = 1_760_000_000_000.123;

/** Counters that grow between the two samples: [at t0, at t1]. */
interface Traffic {
  audioIn: [number, number];
  videoIn: [number, number];
  audioOut: [number, number];
  videoOut: [number, number];
  videoPackets: [number, number];
  videoLost: [number, number];
  audioPackets: [number, number];
  audioLost: [number, number];
  framesDecoded: [number, number];
}

const TRAFFIC: Traffic = {
  audioIn: [40_000, 44_000], // 4000 B/s → 32 kbps
  videoIn: [1_000_000, 1_150_000], // 150 kB/s → 1200 kbps
  audioOut: [38_000, 42_000], // 32 kbps
  videoOut: [600_000, 662_500], // 500 kbps
  audioPackets: [2_000, 2_050],
  audioLost: [0, 0],
  videoPackets: [1_000, 1_140],
  videoLost: [10, 20], // 10 lost of 200 expected (50 + 140 + 10) → 5 %
  framesDecoded: [1_200, 1_230],
};

/** What an inbound-rtp stat says of `traffic` at sample `i`: the counters every browser reports alike. */
function inbound(kind: 'audio' | 'video', i: 0 | 1, traffic: Traffic) {
  return {
    type: 'inbound-rtp',
    kind,
    mediaType: kind,
    packetsReceived: traffic[`${kind}Packets`][i],
    packetsLost: traffic[`${kind}Lost`][i],
    bytesReceived: traffic[`${kind}In`][i],
  };
}

/** The same for an outbound-rtp stat: the bytes sent. */
function outbound(kind: 'audio' | 'video', i: 0 | 1, traffic: Traffic) {
  return { type: 'outbound-rtp', kind, bytesSent: traffic[`${kind}Out`][i] };
}

/** A Chromium 13x `getStats()` report (fields trimmed to the ones that matter plus some noise). */
function chromium(
  i: 0 | 1,
  traffic: Traffic = TRAFFIC,
  candidates: [string, string] = ['host', 'srflx'],
): Map<string, Stat> {
  const timestamp = T0 + i * 1000;
  return report([
    { id: 'P', type: 'peer-connection', timestamp, dataChannelsOpened: 2, dataChannelsClosed: 0 },
    {
      id: 'T01',
      type: 'transport',
      timestamp,
      dtlsState: 'connected',
      iceState: 'connected',
      selectedCandidatePairId: 'CPaB3cD4eF_gH5iJ6kL',
      bytesSent: 700_000,
      bytesReceived: 1_100_000,
    },
    // A pair from an earlier ICE generation that is still nominated and succeeded: must not win.
    {
      id: 'CPold_relay',
      type: 'candidate-pair',
      timestamp,
      transportId: 'T01',
      localCandidateId: 'Irelay',
      remoteCandidateId: 'Iremote_relay',
      state: 'succeeded',
      nominated: true,
      bytesSent: 9_999_999,
      bytesReceived: 9_999_999,
      currentRoundTripTime: 0.9,
    },
    {
      id: 'CPaB3cD4eF_gH5iJ6kL',
      type: 'candidate-pair',
      timestamp,
      transportId: 'T01',
      localCandidateId: 'IaB3cD4eF',
      remoteCandidateId: 'IgH5iJ6kL',
      state: 'succeeded',
      nominated: true,
      writable: true,
      bytesSent: 700_000,
      bytesReceived: 1_100_000,
      totalRoundTripTime: 1.2,
      currentRoundTripTime: 0.042,
      availableOutgoingBitrate: 2_500_000,
      requestsSent: 30,
      responsesReceived: 30,
    },
    {
      id: 'IaB3cD4eF',
      type: 'local-candidate',
      timestamp,
      transportId: 'T01',
      address: '192.168.1.20',
      port: 54321,
      protocol: 'udp',
      candidateType: candidates[0],
      priority: 2122260223,
      networkType: 'wifi',
    },
    {
      id: 'IgH5iJ6kL',
      type: 'remote-candidate',
      timestamp,
      transportId: 'T01',
      address: '203.0.113.7',
      port: 61000,
      protocol: 'udp',
      candidateType: candidates[1],
      priority: 1686052607,
    },
    { id: 'Irelay', type: 'local-candidate', timestamp, candidateType: 'relay', protocol: 'udp' },
    { id: 'Iremote_relay', type: 'remote-candidate', timestamp, candidateType: 'relay', protocol: 'udp' },
    {
      id: 'IT01A1234',
      ...inbound('audio', i, traffic),
      timestamp,
      ssrc: 1234,
      transportId: 'T01',
      codecId: 'CIT01_111',
      mid: '0',
      headerBytesReceived: 48_000 + i * 600,
      jitter: 0.0035,
      audioLevel: 0.12,
      totalAudioEnergy: 3.2,
      totalSamplesDuration: 40.1,
    },
    {
      id: 'IT01V5678',
      ...inbound('video', i, traffic),
      timestamp,
      ssrc: 5678,
      transportId: 'T01',
      codecId: 'CIT01_96',
      mid: '1',
      jitter: 0.018,
      framesDecoded: traffic.framesDecoded[i],
      keyFramesDecoded: 3,
      frameWidth: 1280,
      frameHeight: 720,
      framesPerSecond: 30,
    },
    {
      id: 'OT01A4321',
      ...outbound('audio', i, traffic),
      timestamp,
      ssrc: 4321,
      mediaSourceId: 'SA1',
      remoteId: 'RIA4321',
      packetsSent: 1_950 + i * 50,
    },
    {
      id: 'OT01V8765',
      ...outbound('video', i, traffic),
      timestamp,
      ssrc: 8765,
      mediaSourceId: 'SV2',
      remoteId: 'RIV8765',
      packetsSent: 900 + i * 60,
      frameWidth: 1280,
      frameHeight: 720,
    },
    {
      id: 'RIA4321',
      type: 'remote-inbound-rtp',
      kind: 'audio',
      timestamp,
      roundTripTime: 0.05,
      fractionLost: 0,
    },
    // The local microphone's level: must not be mistaken for the peer's.
    {
      id: 'SA1',
      type: 'media-source',
      kind: 'audio',
      timestamp,
      audioLevel: 0.9,
      trackIdentifier: 'local-mic',
    },
    { id: 'CIT01_111', type: 'codec', timestamp, mimeType: 'audio/opus', clockRate: 48000 },
  ]);
}

/** A Firefox 13x report: UUID ids, no transport stats, the pair flagged `selected`, no currentRoundTripTime. */
function firefox(i: 0 | 1, traffic: Traffic = TRAFFIC): Map<string, Stat> {
  const timestamp = T0 + i * 1000 + 0.5;
  return report([
    {
      id: '{4b7d1c2e-0000-4000-8000-000000000001}',
      type: 'candidate-pair',
      timestamp,
      transportId: '0',
      localCandidateId: '{lc-host}',
      remoteCandidateId: '{rc-host}',
      state: 'succeeded',
      nominated: true,
      selected: false,
      priority: 1,
      bytesSent: 100,
      bytesReceived: 100,
    },
    {
      id: '{4b7d1c2e-0000-4000-8000-000000000002}',
      type: 'candidate-pair',
      timestamp,
      transportId: '0',
      localCandidateId: '{lc-relay}',
      remoteCandidateId: '{rc-srflx}',
      state: 'succeeded',
      nominated: true,
      selected: true,
      readable: true,
      writable: true,
      bytesSent: 700_000,
      bytesReceived: 1_100_000,
    },
    { id: '{lc-host}', type: 'local-candidate', timestamp, candidateType: 'host', protocol: 'udp' },
    { id: '{rc-host}', type: 'remote-candidate', timestamp, candidateType: 'host', protocol: 'udp' },
    {
      id: '{lc-relay}',
      type: 'local-candidate',
      timestamp,
      candidateType: 'relay',
      relayProtocol: 'udp',
      protocol: 'udp',
    },
    { id: '{rc-srflx}', type: 'remote-candidate', timestamp, candidateType: 'srflx', protocol: 'udp' },
    {
      id: '{in-audio}',
      ...inbound('audio', i, traffic),
      timestamp,
      ssrc: 1111,
      jitter: 0.004,
      audioLevel: 0.2,
    },
    {
      id: '{in-video}',
      ...inbound('video', i, traffic),
      timestamp,
      ssrc: 2222,
      jitter: 0.02,
      framesDecoded: traffic.framesDecoded[i],
      frameWidth: 640,
      frameHeight: 360,
    },
    { id: '{out-audio}', ...outbound('audio', i, traffic), timestamp },
    { id: '{out-video}', ...outbound('video', i, traffic), timestamp },
    { id: '{ri-audio}', type: 'remote-inbound-rtp', kind: 'audio', timestamp, roundTripTime: 0.07 },
    { id: '{ri-video}', type: 'remote-inbound-rtp', kind: 'video', timestamp, roundTripTime: 0.09 },
  ]);
}

describe('summarizeStats', () => {
  it.each([
    {
      name: 'Chromium',
      make: chromium,
      expected: {
        rttMs: 42,
        jitterMs: 3.5,
        framesPerSecond: 30,
        frameWidth: 1280,
        frameHeight: 720,
        audioLevel: 0.12,
        path: 'direct',
        localCandidateType: 'host',
        remoteCandidateType: 'srflx',
        quality: 'fair',
      },
    },
    {
      name: 'Firefox',
      make: firefox,
      expected: {
        // No currentRoundTripTime: the mean of the RTCP round trips (70 and 90 ms).
        rttMs: 80,
        jitterMs: 4,
        // No framesPerSecond: 30 frames decoded over one second.
        framesPerSecond: 30,
        frameWidth: 640,
        frameHeight: 360,
        audioLevel: 0.2,
        path: 'relay',
        localCandidateType: 'relay',
        remoteCandidateType: 'srflx',
        quality: 'fair',
      },
    },
  ])('reads a $name report', ({ make, expected }) => {
    const summary = summarizeStats(make(1), make(0), 42);
    expect(summary).toMatchObject({
      at: 42,
      framesDecoded: 1230,
      audioPacketsReceived: 2050,
      ...expected,
    });
    expect(summary.bitrateInKbps).toBeCloseTo(1232, 6);
    expect(summary.bitrateOutKbps).toBeCloseTo(532, 6);
    expect(summary.packetLossPercent).toBeCloseTo(5, 6);
    expect(summary.rttMs).toBeCloseTo(expected.rttMs, 6);
    expect(summary.jitterMs).toBeCloseTo(expected.jitterMs, 6);
  });

  it('gives no rates for the first report, but everything that needs no history', () => {
    const summary = summarizeStats(chromium(0), null, 1);
    expect(summary).toMatchObject({
      bitrateInKbps: 0,
      bitrateOutKbps: 0,
      packetLossPercent: null,
      rttMs: 42,
      framesPerSecond: 30,
      path: 'direct',
      quality: 'good',
    });
    expect(summarizeStats(firefox(0), null, 1).framesPerSecond).toBeNull();
  });

  it('computes bitrate over the interval between the reports, not an assumed second', () => {
    const later = chromium(1);
    for (const stat of later.values()) {
      stat.timestamp = T0 + 2000;
    }
    const summary = summarizeStats(later, chromium(0), 0);
    expect(summary.bitrateInKbps).toBeCloseTo(616, 6);
    expect(summary.bitrateOutKbps).toBeCloseTo(266, 6);
  });

  it('ignores counters that went backwards (a new SSRC) and streams new since the last report', () => {
    const reset = { ...TRAFFIC, videoIn: [1_000_000, 500] as [number, number] };
    expect(summarizeStats(chromium(1, reset), chromium(0, reset), 0).bitrateInKbps).toBeCloseTo(32, 6);
    const previous = chromium(0);
    previous.delete('IT01V5678');
    expect(summarizeStats(chromium(1), previous, 0).bitrateInKbps).toBeCloseTo(32, 6);
  });

  it.each([
    { lost: [0, 0], received: [1000, 1100], percent: 0 },
    { lost: [5, 6], received: [1000, 1099], percent: 1 },
    { lost: [5, 25], received: [1000, 1080], percent: 20 },
    // Duplicates can shrink packetsLost: not negative loss.
    { lost: [10, 8], received: [1000, 1100], percent: 0 },
    // Nothing arrived and nothing was missed: unknown, not 0 %.
    { lost: [3, 3], received: [1000, 1000], percent: null },
  ] as const)(
    'loss over the interval: lost $lost, received $received → $percent %',
    ({ lost, received, percent }) => {
      const traffic: Traffic = {
        ...TRAFFIC,
        audioLost: [0, 0],
        audioPackets: [2000, 2000],
        videoLost: [...lost],
        videoPackets: [...received],
      };
      const summary = summarizeStats(chromium(1, traffic), chromium(0, traffic), 0);
      if (percent === null) {
        expect(summary.packetLossPercent).toBeNull();
      } else {
        expect(summary.packetLossPercent).toBeCloseTo(percent, 6);
      }
    },
  );

  it('finds the selected pair by nomination when nothing names or flags it', () => {
    const current = chromium(1);
    current.delete('T01');
    // Of two nominated, succeeded pairs the busier one carries the call (here the stale relay pair).
    expect(summarizeStats(current, null, 0)).toMatchObject({ rttMs: 900, path: 'relay' });
    (current.get('CPold_relay') as Stat).state = 'failed';
    expect(summarizeStats(current, null, 0)).toMatchObject({ rttMs: 42, path: 'direct' });
  });

  it.each([
    { candidates: ['host', 'host'], path: 'direct' },
    { candidates: ['prflx', 'srflx'], path: 'direct' },
    { candidates: ['relay', 'srflx'], path: 'relay' },
    { candidates: ['host', 'relay'], path: 'relay' },
    // Firefox before 2019.
    { candidates: ['relayed', 'serverreflexive'], path: 'relay', local: 'relay', remote: 'srflx' },
    { candidates: ['peerreflexive', 'host'], path: 'direct', local: 'prflx', remote: 'host' },
  ] as const)('path for $candidates is $path', ({ candidates, path, ...types }) => {
    const summary = summarizeStats(chromium(1, TRAFFIC, [...candidates]), null, 0);
    expect(summary.path).toBe(path);
    if ('local' in types) {
      expect([summary.localCandidateType, summary.remoteCandidateType]).toEqual([types.local, types.remote]);
    }
  });

  it('reports nothing about the path before a pair is selected', () => {
    const current = chromium(1);
    current.delete('T01');
    for (const stat of current.values()) {
      if (stat.type === 'candidate-pair') {
        stat.state = 'in-progress';
      }
    }
    for (const stat of current.values()) {
      if (stat.type === 'remote-inbound-rtp') {
        current.delete(stat.id);
      }
    }
    expect(summarizeStats(current, null, 0)).toMatchObject({
      path: null,
      localCandidateType: null,
      remoteCandidateType: null,
      rttMs: null,
      quality: 'unknown',
    });
  });

  it('averages RTT from STUN totals over the interval when currentRoundTripTime is missing', () => {
    const strip = (r: Map<string, Stat>, responses: number, total: number) => {
      const pair = r.get('CPaB3cD4eF_gH5iJ6kL')!;
      delete pair.currentRoundTripTime;
      Object.assign(pair, { responsesReceived: responses, totalRoundTripTime: total });
      return r;
    };
    // Two responses in the interval totalling 0.25 s → 125 ms, however slow earlier checks were.
    const summary = summarizeStats(strip(chromium(1), 32, 1.45), strip(chromium(0), 30, 1.2), 0);
    expect(summary.rttMs).toBeCloseTo(125, 6);
  });

  it('falls back to a remote track stat for the audio level in older browsers', () => {
    const current = chromium(1);
    delete current.get('IT01A1234')!.audioLevel;
    current.set('RTCMediaStreamTrack_receiver_3', {
      id: 'RTCMediaStreamTrack_receiver_3',
      type: 'track',
      kind: 'audio',
      remoteSource: true,
      audioLevel: 0.33,
    });
    expect(summarizeStats(current, null, 0).audioLevel).toBe(0.33);
  });

  it('skips the RTCP-derived copies old Firefox flagged isRemote', () => {
    const current = chromium(1);
    current.set('remote_in', {
      id: 'remote_in',
      type: 'inbound-rtp',
      kind: 'video',
      isRemote: true,
      bytesReceived: 99_999_999,
      packetsLost: 500,
      packetsReceived: 1,
    });
    const previous = chromium(0);
    previous.set('remote_in', {
      ...current.get('remote_in')!,
      bytesReceived: 0,
      packetsLost: 0,
      packetsReceived: 0,
    });
    const summary = summarizeStats(current, previous, 0);
    expect(summary.bitrateInKbps).toBeCloseTo(1232, 6);
    expect(summary.packetLossPercent).toBeCloseTo(5, 6);
  });

  it('reads an empty report (before media flows) as unknown', () => {
    expect(summarizeStats(new Map(), new Map(), 7)).toEqual({
      at: 7,
      bitrateInKbps: 0,
      bitrateOutKbps: 0,
      rttMs: null,
      packetLossPercent: null,
      jitterMs: null,
      framesPerSecond: null,
      frameWidth: null,
      frameHeight: null,
      framesDecoded: null,
      audioLevel: null,
      audioPacketsReceived: null,
      path: null,
      localCandidateType: null,
      remoteCandidateType: null,
      quality: 'unknown',
      sending: {
        availableKbps: null,
        lossPercent: null,
        videoKbps: 0,
        frameWidth: null,
        frameHeight: null,
        framesPerSecond: null,
        limitation: null,
      },
    } satisfies StatsSummary);
  });

  it('reads the sending side: the estimate, the loss the peer reports, the encoder and its limit', () => {
    const current = chromium(1);
    current.set('OT01V8765', {
      ...current.get('OT01V8765')!,
      framesPerSecond: 15,
      qualityLimitationReason: 'bandwidth',
    });
    current.set('RIV8765', {
      id: 'RIV8765',
      type: 'remote-inbound-rtp',
      kind: 'video',
      timestamp: T0 + 1000,
      roundTripTime: 0.05,
      fractionLost: 0.0625,
    });
    expect(summarizeStats(current, chromium(0), 0).sending).toEqual({
      availableKbps: 2500,
      lossPercent: 6.25,
      videoKbps: 500,
      frameWidth: 1280,
      frameHeight: 720,
      framesPerSecond: 15,
      limitation: 'bandwidth',
    });
  });
});

describe('rateQuality', () => {
  const { rttMs: rtt, lossPercent: loss } = QUALITY_THRESHOLDS;
  it.each([
    [null, null, 'unknown'],
    [40, 0, 'good'],
    [40, null, 'good'],
    [null, 0.5, 'good'],
    [rtt.fair - 1, loss.fair - 0.1, 'good'],
    [rtt.fair, 0, 'fair'],
    [40, loss.fair, 'fair'],
    [rtt.poor - 1, loss.poor - 0.1, 'fair'],
    [rtt.poor, 0, 'poor'],
    [40, loss.poor, 'poor'],
    [null, 25, 'poor'],
    [1500, null, 'poor'],
  ] as const)('rtt %s ms, loss %s %% → %s', (rttMs, lossPercent, quality) => {
    expect(rateQuality(rttMs, lossPercent)).toBe(quality);
  });
});

describe('StatsSampler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A getStats() that walks through a sequence of Chromium-shaped reports, one second apart. */
  function source() {
    let calls = 0;
    return {
      get calls() {
        return calls;
      },
      getStats: vi.fn(async () => {
        const n = calls++;
        const r = chromium(0);
        for (const stat of r.values()) {
          stat.timestamp = T0 + n * 1000;
          if (typeof stat.bytesReceived === 'number') {
            stat.bytesReceived += n * 10_000;
          }
        }
        return r;
      }),
    };
  }

  it('takes a baseline, then samples every interval, keeping a bounded history', async () => {
    vi.useFakeTimers({ now: 5_000 });
    const stats = source();
    const sampler = new StatsSampler(stats, { intervalMs: 1000, historySize: 3 });
    const samples: StatsSummary[] = [];
    sampler.on('sample', (s) => samples.push(s));

    sampler.start();
    sampler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(stats.calls).toBe(1);
    expect(sampler.latest).toBeNull();

    await vi.advanceTimersByTimeAsync(1000);
    expect(samples).toHaveLength(1);
    expect(samples[0]!.at).toBe(6_000);
    // Both inbound streams grew by 10 kB in the second (the transport's and pairs' counters do not count).
    expect(samples[0]!.bitrateInKbps).toBeCloseTo(160, 6);

    const before = sampler.history;
    await vi.advanceTimersByTimeAsync(9000);
    expect(samples).toHaveLength(10);
    expect(sampler.history).toHaveLength(3);
    expect(sampler.history).not.toBe(before);
    expect(sampler.history.map((s) => s.at)).toEqual([13_000, 14_000, 15_000]);
    expect(sampler.latest).toBe(samples.at(-1));

    sampler.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(stats.calls).toBe(11);
    expect(sampler.history).toHaveLength(3);
  });

  it('defaults to one sample a second and a minute of history', async () => {
    vi.useFakeTimers();
    const sampler = new StatsSampler(source());
    sampler.start();
    await vi.advanceTimersByTimeAsync(70_000);
    expect(sampler.history).toHaveLength(60);
    sampler.stop();
  });

  it('never overlaps polls when getStats is slower than the interval', async () => {
    vi.useFakeTimers();
    let pending = 0;
    let maxPending = 0;
    const slow = {
      getStats: async () => {
        pending += 1;
        maxPending = Math.max(maxPending, pending);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        pending -= 1;
        return new Map();
      },
    };
    const sampler = new StatsSampler(slow, { intervalMs: 1000 });
    sampler.start();
    await vi.advanceTimersByTimeAsync(20_000);
    sampler.stop();
    expect(maxPending).toBe(1);
    expect(sampler.history.length).toBeGreaterThan(3);
  });

  it('skips a failed poll, reports it and keeps going', async () => {
    vi.useFakeTimers();
    const stats = source();
    const failure = new Error('closed');
    stats.getStats.mockRejectedValueOnce(failure);
    const sampler = new StatsSampler(stats);
    const onError = vi.fn();
    sampler.onError = onError;
    sampler.start();
    await vi.advanceTimersByTimeAsync(2000);
    expect(onError).toHaveBeenCalledWith(failure);
    expect(sampler.history).toHaveLength(1);
    sampler.stop();
  });

  it('drops a poll that was in flight when stopped', async () => {
    vi.useFakeTimers();
    let resolve!: (r: Map<string, Stat>) => void;
    const stats = { getStats: () => new Promise<Map<string, Stat>>((r) => (resolve = r)) };
    const sampler = new StatsSampler(stats);
    const onSample = vi.fn();
    sampler.on('sample', onSample);
    sampler.start();
    sampler.stop();
    resolve(chromium(0));
    await vi.advanceTimersByTimeAsync(5000);
    expect(onSample).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
