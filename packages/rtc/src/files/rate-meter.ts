/*
 * Speed for the UI. Why its own module: both directions measure the same way (bytes confirmed over a
 * sliding window), and it is the only part of a transfer that needs time samples.
 */

/** Bytes per second over a sliding window, from (time, total bytes) samples. */
export class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];
  private latest: { at: number; bytes: number } | null = null;

  constructor(private readonly windowMs: number) {}

  add(at: number, bytes: number): void {
    this.latest = { at, bytes };
    const last = this.samples.at(-1);
    // A sample every 1/20 of the window is plenty; the latest total is kept exactly.
    if (!last || at - last.at >= this.windowMs / 20) {
      this.samples.push({ at, bytes });
    }
    // Keep one sample at or before the window's start as the anchor.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - this.windowMs) {
      this.samples.shift();
    }
  }

  rate(now: number): number {
    const first = this.samples[0];
    const latest = this.latest;
    if (!first || !latest || latest.bytes <= first.bytes || now - latest.at > this.windowMs) {
      return 0;
    }
    const span = now - first.at;
    return span > 0 ? ((latest.bytes - first.bytes) * 1000) / span : 0;
  }

  reset(): void {
    this.samples = [];
    this.latest = null;
  }
}
