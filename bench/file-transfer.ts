/**
 * File transfer: 200 MiB between two pages over loopback, three systems side by side:
 *
 * - duet:   the product's real path (`window.__duet.files.send` / `files.accept`: chunking, backpressure,
 *           acks, streaming SHA-256 on both sides, progress), in an audio-only call;
 * - raw:    RTCDataChannel sends of the same bytes with Duet's chunk size, slice size and water
 *           marks, a plain `bufferedamountlow` loop, no hashing (bench/baselines/raw, audio call too);
 * - peerjs: PeerJS 1.5 DataConnection, `conn.send(ArrayBuffer)` per chunk, default "binary"
 *           serialization (bench/baselines/peerjs, with an audio MediaConnection too).
 *
 * Then the same in a video call, duet and raw only (--video-mib, 64 MiB by default): both pages
 * send and receive Chromium's fake camera at Duet's constraints (up to 1280x720 at 30 fps), so each
 * system runs two encoders and two decoders under the transfer. Duet is driven through its UI: a
 * video call with "Call Bob" / "Accept", the file through the chat's file input, the receiver's
 * "Accept <name>" button.
 *
 * The file is the same deterministic bytes in every run (built in the sender page before the clock
 * starts; for Duet's UI, the same bytes written to disk). The clock starts when the receiver accepts and stops when both sides are done: for Duet,
 * `done` means the receiver verified the SHA-256 and the sender got its verdict; for the baselines,
 * the receiver has every byte in a Blob and the sender got its "done". Every received file is
 * checked against the sender's SHA-256 afterwards (outside the clock).
 *
 *   npm run bench:transfer            (builds first)
 *   npx tsx bench/file-transfer.ts --runs 3 --mib 200 --video-runs 3 --video-mib 64 [--no-video]
 */
import type { Browser, Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberArg } from './lib/args.js';
import { ringBaseline } from './lib/baselines.js';
import { launchChromium, marksOf, waitForMarks, waitForMarksOnEach, withTwoPeople } from './lib/browser.js';
import { startCpuMeter, type CpuShares } from './lib/chromium-cpu.js';
import { callTheOtherPerson, openCorePages } from './lib/duet-api.js';
import { buildDuetCores } from './lib/duet-core.js';
import {
  acceptFileThroughUi,
  clickAccept,
  clickCall,
  joinRoom,
  openChat,
  sendFileThroughUi,
  waitForPair,
  waitForRing,
} from './lib/duet.js';
import { Profiler, type ProfileSummary } from './lib/profile.js';
import {
  fmt,
  fmtRatio,
  machine,
  progress,
  publish,
  requireSuccess,
  runIfMain,
  sparseRow,
  type ReportTable,
} from './lib/report.js';
import { profileEach, startStage, stopStage, type Stage } from './lib/stage.js';
import { median, ratio, round, summarize, type Summary } from './lib/stats.js';
import { writeTestFile } from './lib/test-file.js';

const SYSTEMS = ['duet', 'raw', 'peerjs'] as const;
/**
 * With --diagnose: Duet's core without the UI (`duet-core`), and the same with SHA-256 replaced by
 * a no-op (`duet-core-nohash`, see pages/duet-core/no-hash.ts), and the app with its file worker off
 * (`duet-page`, `?fileworker=0`: every byte through the page's main thread, as in Firefox). Not targets: they split Duet's time
 * into UI, hashing, and the rest of the transfer path.
 */
const DIAGNOSTICS = ['duet-core', 'duet-core-nohash', 'duet-page'] as const;
type System = (typeof SYSTEMS)[number] | (typeof DIAGNOSTICS)[number];
/** The systems of the video-call case: Duet through its UI, and raw with the same camera. */
const VIDEO_SYSTEMS = ['duet', 'raw'] as const;
/** The call the transfer runs in. */
type CallKind = 'audio' | 'video';
/** The file Duet's UI sends in the video case (written to disk, offered through the file input). */
const VIDEO_FILE_NAME = 'bench-video.bin';
/**
 * How long to wait for both pages to send full-resolution video before the file starts: Duet sends
 * its first ~2 s scaled down (call-session.ts); under load the encoder may never get to 720p, and
 * the run then goes on with what it sends (recorded).
 */
const FULL_VIDEO_WAIT_MS = 8000;

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

/** What a page's video did during the transfer (from its peer connections' stats). */
export interface VideoLoad {
  /** Frames encoded / decoded per second over the transfer. */
  sentFps: number;
  receivedFps: number;
  /** Frame size sent at the end of the transfer, e.g. "1280x720". */
  sent: string;
  /** Encode and decode time, ms per second of transfer (of one core). */
  encodeMsPerS: number;
  decodeMsPerS: number;
  videoKbps: number;
  qualityLimitation: string;
}

export interface TransferRun {
  system: System;
  call: CallKind;
  run: number;
  /** ms from the receiver's accept. */
  receiverDoneMs: number | null;
  senderDoneMs: number | null;
  /** MB/s (10^6 bytes) over the time until both sides were done. */
  mbps: number | null;
  /** Main-thread time of each page during the transfer, as a share of the wall time (renderer counters). */
  mainThread: { sender: Record<string, number>; receiver: Record<string, number> } | null;
  /** CPU of the browser's processes during the transfer, % of one core. */
  cpu?: CpuShares;
  video?: { sender: VideoLoad; receiver: VideoLoad };
  profile?: { sender: ProfileSummary; receiver: ProfileSummary };
  error?: string;
}

/** Connect sender and receiver: a call (audio only) with its data path up. */
async function connect(
  system: System,
  call: CallKind,
  servers: Stage,
  tuning: Tuning,
  sender: Page,
  receiver: Page,
  run: number,
): Promise<void> {
  const room = `bench-xfer-${system}-${call}-${run}-${Date.now()}`;
  if (system === 'duet-core' || system === 'duet-core-nohash') {
    const variant = system === 'duet-core' ? 'core' : 'core-nohash';
    await openCorePages(servers.duet.origin, variant, room, [sender, receiver]);
    await callTheOtherPerson(sender, false);
    await receiver.locator('#accept:enabled').click({ timeout: SETUP_TIMEOUT_MS });
    await waitForMarksOnEach([sender, receiver], ['dc-first-message:duet'], SETUP_TIMEOUT_MS);
    return;
  }
  if (system === 'duet' || system === 'duet-page') {
    const query: Record<string, string> = system === 'duet-page' ? { fileworker: '0' } : {};
    await Promise.all([
      joinRoom(sender, servers.duet.origin, room, 'Alice', query),
      joinRoom(receiver, servers.duet.origin, room, 'Bob', query),
    ]);
    await waitForPair([sender, receiver]);
    if (call === 'video') {
      // A normal call through the UI: "Call Bob" (video, the default), the callee's Accept.
      await clickCall(sender, 'Bob');
      await waitForRing(receiver);
      await clickAccept(receiver);
      await waitForVideoCall(sender, receiver, ['duet-dc-ready', 'first-frame']);
      return;
    }
    // An audio call: the API the UI's "Audio call" choice uses (no camera encoding to compete with).
    await callTheOtherPerson(sender, false);
    await waitForRing(receiver);
    await clickAccept(receiver);
    await waitForMarksOnEach([sender, receiver], ['duet-dc-ready'], SETUP_TIMEOUT_MS);
    return;
  }
  const tune =
    `&mode=data&chunk=${tuning.chunkSize}&slice=${tuning.sliceBytes}&high=${tuning.highWaterMark}&low=${tuning.lowWaterMark}` +
    // Duet's camera constraints, so both systems encode and decode the same video.
    (call === 'video' ? '&camera=720p' : '');
  await ringBaseline(servers, system, [sender, receiver], room, tune, SETUP_TIMEOUT_MS);
  await receiver.locator('#accept:enabled').click({ timeout: SETUP_TIMEOUT_MS });
  if (call === 'video') {
    await waitForVideoCall(sender, receiver, ['app-dc-open', 'first-frame']);
    return;
  }
  await waitForMarksOnEach([sender, receiver], ['app-dc-open'], SETUP_TIMEOUT_MS);
}

/**
 * The data path is up and video decodes both ways; then wait (bounded) until both pages send the
 * camera's full 1280x720, so the transfer starts under the call's steady load in every system.
 */
async function waitForVideoCall(sender: Page, receiver: Page, marks: readonly string[]): Promise<void> {
  await waitForMarksOnEach([sender, receiver], marks, SETUP_TIMEOUT_MS);
  const deadline = Date.now() + FULL_VIDEO_WAIT_MS;
  for (const page of [sender, receiver]) {
    while (
      Date.now() < deadline &&
      (await page.evaluate(() => window.__bench.videoStats())).sentWidth < 1280
    ) {
      await page.waitForTimeout(200);
    }
  }
}

type VideoStats = Awaited<ReturnType<Window['__bench']['videoStats']>>;

function videoLoad(before: VideoStats, after: VideoStats, seconds: number): VideoLoad {
  const per = (a: number, b: number): number => round((b - a) / seconds, 1);
  return {
    sentFps: per(before.framesEncoded, after.framesEncoded),
    receivedFps: per(before.framesDecoded, after.framesDecoded),
    sent: `${after.sentWidth}x${after.sentHeight}`,
    encodeMsPerS: per(before.encodeMs, after.encodeMs),
    decodeMsPerS: per(before.decodeMs, after.decodeMs),
    videoKbps: round(((after.videoBytesSent - before.videoBytesSent) * 8) / 1000 / seconds),
    qualityLimitation: after.qualityLimitation,
  };
}

/** The test file on disk, for Duet's UI (the chat's file input reads it from there). */
interface DiskFile {
  path: string;
  name: string;
  sha256: string;
}

async function runOnce(
  browser: Browser,
  servers: Stage,
  tuning: Tuning,
  system: System,
  call: CallKind,
  run: number,
  size: number,
  profile: boolean,
  diskFile: DiskFile | null = null,
): Promise<TransferRun> {
  const result: TransferRun = {
    system,
    call,
    run,
    receiverDoneMs: null,
    senderDoneMs: null,
    mbps: null,
    mainThread: null,
  };
  const transferTimeoutMs = Math.max(60_000, size / MIN_BYTES_PER_MS);
  const failed = await withTwoPeople(browser, ['sender', 'receiver'], async (sender, receiver) => {
    await connect(system, call, servers, tuning, sender, receiver, run);
    // Through Duet's UI the file comes from disk and is offered before the clock starts (the
    // receiver's click on Accept starts it); elsewhere it is built in the sender page.
    const throughUi = system === 'duet' && call === 'video';
    if (throughUi && !diskFile) {
      throw new Error('the UI case needs the test file on disk');
    }
    if (throughUi) {
      await sendFileThroughUi(sender, diskFile!.path);
      // The offer shows in the receiver's chat, as it would for a person who opens it.
      await openChat(receiver);
      await receiver
        .getByRole('button', { name: `Accept ${diskFile!.name}`, exact: true })
        .waitFor({ state: 'visible', timeout: SETUP_TIMEOUT_MS });
    }
    // Its SHA-256 checks what arrives.
    const expected = throughUi
      ? diskFile!.sha256
      : await sender.evaluate(([n, seed]) => window.__bench.prepareBlob(n, seed), [size, SEED] as const);
    const label = `transfer-${system}${call === 'video' ? '-video' : ''}`;
    const meters = await Promise.all([
      Profiler.start(sender, `${label}-sender`, profile ? 1000 : 0),
      Profiler.start(receiver, `${label}-receiver`, profile ? 1000 : 0),
    ]);
    const cpu = startCpuMeter();
    const videoBefore = await Promise.all(
      [sender, receiver].map((p) => p.evaluate(() => window.__bench.videoStats())),
    );
    let sendDone: string;
    let receiveDone: string;
    if (throughUi) {
      // The probe marks `accept` on the click (capture phase), before the app handles it.
      await acceptFileThroughUi(receiver, diskFile!.name);
      sendDone = 'transfer-send-done';
      receiveDone = 'transfer-receive-done';
    } else if (system.startsWith('duet')) {
      const id = await sender.evaluate(() => window.__duet!.files.send(window.__bench.blob!, 'bench.bin'));
      await receiver.waitForFunction(
        (transferId) =>
          window.__duet!.snapshot.transfers.some((t) => t.id === transferId && t.state === 'offered'),
        id,
        { timeout: SETUP_TIMEOUT_MS },
      );
      await receiver.evaluate((transferId) => {
        window.__bench.mark('accept');
        void window.__duet!.files.accept(transferId);
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
    const cpuShares = cpu.stop();
    const videoAfter = await Promise.all(
      [sender, receiver].map((p) => p.evaluate(() => window.__bench.videoStats())),
    );
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
    result.cpu = cpuShares;
    if (call === 'video') {
      result.video = {
        sender: videoLoad(videoBefore[0]!, videoAfter[0]!, wallMs / 1000),
        receiver: videoLoad(videoBefore[1]!, videoAfter[1]!, wallMs / 1000),
      };
    }
    if (profile) {
      result.profile = { sender: m1!, receiver: m2! };
    }
    // Integrity, outside the clock, with WebCrypto over the Blob the receiver ended up with.
    const got = await receiver.evaluate(() => {
      const file = window.__duet
        ? window.__duet.snapshot.transfers.find((t) => t.direction === 'receive')!.file!
        : window.__bench.blob!;
      return window.__bench.sha256(file);
    });
    if (got !== expected) {
      throw new Error(`received file differs: sha256 ${got} ≠ ${expected}`);
    }
  });
  if (failed) {
    result.mbps = null;
    result.error = failed;
  }
  return result;
}

interface SystemSummary {
  mbps: Summary;
  seconds: Summary;
  receiverDoneMs: number;
  senderDoneMs: number;
  mainThreadBusyPct: { sender: number; receiver: number };
  /** Medians of the browser's CPU by process type, % of one core. */
  cpuPct: CpuShares | null;
  /** Video call only: medians of each side's video during the transfer. */
  video: { sender: VideoLoadSummary; receiver: VideoLoadSummary } | null;
  failures: number;
}

interface VideoLoadSummary {
  sentFps: number;
  receivedFps: number;
  encodeMsPerS: number;
  decodeMsPerS: number;
  videoKbps: number;
  /** Each run's sent frame size and the encoder's limitation at the end, e.g. "1280x720 none". */
  sent: string[];
}

function summarizeVideo(loads: VideoLoad[]): VideoLoadSummary {
  const m = (pick: (v: VideoLoad) => number): number => round(median(loads.map(pick)), 1);
  return {
    sentFps: m((v) => v.sentFps),
    receivedFps: m((v) => v.receivedFps),
    encodeMsPerS: m((v) => v.encodeMsPerS),
    decodeMsPerS: m((v) => v.decodeMsPerS),
    videoKbps: m((v) => v.videoKbps),
    sent: loads.map((v) => `${v.sent} ${v.qualityLimitation}`),
  };
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
    cpuPct:
      ok.length > 0 && ok.every((r) => r.cpu)
        ? {
            renderer: round(median(ok.map((r) => r.cpu!.renderer))),
            gpu: round(median(ok.map((r) => r.cpu!.gpu))),
            browser: round(median(ok.map((r) => r.cpu!.browser))),
            utility: round(median(ok.map((r) => r.cpu!.utility))),
            total: round(median(ok.map((r) => r.cpu!.total))),
          }
        : null,
    video:
      ok.length > 0 && ok.every((r) => r.video)
        ? {
            sender: summarizeVideo(ok.map((r) => r.video!.sender)),
            receiver: summarizeVideo(ok.map((r) => r.video!.receiver)),
          }
        : null,
    failures: runs.length - ok.length,
  };
}

export interface FileTransferOptions {
  runs?: number;
  mib?: number;
  /** The video-call case: runs per system and file size (0 runs: left out). */
  videoRuns?: number;
  videoMib?: number;
  profile?: boolean;
  /** Also run the diagnostic variants (see DIAGNOSTICS). */
  diagnose?: boolean;
}

/** Each system once per round, the order rotated every round so background load hits all alike. */
async function rounds<S extends System>(
  systems: readonly S[],
  runs: number,
  one: (system: S, run: number) => Promise<TransferRun>,
): Promise<TransferRun[]> {
  const all: TransferRun[] = [];
  for (let run = 0; run < runs; run++) {
    const shift = run % systems.length;
    for (const system of [...systems.slice(shift), ...systems.slice(0, shift)]) {
      const result = await one(system, run);
      all.push(result);
      const cpu = result.cpu ? `; Chromium CPU ${result.cpu.total}%` : '';
      const video = result.video
        ? `; video sent ${result.video.sender.sent} ${result.video.sender.sentFps} fps / ${result.video.receiver.sent} ${result.video.receiver.sentFps} fps`
        : '';
      progress(
        `run ${run + 1}/${runs} ${system.padEnd(6)} ${result.call} call ` +
          (result.error
            ? `FAILED: ${result.error.split('\n')[0]}`
            : `${fmt(result.mbps, 1)} MB/s (receiver ${fmt(result.receiverDoneMs)} ms, sender ${fmt(result.senderDoneMs)} ms; ` +
              `main thread busy ${result.mainThread!.sender.busyPct}% / ${result.mainThread!.receiver.busyPct}%${cpu}${video})`),
      );
    }
  }
  return all;
}

const mbpsCell = (x: SystemSummary): string =>
  `${fmt(x.mbps.median, 1)} (${fmt(x.mbps.min, 1)}–${fmt(x.mbps.max, 1)})`;
const runsCell = (x: SystemSummary): string => `${x.mbps.n}${x.failures ? ` (${x.failures} failed)` : ''}`;

export async function main(options: FileTransferOptions = {}): Promise<void> {
  const runs = options.runs ?? numberArg('--runs', 3);
  const mib = options.mib ?? numberArg('--mib', 200);
  const videoRuns = process.argv.includes('--no-video')
    ? 0
    : (options.videoRuns ?? numberArg('--video-runs', runs));
  const videoMib = options.videoMib ?? numberArg('--video-mib', 64);
  const profile = options.profile ?? !process.argv.includes('--no-profile');
  const diagnose = options.diagnose ?? process.argv.includes('--diagnose');
  const systems: System[] = [...SYSTEMS, ...(diagnose ? DIAGNOSTICS : [])];
  const videoSystems: System[] = [...VIDEO_SYSTEMS];
  const size = mib * MiB;
  const videoSize = videoMib * MiB;
  const info = machine();
  const tuning = await duetTuning();
  progress(
    `file transfer: ${mib} MiB × ${runs} runs × ${systems.join(', ')} in an audio call; ` +
      `${videoMib} MiB × ${videoRuns} runs × ${videoSystems.join(', ')} in a video call; Duet tuning ${JSON.stringify(tuning)}`,
  );
  const started = Date.now();
  const servers = await startStage(
    diagnose ? { corePages: await buildDuetCores(['core', 'core-nohash']) } : {},
  );
  const scratch = mkdtempSync(join(tmpdir(), 'duet-bench-'));
  let browser: Browser | null = null;
  let all: TransferRun[] = [];
  let videoAll: TransferRun[] = [];
  let profiles: Partial<Record<string, TransferRun['profile']>> = {};
  try {
    browser = await launchChromium();
    info.chromium = browser.version();
    const b = browser;
    all = await rounds(systems, runs, (system, run) =>
      runOnce(b, servers, tuning, system, 'audio', run, size, false),
    );
    let diskFile: DiskFile | null = null;
    if (videoRuns > 0) {
      const path = join(scratch, VIDEO_FILE_NAME);
      diskFile = { path, name: VIDEO_FILE_NAME, sha256: await writeTestFile(path, videoSize, SEED) };
      videoAll = await rounds(videoSystems, videoRuns, (system, run) =>
        runOnce(b, servers, tuning, system, 'video', run, videoSize, false, diskFile),
      );
    }
    if (profile) {
      // A shorter transfer (64 MiB at most) per system and call.
      const cases = [
        ...(runs > 0 ? (['duet', 'raw'] as const) : []).map((system) => ({
          key: system,
          system,
          call: 'audio' as const,
        })),
        ...(videoRuns > 0
          ? VIDEO_SYSTEMS.map((system) => ({ key: `${system}-video`, system, call: 'video' as const }))
          : []),
      ];
      profiles = await profileEach<string, TransferRun['profile']>(
        cases.map((c) => c.key),
        (key) => {
          const c = cases.find((x) => x.key === key)!;
          const bytes = Math.min(c.call === 'video' ? videoSize : size, 64 * MiB);
          return runOnce(b, servers, tuning, c.system, c.call, runs, bytes, true, diskFile);
        },
        progress,
      );
    }
  } finally {
    await stopStage(browser, servers);
    rmSync(scratch, { recursive: true, force: true });
  }

  const bySystem = Object.fromEntries(
    systems.map((s) => [s, summarizeSystem(all.filter((r) => r.system === s))]),
  ) as Record<(typeof SYSTEMS)[number], SystemSummary> & Partial<Record<System, SystemSummary>>;
  const videoBySystem =
    videoRuns > 0
      ? (Object.fromEntries(
          videoSystems.map((s) => [s, summarizeSystem(videoAll.filter((r) => r.system === s))]),
        ) as Record<(typeof VIDEO_SYSTEMS)[number], SystemSummary> & Partial<Record<System, SystemSummary>>)
      : null;
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
    ...(videoBySystem
      ? {
          throughput_video: {
            label: `Throughput in a video call (UI), ${videoMib} MiB, accept → both done`,
            short: `Throughput, video call, ${videoMib} MiB`,
            unit: 'MB/s',
            better: 'higher',
            duet: videoBySystem.duet.mbps,
            raw: videoBySystem.raw.mbps,
            ratio_vs_raw: ratio(videoBySystem.duet.mbps.median, videoBySystem.raw.mbps.median),
            targets: { raw: { min: 0.95 } },
          },
        }
      : {}),
  };
  const MBPS = 'MB/s, median (min–max)';
  const headers = [
    'system',
    MBPS,
    's to both done',
    'receiver / sender done ms',
    'main thread busy % snd/rcv',
    'runs',
  ];
  const rows = systems.map((s) => {
    const x = bySystem[s]!;
    return [
      s,
      mbpsCell(x),
      fmt(x.seconds.median, 2),
      `${fmt(x.receiverDoneMs)} / ${fmt(x.senderDoneMs)}`,
      `${fmt(x.mainThreadBusyPct.sender)} / ${fmt(x.mainThreadBusyPct.receiver)}`,
      runsCell(x),
    ];
  });
  const ratioRow = (columns: readonly string[], label: string, value: number | null | undefined): string[] =>
    sparseRow(columns, label, { [MBPS]: fmtRatio(value) });
  rows.push(
    ratioRow(headers, 'duet ÷ raw', metrics.throughput.ratio_vs_raw),
    ratioRow(headers, 'duet ÷ peerjs', metrics.throughput.ratio_vs_peerjs),
  );
  const diagnostics: Record<string, number | null> = {};
  for (const s of DIAGNOSTICS) {
    const x = bySystem[s];
    if (!x) {
      continue;
    }
    diagnostics[`${s}_ratio_vs_raw`] = ratio(x.mbps.median, bySystem.raw.mbps.median);
    rows.push(ratioRow(headers, `${s} ÷ raw`, diagnostics[`${s}_ratio_vs_raw`]));
  }
  // The video call: the same columns, then where the two cores went and what the video did.
  const videoHeaders = [
    'system (video call)',
    MBPS,
    's to both done',
    'main thread busy % snd/rcv',
    'Chromium CPU %: all (renderers / GPU / other)',
    'video sent fps snd/rcv',
    'encode + decode ms/s snd/rcv',
    'runs',
  ];
  const videoRows = videoBySystem
    ? videoSystems.map((s) => {
        const x = videoBySystem[s]!;
        const c = x.cpuPct;
        const v = x.video;
        const codec = (side: VideoLoadSummary): string => fmt(side.encodeMsPerS + side.decodeMsPerS);
        return [
          s,
          mbpsCell(x),
          fmt(x.seconds.median, 2),
          `${fmt(x.mainThreadBusyPct.sender)} / ${fmt(x.mainThreadBusyPct.receiver)}`,
          c ? `${c.total} (${c.renderer} / ${c.gpu} / ${c.browser + c.utility})` : '—',
          v ? `${fmt(v.sender.sentFps)} / ${fmt(v.receiver.sentFps)}` : '—',
          v ? `${codec(v.sender)} / ${codec(v.receiver)}` : '—',
          runsCell(x),
        ];
      })
    : [];
  if (videoBySystem) {
    videoRows.push(ratioRow(videoHeaders, 'duet ÷ raw', metrics.throughput_video?.ratio_vs_raw));
  }
  const tables: ReportTable[] = [
    {
      title: `File transfer — ${mib} MiB in an audio call, receiver's accept → both sides done`,
      headers,
      rows,
    },
  ];
  if (videoBySystem) {
    tables.push({
      title: `File transfer — ${videoMib} MiB in a video call (Duet through its UI)`,
      caption: `In a video call (both sides send the fake camera at up to 1280×720, 30 fps), ${videoMib} MiB; Duet through its UI:`,
      headers: videoHeaders,
      rows: videoRows,
    });
  }
  const notes: string[] = [];
  for (const [key, p] of Object.entries(profiles)) {
    if (!p) {
      continue;
    }
    for (const side of ['sender', 'receiver'] as const) {
      const top = p[side].topFunctions.slice(0, 6).map((f) => `${f.fn} ${f.ms} ms`);
      notes.push(`profile ${key} ${side}: busy ${p[side].busyMs}/${p[side].spanMs} ms; ${top.join('; ')}`);
    }
  }
  await publish(
    'file-transfer',
    { started, machine: info },
    {
      config: {
        runs,
        bytes: size,
        tuning,
        call: 'audio only (fake microphone) on every system',
        peerjs: 'DataConnection, serialization "binary", reliable; conn.send(ArrayBuffer) per chunk',
        ...(videoBySystem
          ? {
              video: {
                runs: videoRuns,
                bytes: videoSize,
                call: 'video both ways: fake camera, width/height/frameRate ideal 1280/720/30, and the microphone',
                duet: 'through the UI: Call, Accept, the chat file input, "Accept <name>"',
              },
            }
          : {}),
      },
      metrics,
      systems: bySystem,
      ...(videoBySystem ? { videoSystems: videoBySystem } : {}),
      ...(diagnose ? { diagnostics } : {}),
      profile: profiles,
      runs: [...all, ...videoAll].map((r) => ({
        system: r.system,
        call: r.call,
        run: r.run,
        mbps: r.mbps,
        receiverDoneMs: r.receiverDoneMs,
        senderDoneMs: r.senderDoneMs,
        mainThread: r.mainThread,
        ...(r.cpu ? { cpu: r.cpu } : {}),
        ...(r.video ? { video: r.video } : {}),
        ...(r.error ? { error: r.error.split('\n')[0] } : {}),
      })),
    },
    tables,
    notes,
  );
  requireSuccess(
    [
      ...(runs > 0 ? systems.filter((s) => bySystem[s]?.mbps.n === 0) : []),
      ...videoSystems.filter((s) => videoBySystem?.[s]?.mbps.n === 0).map((s) => `${s} (video call)`),
    ],
    [...all, ...videoAll],
  );
}

runIfMain(import.meta.url, () => main());
