/** Summary statistics for benchmark samples. Medians, not means: two cores make outliers common. */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

function sorted(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/** The `p`-th percentile (0–100) by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  if (s.length === 0) {
    return NaN;
  }
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = s[lo]!;
  const b = s[hi]!;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return { n: s.length, median: median(s), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

/** `a / b`, rounded to 3 decimals; null when either side is missing. */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return null;
  }
  return Math.round((a / b) * 1000) / 1000;
}

/** Round to `digits` decimals (for JSON that stays small and readable). */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) {
    return value;
  }
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The p99 of each second of a message window, by when each message was sent (`sentAtMs`, ms from
 * the window's start; `latenciesMs` in the same order): one stall (a GC pause, a neighbour's burst)
 * shows as one bad second, and the median second is what the server sustains.
 */
export function p99PerSecond(
  latenciesMs: readonly number[],
  sentAtMs: readonly number[],
  windowMs: number,
): number[] {
  const bySecond: number[][] = Array.from({ length: Math.ceil(windowMs / 1000) }, () => []);
  sentAtMs.forEach((at, i) =>
    bySecond[Math.min(bySecond.length - 1, Math.floor(at / 1000))]!.push(latenciesMs[i]!),
  );
  return bySecond.map((l) => round(percentile(l, 99), 1));
}
