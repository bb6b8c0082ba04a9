import { Emitter } from '../emitter.js';
import type { LimitationReason, SendingStats, StatsSummary } from './media-types.js';

/** Anything shaped like an `RTCStatsReport` (a read-only Map of id → stats): the real one, or a `Map` in tests. */
export interface StatsReportLike {
  values(): Iterable<unknown>;
  get(id: string): unknown;
}

type Stat = Readonly<Record<string, unknown>>;
type CandidateType = StatsSummary['localCandidateType'];
type Quality = StatsSummary['quality'];

/**
 * Where the quality ratings change, as `fair`/`poor` lower bounds.
 *
 * Round-trip time: mouth-to-ear delay is about half the RTT plus ~100 ms of capture, jitter buffer and
 * playout. Under 300 ms RTT that stays within ITU-T G.114's comfortable 150–200 ms; from 600 ms it passes
 * 400 ms, where people start talking over each other.
 *
 * Packet loss: Opus in-band FEC and video NACK/retransmission hide up to ~2 %; by 10 % speech has
 * audible gaps and video freezes while it waits for keyframes.
 */
export const QUALITY_THRESHOLDS = {
  rttMs: { fair: 300, poor: 600 },
  lossPercent: { fair: 2, poor: 10 },
} as const;

const QUALITY_LEVELS = ['good', 'fair', 'poor'] as const;

/** Rate a connection by the worse of its RTT and packet loss (see {@link QUALITY_THRESHOLDS}). */
export function rateQuality(rttMs: number | null, lossPercent: number | null): Quality {
  if (rttMs === null && lossPercent === null) {
    return 'unknown';
  }
  const level = (value: number | null, bounds: { fair: number; poor: number }) =>
    value === null ? 0 : value >= bounds.poor ? 2 : value >= bounds.fair ? 1 : 0;
  const worst = Math.max(
    level(rttMs, QUALITY_THRESHOLDS.rttMs),
    level(lossPercent, QUALITY_THRESHOLDS.lossPercent),
  );
  return QUALITY_LEVELS[worst] ?? 'unknown';
}

function asStat(value: unknown): Stat | undefined {
  return typeof value === 'object' && value !== null ? (value as Stat) : undefined;
}

function num(stat: Stat | undefined, key: string): number | undefined {
  const value = stat?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(stat: Stat | undefined, key: string): string | undefined {
  const value = stat?.[key];
  return typeof value === 'string' ? value : undefined;
}

function entries(report: StatsReportLike): Stat[] {
  const out: Stat[] = [];
  for (const value of report.values()) {
    const stat = asStat(value);
    if (stat) {
      out.push(stat);
    }
  }
  return out;
}

/** The same stats object in the previous report (stats ids are stable for the object's lifetime). */
function before(stat: Stat, previous: StatsReportLike | null): Stat | undefined {
  const id = str(stat, 'id');
  return previous && id !== undefined ? asStat(previous.get(id)) : undefined;
}

/** Growth of a counter since the previous report; undefined when unknown or reset (a new SSRC). */
function delta(stat: Stat, earlier: Stat | undefined, key: string): number | undefined {
  const now = num(stat, key);
  const then = num(earlier, key);
  if (now === undefined || then === undefined || now < then) {
    return undefined;
  }
  return now - then;
}

/** A counter's growth per second, over the interval between the two objects' timestamps. */
function perSecond(stat: Stat, previous: StatsReportLike | null, key: string): number | undefined {
  const earlier = before(stat, previous);
  const grown = delta(stat, earlier, key);
  const t1 = num(stat, 'timestamp');
  const t0 = num(earlier, 'timestamp');
  if (grown === undefined || t1 === undefined || t0 === undefined || t1 <= t0) {
    return undefined;
  }
  return grown / ((t1 - t0) / 1000);
}

function kindOf(stat: Stat): string | undefined {
  // `mediaType` is the pre-2020 name, still sent by some older Chromium-based builds.
  return str(stat, 'kind') ?? str(stat, 'mediaType');
}

/** RTP stats for our own streams; old Firefox mixed in RTCP-derived copies flagged `isRemote`. */
function rtp(all: readonly Stat[], type: 'inbound-rtp' | 'outbound-rtp'): Stat[] {
  return all.filter((s) => s.type === type && s.isRemote !== true);
}

/** The busiest stream of a kind (a 1:1 call has one; after renegotiation an idle one may linger). */
function main(streams: readonly Stat[], kind: 'audio' | 'video'): Stat | undefined {
  let best: Stat | undefined;
  for (const stat of streams) {
    if (kindOf(stat) !== kind) {
      continue;
    }
    if (!best || (num(stat, 'bytesReceived') ?? 0) > (num(best, 'bytesReceived') ?? 0)) {
      best = stat;
    }
  }
  return best;
}

function kbps(streams: readonly Stat[], previous: StatsReportLike | null, key: string): number {
  let bytesPerSecond = 0;
  for (const stat of streams) {
    bytesPerSecond += perSecond(stat, previous, key) ?? 0;
  }
  return (bytesPerSecond * 8) / 1000;
}

function selectedPair(all: readonly Stat[], report: StatsReportLike): Stat | undefined {
  // The standard way (Chromium, Safari): the transport names its selected pair.
  for (const stat of all) {
    if (stat.type !== 'transport') {
      continue;
    }
    const id = str(stat, 'selectedCandidatePairId');
    const pair = id === undefined ? undefined : asStat(report.get(id));
    if (pair) {
      return pair;
    }
  }
  const pairs = all.filter((s) => s.type === 'candidate-pair');
  // Firefox has no transport stats; it flags the pair itself.
  const flagged = pairs.find((p) => p.selected === true);
  if (flagged) {
    return flagged;
  }
  // Otherwise a nominated, working pair; after an ICE restart there may be two, so take the busier.
  let best: Stat | undefined;
  for (const pair of pairs) {
    if (pair.nominated !== true || pair.state !== 'succeeded') {
      continue;
    }
    const traffic = (num(pair, 'bytesReceived') ?? 0) + (num(pair, 'bytesSent') ?? 0);
    if (!best || traffic > (num(best, 'bytesReceived') ?? 0) + (num(best, 'bytesSent') ?? 0)) {
      best = pair;
    }
  }
  return best;
}

function candidateType(stat: Stat | undefined): CandidateType {
  // Firefox before 2019 spelled the types out.
  switch (str(stat, 'candidateType')) {
    case 'host':
      return 'host';
    case 'srflx':
    case 'serverreflexive':
      return 'srflx';
    case 'prflx':
    case 'peerreflexive':
      return 'prflx';
    case 'relay':
    case 'relayed':
      return 'relay';
    default:
      return null;
  }
}

function roundTripMs(
  pair: Stat | undefined,
  all: readonly Stat[],
  previous: StatsReportLike | null,
): number | null {
  const current = num(pair, 'currentRoundTripTime');
  if (current !== undefined) {
    return current * 1000;
  }
  // Firefox lacks currentRoundTripTime; STUN consent checks still give totals to average over the interval.
  if (pair) {
    const earlier = before(pair, previous);
    const total = delta(pair, earlier, 'totalRoundTripTime');
    const responses = delta(pair, earlier, 'responsesReceived');
    if (total !== undefined && responses !== undefined && responses > 0) {
      return (total / responses) * 1000;
    }
  }
  // Last resort: RTCP receiver reports about our outgoing streams, which both engines provide.
  const rtts = all
    .filter((s) => s.type === 'remote-inbound-rtp')
    .map((s) => num(s, 'roundTripTime'))
    .filter((v): v is number => v !== undefined);
  return rtts.length > 0 ? (rtts.reduce((a, b) => a + b, 0) / rtts.length) * 1000 : null;
}

function lossPercent(inbound: readonly Stat[], previous: StatsReportLike | null): number | null {
  let lost = 0;
  let received = 0;
  for (const stat of inbound) {
    const earlier = before(stat, previous);
    const receivedDelta = delta(stat, earlier, 'packetsReceived');
    const lostNow = num(stat, 'packetsLost');
    const lostThen = num(earlier, 'packetsLost');
    if (receivedDelta === undefined || lostNow === undefined || lostThen === undefined) {
      continue;
    }
    // packetsLost can shrink when late duplicates arrive; that is not negative loss for the interval.
    lost += Math.max(0, lostNow - lostThen);
    received += receivedDelta;
  }
  const expected = lost + received;
  return expected > 0 ? (lost / expected) * 100 : null;
}

function limitation(stat: Stat | undefined): LimitationReason | null {
  const reason = str(stat, 'qualityLimitationReason');
  return reason === 'none' || reason === 'bandwidth' || reason === 'cpu' || reason === 'other'
    ? reason
    : null;
}

/** The busiest outgoing stream of a kind (the one carrying the call after a renegotiation). */
function mainOut(streams: readonly Stat[], kind: 'audio' | 'video'): Stat | undefined {
  let best: Stat | undefined;
  for (const stat of streams) {
    if (kindOf(stat) === kind && (!best || (num(stat, 'bytesSent') ?? 0) > (num(best, 'bytesSent') ?? 0))) {
      best = stat;
    }
  }
  return best;
}

/**
 * The outgoing side: what the quality policy watches. Loss comes from the peer's RTCP receiver
 * reports (`remote-inbound-rtp`), the only place the sender learns what got lost on its way out.
 */
function sending(
  all: readonly Stat[],
  outbound: readonly Stat[],
  pair: Stat | undefined,
  previous: StatsReportLike | null,
): SendingStats {
  const video = mainOut(outbound, 'video');
  const remote = all.filter((s) => s.type === 'remote-inbound-rtp');
  const report = remote.find((s) => kindOf(s) === 'video') ?? remote.find((s) => kindOf(s) === 'audio');
  const fractionLost = num(report, 'fractionLost');
  const available = num(pair, 'availableOutgoingBitrate');
  return {
    availableKbps: available === undefined ? null : available / 1000,
    lossPercent: fractionLost === undefined ? null : fractionLost * 100,
    videoKbps: video ? ((perSecond(video, previous, 'bytesSent') ?? 0) * 8) / 1000 : 0,
    frameWidth: num(video, 'frameWidth') ?? null,
    frameHeight: num(video, 'frameHeight') ?? null,
    framesPerSecond: num(video, 'framesPerSecond') ?? null,
    limitation: limitation(video),
  };
}

/**
 * Reduce a `getStats()` report to what the UI shows. Pure. Rates (bitrates, loss, decoded frame
 * rate fallback) compare `current` with `previous` over the interval between their timestamps, so
 * with no `previous` the bitrates are 0 and loss is null. Bitrates count RTP payload bytes, as
 * chrome://webrtc-internals does. Jitter is the inbound audio stream's: video jitter mostly measures
 * frames arriving in bursts, which says little about what the user hears or sees.
 */
export function summarizeStats(
  current: StatsReportLike,
  previous: StatsReportLike | null,
  now: number,
): StatsSummary {
  const all = entries(current);
  const inbound = rtp(all, 'inbound-rtp');
  const outbound = rtp(all, 'outbound-rtp');
  const audio = main(inbound, 'audio');
  const video = main(inbound, 'video');

  const pair = selectedPair(all, current);
  const localCandidateType = pair
    ? candidateType(asStat(current.get(str(pair, 'localCandidateId') ?? '')))
    : null;
  const remoteCandidateType = pair
    ? candidateType(asStat(current.get(str(pair, 'remoteCandidateId') ?? '')))
    : null;
  const path =
    localCandidateType === 'relay' || remoteCandidateType === 'relay'
      ? 'relay'
      : localCandidateType && remoteCandidateType
        ? 'direct'
        : null;

  // Chromium before 112 and old Safari put the received audio level on a `track` stat instead.
  const remoteTrack = all.find((s) => s.type === 'track' && kindOf(s) === 'audio' && s.remoteSource === true);
  const jitter = num(audio, 'jitter');
  const framesPerSecond = video
    ? (num(video, 'framesPerSecond') ?? perSecond(video, previous, 'framesDecoded') ?? null)
    : null;

  const rttMs = roundTripMs(pair, all, previous);
  const packetLossPercent = lossPercent(inbound, previous);
  return {
    at: now,
    bitrateInKbps: kbps(inbound, previous, 'bytesReceived'),
    bitrateOutKbps: kbps(outbound, previous, 'bytesSent'),
    rttMs,
    packetLossPercent,
    jitterMs: jitter === undefined ? null : jitter * 1000,
    framesPerSecond,
    frameWidth: num(video, 'frameWidth') ?? null,
    frameHeight: num(video, 'frameHeight') ?? null,
    framesDecoded: num(video, 'framesDecoded') ?? null,
    audioLevel: num(audio, 'audioLevel') ?? num(remoteTrack, 'audioLevel') ?? null,
    audioPacketsReceived: num(audio, 'packetsReceived') ?? null,
    path,
    localCandidateType,
    remoteCandidateType,
    quality: rateQuality(rttMs, packetLossPercent),
    sending: sending(all, outbound, pair, previous),
  };
}

/** Options for {@link StatsSampler}. */
export interface StatsSamplerOptions {
  /** Time between samples. Default 1000 ms. */
  intervalMs?: number;
  /** Samples kept in `history`. Default 60 (a minute at the default interval). */
  historySize?: number;
  /** Clock for `StatsSummary.at`. Default `Date.now`. */
  now?: () => number;
}

/**
 * Polls `getStats()` and emits a {@link StatsSummary} per interval, keeping a bounded history for
 * charts. The first report only sets the baseline (a sample without rates would chart as a drop to
 * zero). Polls never overlap: the next one is scheduled after the previous finished, because a busy
 * main thread can make `getStats()` slower than the interval. A failed poll (the connection closing)
 * is skipped and reported to `onError`.
 */
export class StatsSampler extends Emitter<{ sample: StatsSummary }> {
  /** Called when a `getStats()` call fails; replace to route into a logger. */
  onError: (error: unknown) => void = () => {};

  private readonly intervalMs: number;
  private readonly historySize: number;
  private readonly now: () => number;
  private samples: readonly StatsSummary[] = [];
  private previous: StatsReportLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  /** Bumped by `stop()`, so a poll in flight across stop/start does not feed the new run. */
  private generation = 0;

  constructor(
    private readonly source: { getStats(): Promise<StatsReportLike> },
    options: StatsSamplerOptions = {},
  ) {
    super();
    this.intervalMs = options.intervalMs ?? 1000;
    this.historySize = Math.max(1, options.historySize ?? 60);
    this.now = options.now ?? Date.now;
  }

  /** The kept samples, oldest first. A fresh array after each sample (safe for shallow refs). */
  get history(): readonly StatsSummary[] {
    return this.samples;
  }

  get latest(): StatsSummary | null {
    return this.samples.at(-1) ?? null;
  }

  /** Begin polling (takes the baseline now). Idempotent. History is kept across stop/start. */
  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    this.previous = null;
    void this.poll(this.generation);
  }

  stop(): void {
    this.running = false;
    this.generation += 1;
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.timer = null;
  }

  private async poll(generation: number): Promise<void> {
    this.timer = null;
    try {
      const report = await this.source.getStats();
      if (generation !== this.generation) {
        return;
      }
      if (this.previous) {
        this.record(summarizeStats(report, this.previous, this.now()));
      }
      this.previous = report;
    } catch (error) {
      if (generation !== this.generation) {
        return;
      }
      this.onError(error);
    }
    this.timer = setTimeout(() => void this.poll(generation), this.intervalMs);
  }

  private record(summary: StatsSummary): void {
    this.samples = [...this.samples, summary].slice(-this.historySize);
    this.emit('sample', summary);
  }
}
