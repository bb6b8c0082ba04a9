/**
 * Call setup: from the callee's click on Accept to (a) the data channel open and (b) the first
 * decoded remote video frame, on both sides. Chromium ↔ Chromium (two contexts of one headless
 * Debian Chromium), loopback, fake camera and microphone, in three systems side by side:
 *
 * - duet:   the real app and server (`packages/server/dist/main.js`), driven through its UI;
 * - raw:    the tutorial flow over a bare Socket.IO relay (bench/baselines/raw);
 * - peerjs: PeerJS 1.5 with its own server (bench/baselines/peerjs).
 *
 * Runs are interleaved (duet, raw, peerjs, then rotated) so that background load hits all three
 * alike; one warm-up round is not counted. All times are on one clock (performance.timeOrigin +
 * performance.now() in each page), relative to the Accept click as the callee page saw it.
 *
 *   npm run bench:call                  (builds first)
 *   npx tsx bench/call-setup.ts --runs 10
 */
import type { Browser, Page } from '@playwright/test';
import { numberArg } from './lib/args.js';
import { ringBaseline } from './lib/baselines.js';
import { launchChromium, marksOf, waitForMarks, withTwoPeople, type Mark } from './lib/browser.js';
import { callTheOtherPerson, openCorePages } from './lib/duet-api.js';
import { buildDuetCores } from './lib/duet-core.js';
import { clickAccept, clickCall, joinRoom, waitForPair, waitForRing } from './lib/duet.js';
import { profileEach, startStage, stopStage, type Stage } from './lib/stage.js';
import {
  fmt,
  fmtRatio,
  machine,
  progress,
  publish,
  requireSuccess,
  runIfMain,
  sparseRow,
} from './lib/report.js';
import { Profiler, type ProfileSummary } from './lib/profile.js';
import { median, ratio, round, summarize, type Summary } from './lib/stats.js';

/**
 * `duet-core` is a diagnostic: Duet's call core and server without the web UI (bench/pages/duet-core).
 * It is not part of the targets; it splits Duet's time into what the UI costs and what the rest does.
 */
const SYSTEMS = ['duet', 'duet-core', 'raw', 'peerjs'] as const;
/** With --diagnose: the raw page asking for Duet's camera constraints (1280×720 ideal, 30 fps). */
const DIAGNOSTICS = ['raw-720p'] as const;
type System = (typeof SYSTEMS)[number] | (typeof DIAGNOSTICS)[number];

/** Bounds: a run that takes longer failed; a step that waits longer failed. */
const RUN_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 20_000;
/** Let the ring settle (dialogs drawn, PeerJS's early offer sent) before the callee answers. */
const RING_SETTLE_MS = 300;

export interface CallRun {
  system: System;
  run: number;
  warmup: boolean;
  /** ms from the Accept click; null when the run failed. */
  dcOpen: { caller: number; callee: number } | null;
  firstFrame: { caller: number; callee: number } | null;
  /** Duet only: the peer's hello arrived on the control channel (messages may flow from then on). */
  duetHello?: { caller: number; callee: number };
  /** Duet only: `snapshot.dataChannelOpen` became true (what the UI sees). */
  duetFlag?: { caller: number; callee: number };
  /** Every probe mark, ms from the Accept click, per side. */
  marks: { caller: Record<string, number>; callee: Record<string, number> } | null;
  /** Main-thread long tasks (≥ 50 ms) between the Accept click and the last milestone, per side. */
  longTasks: { caller: LongTasks; callee: LongTasks } | null;
  /** Signaling frames and long tasks in that window, ms from the Accept click (kept for one run). */
  trace: { caller: TraceEvent[]; callee: TraceEvent[] } | null;
  /** CPU profiles of both pages over that window (profiled runs only, which are not counted). */
  profile?: { caller: ProfileSummary; callee: ProfileSummary };
  error?: string;
}

interface LongTasks {
  count: number;
  ms: number;
}

interface TraceEvent {
  at: number;
  kind: string;
  duration?: number;
  text?: string;
}

function relative(marks: Mark[], t0: number): Record<string, number> {
  return Object.fromEntries(marks.map((m) => [m.name, round(m.at - t0, 1)]));
}

/** The page's signaling frames and long tasks from `t0` to `end`, relative to `t0`. */
async function traceOf(
  page: Page,
  t0: number,
  end: number,
): Promise<{ trace: TraceEvent[]; longTasks: LongTasks }> {
  const events = await page.evaluate(() => window.__bench.events());
  const trace = events
    .filter((e) => e.at + (e.duration ?? 0) >= t0 && e.at <= end)
    .map((e) => ({
      ...e,
      at: round(e.at - t0, 1),
      ...(e.duration ? { duration: round(e.duration, 1) } : {}),
    }));
  const tasks = trace.filter((e) => e.kind === 'longtask');
  return {
    trace,
    longTasks: { count: tasks.length, ms: round(tasks.reduce((sum, e) => sum + e.duration!, 0)) },
  };
}

/** Sets up the pair, rings, and returns the callee page once it may answer. */
async function ring(system: System, servers: Stage, caller: Page, callee: Page, run: number): Promise<void> {
  const room = `bench-${system}-${run}-${Date.now()}`;
  if (system === 'duet') {
    await Promise.all([
      joinRoom(caller, servers.duet.origin, room, 'Alice'),
      joinRoom(callee, servers.duet.origin, room, 'Bob'),
    ]);
    await waitForPair([caller, callee]);
    await clickCall(caller, 'Bob');
    await waitForRing(callee);
    return;
  }
  if (system === 'duet-core') {
    await openCorePages(servers.duet.origin, 'core', room, [caller, callee]);
    await callTheOtherPerson(caller, true);
    await callee.locator('#accept:enabled').waitFor({ timeout: CONNECT_TIMEOUT_MS });
    return;
  }
  const baseline = system === 'peerjs' ? 'peerjs' : 'raw';
  const camera = system === 'raw-720p' ? '&camera=720p' : '';
  await ringBaseline(servers, baseline, [caller, callee], room, camera, CONNECT_TIMEOUT_MS);
}

async function runOnce(
  browser: Browser,
  servers: Stage,
  system: System,
  run: number,
  profile = false,
): Promise<CallRun> {
  const result: CallRun = {
    system,
    run,
    warmup: run < 0,
    dcOpen: null,
    firstFrame: null,
    marks: null,
    longTasks: null,
    trace: null,
  };
  const failed = await withTwoPeople(
    browser,
    ['caller', 'callee'],
    async (caller, callee) => {
      await ring(system, servers, caller, callee, run);
      await new Promise((resolve) => setTimeout(resolve, RING_SETTLE_MS));
      const profilers = profile
        ? await Promise.all([
            Profiler.start(caller, `call-setup-${system}-caller`),
            Profiler.start(callee, `call-setup-${system}-callee`),
          ])
        : null;
      if (system === 'duet') {
        await clickAccept(callee);
      } else {
        await callee.locator('#accept').click();
      }
      // The `open` event of the channel the app talks over: Duet's control channel ("duet"), the
      // raw page's channel, PeerJS's DataConnection (not the internal one of its MediaConnection).
      // Duet's own readiness (hello received, `snapshot.dataChannelOpen`) is recorded beside it.
      const duet = system.startsWith('duet');
      const dcMark = duet ? 'dc-open:duet' : 'app-dc-open';
      await Promise.all([
        waitForMarks(caller, [dcMark, 'first-frame', ...(duet ? ['duet-dc-ready'] : [])], CONNECT_TIMEOUT_MS),
        waitForMarks(
          callee,
          [dcMark, 'first-frame', 'accept-click', ...(duet ? ['duet-dc-ready'] : [])],
          CONNECT_TIMEOUT_MS,
        ),
      ]);
      if (profilers) {
        const [p1, p2] = await Promise.all(profilers.map((p) => p.stop()));
        result.profile = { caller: p1!, callee: p2! };
      }
      const [callerMarks, calleeMarks] = await Promise.all([marksOf(caller), marksOf(callee)]);
      const t0 = calleeMarks.find((m) => m.name === 'accept-click')!.at;
      const a = relative(callerMarks, t0);
      const b = relative(calleeMarks, t0);
      result.marks = { caller: a, callee: b };
      result.dcOpen = { caller: a[dcMark]!, callee: b[dcMark]! };
      result.firstFrame = { caller: a['first-frame']!, callee: b['first-frame']! };
      if (duet) {
        result.duetHello = { caller: a['dc-first-message:duet']!, callee: b['dc-first-message:duet']! };
        result.duetFlag = { caller: a['duet-dc-ready']!, callee: b['duet-dc-ready']! };
      }
      const end = t0 + Math.max(a[dcMark]!, b[dcMark]!, a['first-frame']!, b['first-frame']!);
      const [ta, tb] = await Promise.all([traceOf(caller, t0, end), traceOf(callee, t0, end)]);
      result.longTasks = { caller: ta.longTasks, callee: tb.longTasks };
      result.trace = { caller: ta.trace, callee: tb.trace };
    },
    RUN_TIMEOUT_MS,
  );
  if (failed) {
    result.error = failed;
  }
  return result;
}

interface SystemSummary {
  dcOpen: Summary;
  firstFrame: Summary;
  dcOpenCaller: number;
  dcOpenCallee: number;
  firstFrameCaller: number;
  firstFrameCallee: number;
  /** Median long-task time (ms) between Accept and the last milestone. */
  longTaskMs: { caller: number; callee: number };
  /** Duet only, medians of both sides' max: hello received, and the UI's flag. */
  duetHelloMs?: number;
  duetFlagMs?: number;
  failures: number;
}

function summarizeSystem(runs: CallRun[]): SystemSummary {
  const ok = runs.filter((r) => !r.warmup && r.dcOpen && r.firstFrame);
  const both = (get: (r: CallRun) => { caller: number; callee: number }): number[] =>
    ok.map((r) => Math.max(get(r).caller, get(r).callee));
  const rounded = (s: Summary): Summary => ({
    ...s,
    median: round(s.median),
    min: round(s.min),
    max: round(s.max),
  });
  return {
    dcOpen: rounded(summarize(both((r) => r.dcOpen!))),
    firstFrame: rounded(summarize(both((r) => r.firstFrame!))),
    dcOpenCaller: round(median(ok.map((r) => r.dcOpen!.caller))),
    dcOpenCallee: round(median(ok.map((r) => r.dcOpen!.callee))),
    firstFrameCaller: round(median(ok.map((r) => r.firstFrame!.caller))),
    firstFrameCallee: round(median(ok.map((r) => r.firstFrame!.callee))),
    longTaskMs: {
      caller: round(median(ok.map((r) => r.longTasks?.caller.ms ?? 0))),
      callee: round(median(ok.map((r) => r.longTasks?.callee.ms ?? 0))),
    },
    ...(ok[0]?.duetHello
      ? {
          duetHelloMs: round(median(ok.map((r) => Math.max(r.duetHello!.caller, r.duetHello!.callee)))),
          duetFlagMs: round(median(ok.map((r) => Math.max(r.duetFlag!.caller, r.duetFlag!.callee)))),
        }
      : {}),
    failures: runs.filter((r) => !r.warmup && !r.dcOpen).length,
  };
}

/** The counted run whose data-channel time is the median one (its trace goes into the JSON). */
function medianRun(runs: CallRun[]): CallRun | undefined {
  const ok = runs
    .filter((r) => !r.warmup && r.dcOpen)
    .sort(
      (x, y) => Math.max(x.dcOpen!.caller, x.dcOpen!.callee) - Math.max(y.dcOpen!.caller, y.dcOpen!.callee),
    );
  return ok[Math.floor((ok.length - 1) / 2)];
}

/** Median time of every mark seen in at least half the counted runs, per side, in time order. */
function timeline(runs: CallRun[]): Record<'caller' | 'callee', Record<string, number>> {
  const ok = runs.filter((r) => !r.warmup && r.marks);
  const side = (which: 'caller' | 'callee'): Record<string, number> => {
    const names = new Set(ok.flatMap((r) => Object.keys(r.marks![which])));
    const entries: Array<[string, number]> = [];
    for (const name of names) {
      const values = ok.map((r) => r.marks![which][name]).filter((v): v is number => v !== undefined);
      if (values.length * 2 >= ok.length) {
        entries.push([name, round(median(values))]);
      }
    }
    return Object.fromEntries(entries.sort((x, y) => x[1] - y[1]));
  };
  return { caller: side('caller'), callee: side('callee') };
}

export interface CallSetupOptions {
  runs?: number;
  warmups?: number;
  profile?: boolean;
  /** Also run the diagnostic variants (see DIAGNOSTICS). */
  diagnose?: boolean;
}

export async function main(options: CallSetupOptions = {}): Promise<void> {
  const runs = options.runs ?? numberArg('--runs', 10);
  const warmups = options.warmups ?? numberArg('--warmup', 1);
  const profile = options.profile ?? !process.argv.includes('--no-profile');
  const diagnose = options.diagnose ?? process.argv.includes('--diagnose');
  const systems: System[] = [...SYSTEMS, ...(diagnose ? DIAGNOSTICS : [])];
  const info = machine();
  progress(`call setup: ${runs} runs × ${systems.join(', ')} (+${warmups} warm-up)`);
  const started = Date.now();
  const servers = await startStage({ corePages: await buildDuetCores(['core']) });
  let browser: Browser | null = null;
  const all: CallRun[] = [];
  let profiles: Partial<Record<System, CallRun['profile']>> = {};
  try {
    browser = await launchChromium();
    info.chromium = browser.version();
    for (let run = -warmups; run < runs; run++) {
      const shift = ((run % systems.length) + systems.length) % systems.length;
      const order = [...systems.slice(shift), ...systems.slice(0, shift)];
      for (const system of order) {
        const result = await runOnce(browser, servers, system, run);
        all.push(result);
        progress(
          `${run < 0 ? 'warm-up' : `run ${run + 1}/${runs}`} ${system.padEnd(6)} ` +
            (result.error
              ? `FAILED: ${result.error.split('\n')[0]}`
              : `dc ${fmt(Math.max(result.dcOpen!.caller, result.dcOpen!.callee))} ms, ` +
                `frame ${fmt(Math.max(result.firstFrame!.caller, result.firstFrame!.callee))} ms`),
        );
      }
    }
    if (profile) {
      const b = browser;
      profiles = await profileEach(systems, (system) => runOnce(b, servers, system, runs, true), progress);
    }
  } finally {
    await stopStage(browser, servers);
  }

  const bySystem = Object.fromEntries(
    systems.map((s) => [s, summarizeSystem(all.filter((r) => r.system === s))]),
  ) as Record<(typeof SYSTEMS)[number], SystemSummary> & Partial<Record<System, SystemSummary>>;
  const metric = (key: 'dcOpen' | 'firstFrame', label: string, short: string) => ({
    label,
    short,
    unit: 'ms',
    better: 'lower',
    duet: bySystem.duet[key],
    raw: bySystem.raw[key],
    peerjs: bySystem.peerjs[key],
    ratio_vs_raw: ratio(bySystem.duet[key].median, bySystem.raw[key].median),
    ratio_vs_peerjs: ratio(bySystem.duet[key].median, bySystem.peerjs[key].median),
    targets: { raw: { max: 1.1 } },
    /** Diagnostic: Duet without its web UI, ÷ raw. */
    duet_core: bySystem['duet-core'][key],
    core_ratio_vs_raw: ratio(bySystem['duet-core'][key].median, bySystem.raw[key].median),
  });
  const metrics = {
    dcOpen: metric('dcOpen', 'Accept → data channel open, both sides', 'Accept → data channel open'),
    firstFrame: metric(
      'firstFrame',
      'Accept → first decoded remote video frame, both sides',
      'Accept → first remote frame',
    ),
  };
  const DC = 'dc open ms, median (min–max)';
  const FRAME = 'first frame ms, median (min–max)';
  const headers = ['system', DC, FRAME, 'dc caller/callee', 'frame caller/callee', 'long tasks ms', 'runs'];
  const rows = systems.map((s) => {
    const x = bySystem[s]!;
    return [
      s,
      `${fmt(x.dcOpen.median)} (${fmt(x.dcOpen.min)}–${fmt(x.dcOpen.max)})`,
      `${fmt(x.firstFrame.median)} (${fmt(x.firstFrame.min)}–${fmt(x.firstFrame.max)})`,
      `${fmt(x.dcOpenCaller)} / ${fmt(x.dcOpenCallee)}`,
      `${fmt(x.firstFrameCaller)} / ${fmt(x.firstFrameCallee)}`,
      `${fmt(x.longTaskMs.caller)} / ${fmt(x.longTaskMs.callee)}`,
      `${x.dcOpen.n}${x.failures ? ` (${x.failures} failed)` : ''}`,
    ];
  });
  const ratioRow = (label: string, dcOpen: number | null, firstFrame: number | null): string[] =>
    sparseRow(headers, label, { [DC]: fmtRatio(dcOpen), [FRAME]: fmtRatio(firstFrame) });
  const { dcOpen, firstFrame } = metrics;
  rows.push(
    ratioRow('duet ÷ raw', dcOpen.ratio_vs_raw, firstFrame.ratio_vs_raw),
    ratioRow('duet ÷ peerjs', dcOpen.ratio_vs_peerjs, firstFrame.ratio_vs_peerjs),
    ratioRow('duet-core ÷ raw', dcOpen.core_ratio_vs_raw, firstFrame.core_ratio_vs_raw),
  );
  const hd = bySystem['raw-720p'];
  if (hd) {
    const core = bySystem['duet-core'];
    rows.push(
      ratioRow(
        'duet-core ÷ raw-720p',
        ratio(core.dcOpen.median, hd.dcOpen.median),
        ratio(core.firstFrame.median, hd.firstFrame.median),
      ),
    );
  }
  const notes = (['duet', 'duet-core'] as const).map(
    (system) =>
      `${system}: peer's hello received ${fmt(bySystem[system].duetHelloMs)} ms, ` +
      `snapshot.dataChannelOpen true ${fmt(bySystem[system].duetFlagMs)} ms (medians, later side)`,
  );
  for (const [system, p] of Object.entries(profiles)) {
    for (const side of ['caller', 'callee'] as const) {
      const top = p[side].topFunctions.slice(0, 5).map((f) => `${f.fn} ${f.ms} ms`);
      const r = p[side].renderer;
      notes.push(
        `profile ${system} ${side}: main thread ${r.TaskMs} ms (script ${r.ScriptMs}, style ${r.RecalcStyleMs}, ` +
          `layout ${r.LayoutMs}; ${r.LayoutCount} layouts, +${r.Nodes} nodes); top JS: ${top.join('; ')}`,
      );
    }
  }
  await publish(
    'call-setup',
    { started, machine: info },
    {
      config: {
        runs,
        warmups,
        ringSettleMs: RING_SETTLE_MS,
        media: 'Chromium fake camera + microphone, video call',
        network: 'loopback, host candidates only (no STUN/TURN)',
      },
      metrics,
      systems: bySystem,
      timeline: Object.fromEntries(systems.map((s) => [s, timeline(all.filter((r) => r.system === s))])),
      trace: Object.fromEntries(systems.map((s) => [s, medianRun(all.filter((r) => r.system === s))?.trace])),
      profile: profiles,
      runs: all.map((r) => ({
        system: r.system,
        run: r.run,
        warmup: r.warmup,
        dcOpen: r.dcOpen,
        firstFrame: r.firstFrame,
        ...(r.duetHello ? { duetHello: r.duetHello, duetFlag: r.duetFlag } : {}),
        ...(r.error ? { error: r.error.split('\n')[0] } : {}),
      })),
    },
    [{ title: "Call setup — callee's Accept → data channel open / first remote frame (ms)", headers, rows }],
    notes,
  );
  requireSuccess(
    systems.filter((s) => bySystem[s]?.dcOpen.n === 0),
    all,
  );
}

runIfMain(import.meta.url, () => main());
