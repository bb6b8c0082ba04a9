import type { CDPSession, Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { BUILD_DIR } from './report.js';

/**
 * A V8 CPU profile of a page's main thread over a window, through the Chrome DevTools Protocol,
 * summarised as where the time went: self time by function, and by script. The full profile is
 * written to bench/.build/ (open it in Chromium's DevTools, Performance panel → Load profile).
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers, ms. */
  spanMs: number;
  /** ms not idle: JS, GC, and the renderer's own work it attributes to "(program)". */
  busyMs: number;
  byCategory: Record<string, number>;
  topFunctions: Array<{ fn: string; ms: number }>;
  byScript: Array<{ script: string; ms: number }>;
  /**
   * The renderer's own counters over the window (CDP Performance.getMetrics, differences): main-
   * thread task time split into script, style recalculation and layout; DOM nodes added.
   */
  renderer: Record<string, number>;
  file: string;
}

const RENDERER_METRICS = [
  'TaskDuration',
  'ScriptDuration',
  'RecalcStyleDuration',
  'LayoutDuration',
  'RecalcStyleCount',
  'LayoutCount',
  'Nodes',
] as const;

async function rendererMetrics(session: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await session.send('Performance.getMetrics');
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

export class Profiler {
  private constructor(
    private readonly session: CDPSession,
    private readonly label: string | null,
    private readonly before: Record<string, number>,
  ) {}

  /**
   * Start counting, and sampling every `intervalUs` microseconds unless `intervalUs` is 0 (then only
   * the renderer's counters are read: cheap enough for every run).
   */
  static async start(page: Page, label: string, intervalUs = 200): Promise<Profiler> {
    const session = await page.context().newCDPSession(page);
    await session.send('Performance.enable');
    const before = await rendererMetrics(session);
    if (intervalUs > 0) {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: intervalUs });
      await session.send('Profiler.start');
    }
    return new Profiler(session, intervalUs > 0 ? label : null, before);
  }

  async stop(): Promise<ProfileSummary> {
    const profile = this.label
      ? ((await this.session.send('Profiler.stop')) as unknown as { profile: CpuProfile }).profile
      : null;
    const after = await rendererMetrics(this.session);
    await this.session.detach().catch(() => undefined);
    let summary: Omit<ProfileSummary, 'renderer'> = {
      spanMs: 0,
      busyMs: 0,
      byCategory: {},
      topFunctions: [],
      byScript: [],
      file: '',
    };
    if (profile && this.label) {
      mkdirSync(BUILD_DIR, { recursive: true });
      const file = `${BUILD_DIR}${this.label}.cpuprofile`;
      writeFileSync(file, JSON.stringify(profile));
      summary = summarizeProfile(profile, file);
    }
    const renderer: Record<string, number> = {};
    for (const name of RENDERER_METRICS) {
      const diff = (after[name] ?? 0) - (this.before[name] ?? 0);
      // Durations are in seconds: report ms.
      renderer[name.endsWith('Duration') ? name.replace('Duration', 'Ms') : name] = name.endsWith('Duration')
        ? Math.round(diff * 10_000) / 10
        : diff;
    }
    return { ...summary, renderer };
  }
}

/** A script's name that says whose it is: `socket.io-parser/…/index.js`, `server/dist/x.js`, `app.js`. */
function shortUrl(url: string): string {
  if (!url) {
    return '(native)';
  }
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // node:internal names and the like
  }
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + 14).split('/');
    const pkg = parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
    return `${pkg}/…/${parts.at(-1)}`;
  }
  const packages = path.lastIndexOf('/packages/');
  if (packages >= 0) {
    return path.slice(packages + 10);
  }
  return path.split('/').pop() || path;
}

/**
 * Where the time went in `profile`, optionally only between `window.from` and `window.to` (µs on the
 * profile's clock: CLOCK_MONOTONIC on Linux, the same as `process.hrtime`).
 */
export function summarizeProfile(
  profile: CpuProfile,
  file: string,
  window?: { from: number; to: number },
): Omit<ProfileSummary, 'renderer'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next sample (V8's convention: delta[i] precedes sample[i]).
  let at = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (window && (at < window.from || at > window.to)) {
      continue;
    }
    first = Math.min(first, at);
    last = Math.max(last, at);
    const dt = deltas[i + 1] ?? 0;
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const fnTotals = new Map<string, number>();
  const scriptTotals = new Map<string, number>();
  const categories: Record<string, number> = {};
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name.startsWith('(') && !frame.url) {
      categories[name] = (categories[name] ?? 0) + us / 1000;
      continue;
    }
    const key = `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us / 1000);
    const script = shortUrl(frame.url);
    scriptTotals.set(script, (scriptTotals.get(script) ?? 0) + us / 1000);
    categories['(js)'] = (categories['(js)'] ?? 0) + us / 1000;
  }
  const spanMs = window ? Math.max(0, last - first) / 1000 : (profile.endTime - profile.startTime) / 1000;
  const idle = categories['(idle)'] ?? 0;
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    spanMs: round(spanMs),
    busyMs: round(spanMs - idle),
    byCategory: Object.fromEntries(Object.entries(categories).map(([k, v]) => [k, round(v)])),
    topFunctions: [...fnTotals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([fn, ms]) => ({ fn, ms: round(ms) })),
    byScript: [...scriptTotals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([script, ms]) => ({ script, ms: round(ms) })),
    file,
  };
}
