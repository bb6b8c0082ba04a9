import { fmt, fmtRatio } from './report.js';
import { median, percentile, ratio, round } from './stats.js';

/**
 * How the signaling and scale-out benchmarks summarise the relay latencies their clients timed, and
 * the table columns that show them: the same figures, computed and printed one way in both.
 */
export interface RelayLatency {
  p50Ms: number;
  p99Ms: number;
  /** The median of the per-second p99s (robust to one stall). */
  p99MedianSecondMs: number;
  p99PerSecond: number[];
  maxMs: number;
}

/** `latenciesMs`: every relay timed; `p99PerSecond`: the p99 of each second of the windows. */
export function relayLatency(latenciesMs: readonly number[], p99PerSecond: number[]): RelayLatency {
  return {
    p50Ms: round(percentile(latenciesMs, 50), 2),
    p99Ms: round(percentile(latenciesMs, 99), 2),
    p99MedianSecondMs: round(median(p99PerSecond), 2),
    p99PerSecond,
    maxMs: round(Math.max(...latenciesMs), 1),
  };
}

/** The table columns that show a RelayLatency, the same in both benchmarks' tables. */
export const relayLatencyColumns = {
  headers: ['p50 ms', 'p99 ms', 'p99 median s', 'max ms'],

  /** A result's cells under `headers`. */
  cells(x: RelayLatency): string[] {
    return [fmt(x.p50Ms, 2), fmt(x.p99Ms, 2), fmt(x.p99MedianSecondMs, 2), fmt(x.maxMs, 1)];
  },

  /** `x` ÷ `base`, by header, where a ratio means something (not the max: one outlier). */
  ratios(x: RelayLatency | undefined, base: RelayLatency | undefined): Record<string, string> {
    const of = (key: 'p50Ms' | 'p99Ms' | 'p99MedianSecondMs'): string =>
      fmtRatio(ratio(x?.[key] ?? NaN, base?.[key] ?? NaN));
    return { 'p50 ms': of('p50Ms'), 'p99 ms': of('p99Ms'), 'p99 median s': of('p99MedianSecondMs') };
  },
} as const;
