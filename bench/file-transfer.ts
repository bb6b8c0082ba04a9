/**
 * File transfer: 200 MiB between two pages over loopback, three systems side by side:
 *
 * - duet:   the product's real path (`window.__duet.sendFile` / `acceptFile`: chunking, backpressure,
 *           acks, streaming SHA-256 on both sides, progress), in an audio-only call;
 * - raw:    RTCDataChannel sends of the same bytes with Duet's chunk size, slice size and water
 *           marks, a plain `bufferedamountlow` loop, no hashing (bench/baselines/raw, audio call too);
 * - peerjs: PeerJS 1.5 DataConnection, `conn.send(ArrayBuffer)` per chunk, default "binary"
 *           serialization (bench/baselines/peerjs, with an audio MediaConnection too).
 *
 * The file is the same deterministic bytes in every run (built in the sender page before the clock
 * starts). The clock starts when the receiver accepts and stops when both sides are done: for Duet,
 * `done` means the receiver verified the SHA-256 and the sender got its verdict; for the baselines,
 * the receiver has every byte in a Blob and the sender got its "done". Every received file is
 * checked against the sender's SHA-256 afterwards (outside the clock).
 *
 *   npm run bench:transfer            (builds first)
 *   npx tsx bench/file-transfer.ts --runs 3 --mib 200
 */
import type { Browser, Page } from '@playwright/test';
import { pathToFileURL } from 'node:url';
import { launchChromium, marksOf, newContext, newPage, waitForMarks } from './lib/browser.js';
import { buildDuetCores } from './lib/duet-core.js';
import { clickAccept, joinRoom, waitForPair, waitForRing } from './lib/duet.js';
import { Profiler, type ProfileSummary } from './lib/profile.js';
import {
  fmt,
  fmtRatio,
  machine,
  machineLine,
  markdownTable,
  progress,
  table,
  writeResult,
  requireSuccess,
  runIfMain,
} from './lib/report.js';
import { profileEach, startStage, stopStage, type Stage } from './lib/stage.js';
import { median, ratio, round, summarize, type Summary } from './lib/stats.js';

const SYSTEMS = ['duet', 'raw', 'peerjs'] as const;
/**
 * With --diagnose: Duet's core without the UI (`duet-core`), and the same with SHA-256 replaced by
 * a no-op (`duet-core-nohash`, see pages/duet-core/no-hash.ts). Not targets: they split Duet's time
 * into UI, hashing, and the rest of the transfer path.
 */
const DIAGNOSTICS = ['duet-core', 'duet-core-nohash'] as const;
type System = (typeof SYSTEMS)[number] | (typeof DIAGNOSTICS)[number];

const MiB = 1024 * 1024;
const SEED = 0x5eed;
const SETUP_TIMEOUT_MS = 30_000;
/** A transfer slower than 2 MB/s is a failure, not a figure. */
const MIN_BYTES_PER_MS = 2_000;

/** Duet's own tuning, read from the built package so the raw baseline always matches it. */
interface Tuning {
  chunkSize: number;
  highWaterMark: number;
  lowWaterMark: number;
  sliceBytes: number;
  maxUnackedBytes: number;
}

async function duetTuning(): Promise<Tuning> {
  const url = pathToFileURL(new URL('../packages/rtc/dist/files/tuning.js', import.meta.url).pathname).href;
  const mod = (await import(url)) as { FILE_TRANSFER_DEFAULTS: Tuning };
  const { chunkSize, highWaterMark, lowWaterMark, sliceBytes, maxUnackedBytes } = mod.FILE_TRANSFER_DEFAULTS;
  return { chunkSize, highWaterMark, lowWaterMark, sliceBytes, maxUnackedBytes };
}

export interface TransferRun {
  system: System;
  run: number;
  /** ms from the receiver's accept. */
  receiverDoneMs: number | null;
  senderDoneMs: number | null;
  /** MB/s (10^6 bytes) over the time until both sides were done. */
  mbps: number | null;
  /** Main-thread time of each page during the transfer, as a share of the wall time (renderer counters). */
  mainThread: { sender: Record<string, number>; receiver: Record<string, number> } | null;
  profile?: { sender: ProfileSummary; receiver: ProfileSummary };
  error?: string;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Connect sender and receiver: a call (audio only) with its data path up. */
async function connect(
  system: System,
  servers: Stage,
  tuning: Tuning,
  sender: Page,
  receiver: Page,
  run: number,
): Promise<void> {
  const room = `bench-xfer-${system}-${run}-${Date.now()}`;
  if (system === 'duet-core' || system === 'duet-core-nohash') {
    const path = system === 'duet-core' ? 'core' : 'core-nohash';
    const url = (name: string): string =>
      `${servers.duet.origin}/${path}/index.html?room=${encodeURIComponent(room)}&name=${name}`;
    await Promise.all([sender.goto(url('Alice')), receiver.goto(url('Bob'))]);
    for (const page of [sender, receiver]) {
      await page.waitForFunction(
        () => document.body.dataset.ready === 'true' && window.__duet?.snapshot.room?.users.length === 2,
      );
      await page.evaluate(() => window.__bench.watchDuet());
    }
    await sender.evaluate(async () => {
      const duet = window.__duet!;
      const peer = duet.snapshot.room!.users.find((u) => u.id !== duet.snapshot.self!.id)!;
      await duet.call(peer.id, { video: false });
    });
    await receiver.locator('#accept:enabled').click({ timeout: SETUP_TIMEOUT_MS });
    await Promise.all([
      waitForMarks(sender, ['dc-first-message:duet'], SETUP_TIMEOUT_MS),
      waitForMarks(receiver, ['dc-first-message:duet'], SETUP_TIMEOUT_MS),
    ]);
    return;
  }
  if (system === 'duet') {
    await Promise.all([
      joinRoom(sender, servers.duet.origin, room, 'Alice'),
      joinRoom(receiver, servers.duet.origin, room, 'Bob'),
    ]);
    await waitForPair([sender, receiver]);
    // An audio call: the API the UI's "Audio call" choice uses (no camera encoding to compete with).
    await sender.evaluate(async () => {
      const duet = window.__duet!;
      const peer = duet.snapshot.room!.users.find((u) => u.id !== duet.snapshot.self!.id)!;
      await duet.call(peer.id, { video: false });
    });
    await waitForRing(receiver);
    await clickAccept(receiver);
    await Promise.all([
      waitForMarks(sender, ['duet-dc-ready'], SETUP_TIMEOUT_MS),
      waitForMarks(receiver, ['duet-dc-ready'], SETUP_TIMEOUT_MS),
    ]);
    return;
  }
  const tune = `mode=data&chunk=${tuning.chunkSize}&slice=${tuning.sliceBytes}&high=${tuning.highWaterMark}&low=${tuning.lowWaterMark}`;
  if (system === 'raw') {
    const url = (role: string): string =>
      `${servers.pages.origin}/raw/index.html?signal=${servers.raw.origin}&room=${room}&role=${role}&${tune}`;
    await Promise.all([sender.goto(url('caller')), receiver.goto(url('callee'))]);
    for (const page of [sender, receiver]) await page.waitForFunction(() => window.__raw.ready);
  } else {
    const url = (me: string, other: string): string =>
      `${servers.pages.origin}/peerjs/index.html?signal=${servers.peerjs.origin}&id=${me}&peer=${other}&${tune}`;
    const id = `xfer${Date.now()}x${run}`;
    await Promise.all([sender.goto(url(`${id}-a`, `${id}-b`)), receiver.goto(url(`${id}-b`, `${id}-a`))]);
    for (const page of [sender, receiver]) await page.waitForFunction(() => window.__peerjs.ready);
  }
  await sender.locator('#call').click();
  await receiver.locator('#accept:enabled').click({ timeout: SETUP_TIMEOUT_MS });
  await Promise.all([
    waitForMarks(sender, ['app-dc-open'], SETUP_TIMEOUT_MS),
    waitForMarks(receiver, ['app-dc-open'], SETUP_TIMEOUT_MS),
  ]);
}

async function runOnce(
  browser: Browser,
  servers: Stage,
  tuning: Tuning,
  system: System,
  run: number,
  size: number,
  profile: boolean,
): Promise<TransferRun> {
  const log: string[] = [];
  const contexts = await Promise.all([newContext(browser), newContext(browser)]);
  const result: TransferRun = {
    system,
    run,
    receiverDoneMs: null,
    senderDoneMs: null,
    mbps: null,
    mainThread: null,
  };
  const transferTimeoutMs = Math.max(60_000, size / MIN_BYTES_PER_MS);
  try {
    const sender = await newPage(contexts[0], log, 'sender');
    const receiver = await newPage(contexts[1], log, 'receiver');
    await connect(system, servers, tuning, sender, receiver, run);
    // The file, before the clock starts; its SHA-256 checks what arrives.
    const expected = await sender.evaluate(([n, seed]) => window.__bench.prepareBlob(n, seed), [
      size,
      SEED,
    ] as const);
    const meters = await Promise.all([
      Profiler.start(sender, `transfer-${system}-sender`, profile ? 1000 : 0),
      Profiler.start(receiver, `transfer-${system}-receiver`, profile ? 1000 : 0),
    ]);
    let sendDone: string;
    let receiveDone: string;
    if (system.startsWith('duet')) {
      const id = await sender.evaluate(() => window.__duet!.sendFile(window.__bench.blob!, 'bench.bin'));
      await receiver.waitForFunction(
        (transferId) =>
          window.__duet!.snapshot.transfers.some((t) => t.id === transferId && t.state === 'offered'),
        id,
        { timeout: SETUP_TIMEOUT_MS },
      );
      await receiver.evaluate((transferId) => {
        window.__bench.mark('accept');
        void window.__duet!.acceptFile(transferId);
      }, id);
      sendDone = 'transfer-send-done';
      receiveDone = 'transfer-receive-done';
    } else {
      await receiver.evaluate(([which, n]) => (which === 'raw' ? window.__raw : window.__peerjs).accept(n), [
        system,
        size,
      ] as const);
      sendDone = 'done';
      receiveDone = 'done';
    }
    await Promise.all([
      waitForMarks(sender, [sendDone], transferTimeoutMs),
      waitForMarks(receiver, [receiveDone], transferTimeoutMs),
    ]);
    const [m1, m2] = await Promise.all(meters.map((m) => m.stop()));
    const [senderMarks, receiverMarks] = await Promise.all([marksOf(sender), marksOf(receiver)]);
    const t0 = receiverMarks.find((m) => m.name === 'accept')!.at;
    const at = (marks: typeof senderMarks, name: string): number =>
      marks.find((m) => m.name === name)!.at - t0;
    result.receiverDoneMs = round(at(receiverMarks, receiveDone));
    result.senderDoneMs = round(at(senderMarks, sendDone));
    const wallMs = Math.max(result.receiverDoneMs, result.senderDoneMs);
    result.mbps = round(size / 1000 / wallMs, 1);
    const share = (p: ProfileSummary): Record<string, number> => ({
      busyPct: round((p.renderer.TaskMs! / wallMs) * 100),
      scriptPct: round((p.renderer.ScriptMs! / wallMs) * 100),
      layoutAndStylePct: round(((p.renderer.LayoutMs! + p.renderer.RecalcStyleMs!) / wallMs) * 100),
    });
    result.mainThread = { sender: share(m1!), receiver: share(m2!) };
    if (profile) result.profile = { sender: m1!, receiver: m2! };
    // Integrity, outside the clock, with WebCrypto over the Blob the receiver ended up with.
    const got = await receiver.evaluate(() => {
      const file = window.__duet
        ? window.__duet.snapshot.transfers.find((t) => t.direction === 'receive')!.file!
        : window.__bench.blob!;
      return window.__bench.sha256(file);
    });
    if (got !== expected) throw new Error(`received file differs: sha256 ${got} ≠ ${expected}`);
  } catch (error) {
    result.mbps = null;
    result.error = `${error instanceof Error ? error.message : String(error)}\n${log.slice(-20).join('\n')}`;
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  }
  return result;
}

interface SystemSummary {
  mbps: Summary;
  seconds: Summary;
  receiverDoneMs: number;
  senderDoneMs: number;
  mainThreadBusyPct: { sender: number; receiver: number };
  failures: number;
}

function summarizeSystem(runs: TransferRun[]): SystemSummary {
  const ok = runs.filter((r) => r.mbps !== null);
  const s = summarize(ok.map((r) => r.mbps!));
  const secs = summarize(ok.map((r) => Math.max(r.receiverDoneMs!, r.senderDoneMs!) / 1000));
  return {
    mbps: { ...s, median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1) },
    seconds: { ...secs, median: round(secs.median, 2), min: round(secs.min, 2), max: round(secs.max, 2) },
    receiverDoneMs: round(median(ok.map((r) => r.receiverDoneMs!))),
    senderDoneMs: round(median(ok.map((r) => r.senderDoneMs!))),
    mainThreadBusyPct: {
      sender: round(median(ok.map((r) => r.mainThread!.sender.busyPct!))),
      receiver: round(median(ok.map((r) => r.mainThread!.receiver.busyPct!))),
    },
    failures: runs.length - ok.length,
  };
}

export interface FileTransferOptions {
  runs?: number;
  mib?: number;
  profile?: boolean;
  /** Also run the diagnostic variants (see DIAGNOSTICS). */
  diagnose?: boolean;
}

export async function main(options: FileTransferOptions = {}): Promise<void> {
  const runs = options.runs ?? arg('--runs', 3);
  const mib = options.mib ?? arg('--mib', 200);
  const profile = options.profile ?? !process.argv.includes('--no-profile');
  const diagnose = options.diagnose ?? process.argv.includes('--diagnose');
  const systems: System[] = [...SYSTEMS, ...(diagnose ? DIAGNOSTICS : [])];
  const size = mib * MiB;
  const info = machine();
  const tuning = await duetTuning();
  progress(
    `file transfer: ${mib} MiB × ${runs} runs × ${systems.join(', ')}; Duet tuning ${JSON.stringify(tuning)}`,
  );
  const started = Date.now();
  const servers = await startStage(
    diagnose ? { corePages: await buildDuetCores(['core', 'core-nohash']) } : {},
  );
  let browser: Browser | null = null;
  const all: TransferRun[] = [];
  let profiles: Partial<Record<System, TransferRun['profile']>> = {};
  try {
    browser = await launchChromium();
    info.chromium = browser.version();
    for (let run = 0; run < runs; run++) {
      const shift = run % systems.length;
      const order = [...systems.slice(shift), ...systems.slice(0, shift)];
      for (const system of order) {
        const result = await runOnce(browser, servers, tuning, system, run, size, false);
        all.push(result);
        progress(
          `run ${run + 1}/${runs} ${system.padEnd(6)} ` +
            (result.error
              ? `FAILED: ${result.error.split('\n')[0]}`
              : `${fmt(result.mbps, 1)} MB/s (receiver ${fmt(result.receiverDoneMs)} ms, sender ${fmt(result.senderDoneMs)} ms; ` +
                `main thread busy ${result.mainThread!.sender.busyPct}% / ${result.mainThread!.receiver.busyPct}%)`),
        );
      }
    }
    if (profile) {
      // A shorter transfer (64 MiB at most) per system.
      const b = browser;
      profiles = await profileEach<System, TransferRun['profile']>(
        ['duet', 'raw'],
        (system) => runOnce(b, servers, tuning, system, runs, Math.min(size, 64 * MiB), true),
        progress,
      );
    }
  } finally {
    await stopStage(browser, servers);
  }

  const bySystem = Object.fromEntries(
    systems.map((s) => [s, summarizeSystem(all.filter((r) => r.system === s))]),
  ) as Record<(typeof SYSTEMS)[number], SystemSummary> & Partial<Record<System, SystemSummary>>;
  const metrics = {
    throughput: {
      label: `Throughput, ${mib} MiB, accept → both done`,
      short: `Throughput, ${mib} MiB`,
      unit: 'MB/s',
      better: 'higher',
      duet: bySystem.duet.mbps,
      raw: bySystem.raw.mbps,
      peerjs: bySystem.peerjs.mbps,
      ratio_vs_raw: ratio(bySystem.duet.mbps.median, bySystem.raw.mbps.median),
      ratio_vs_peerjs: ratio(bySystem.duet.mbps.median, bySystem.peerjs.mbps.median),
      targets: { raw: { min: 0.95 }, peerjs: { min: 1.4 } },
    },
  };
  const headers = [
    'system',
    'MB/s, median (min–max)',
    's to both done',
    'receiver / sender done ms',
    'main thread busy % snd/rcv',
    'runs',
  ];
  const rows = systems.map((s) => {
    const x = bySystem[s]!;
    return [
      s,
      `${fmt(x.mbps.median, 1)} (${fmt(x.mbps.min, 1)}–${fmt(x.mbps.max, 1)})`,
      fmt(x.seconds.median, 2),
      `${fmt(x.receiverDoneMs)} / ${fmt(x.senderDoneMs)}`,
      `${fmt(x.mainThreadBusyPct.sender)} / ${fmt(x.mainThreadBusyPct.receiver)}`,
      `${x.mbps.n}${x.failures ? ` (${x.failures} failed)` : ''}`,
    ];
  });
  rows.push(
    ['duet ÷ raw', fmtRatio(metrics.throughput.ratio_vs_raw), '', '', '', ''],
    ['duet ÷ peerjs', fmtRatio(metrics.throughput.ratio_vs_peerjs), '', '', '', ''],
  );
  const diagnostics: Record<string, number | null> = {};
  for (const s of DIAGNOSTICS) {
    const x = bySystem[s];
    if (!x) continue;
    diagnostics[`${s}_ratio_vs_raw`] = ratio(x.mbps.median, bySystem.raw.mbps.median);
    rows.push([`${s} ÷ raw`, fmtRatio(diagnostics[`${s}_ratio_vs_raw`]), '', '', '', '']);
  }
  const result = {
    benchmark: 'file-transfer',
    timestamp: new Date().toISOString(),
    machine: info,
    config: {
      runs,
      bytes: size,
      tuning,
      call: 'audio only (fake microphone) on every system',
      peerjs: 'DataConnection, serialization "binary", reliable; conn.send(ArrayBuffer) per chunk',
    },
    durationSeconds: Math.round((Date.now() - started) / 1000),
    metrics,
    systems: bySystem,
    ...(diagnose ? { diagnostics } : {}),
    profile: profiles,
    runs: all.map((r) => ({
      system: r.system,
      run: r.run,
      mbps: r.mbps,
      receiverDoneMs: r.receiverDoneMs,
      senderDoneMs: r.senderDoneMs,
      mainThread: r.mainThread,
      ...(r.error ? { error: r.error.split('\n')[0] } : {}),
    })),
    markdown: markdownTable(headers, rows),
  };
  const file = await writeResult('file-transfer', result);
  console.log(`\nFile transfer — ${mib} MiB, receiver's accept → both sides done\n`);
  console.log(table(headers, rows));
  for (const [system, p] of Object.entries(profiles)) {
    for (const side of ['sender', 'receiver'] as const) {
      const top = p[side].topFunctions.slice(0, 6).map((f) => `${f.fn} ${f.ms} ms`);
      console.log(
        `profile ${system} ${side}: busy ${p[side].busyMs}/${p[side].spanMs} ms; ${top.join('; ')}`,
      );
    }
  }
  console.log(`\n${machineLine(info)}\n${file}`);
  console.log(JSON.stringify({ benchmark: 'file-transfer', metrics }));
  requireSuccess(
    systems.filter((s) => bySystem[s]?.mbps.n === 0),
    all,
  );
}

runIfMain(import.meta.url, () => main());
