/**
 * Soak: hundreds of calls in a row between the same two pages, and nothing piles up. Two people
 * (two contexts of one headless Debian Chromium, fake camera and microphone) in one room of the real
 * built Duet server, driven through its UI, make call after call; each call:
 *
 *   "Call Bob" → ring → Bob's Accept → media up (first decoded remote frame and `connected`, both
 *   sides) → two chat messages each way, delivered → a 1 MiB file offered through the chat's file
 *   input and accepted, its SHA-256 checked on the receiver → "Hang up" → both back in the room,
 *   idle, and at most one live RTCPeerConnection per page (the spare made while a call rings).
 *
 * Every few calls (--sample) the server and both pages are garbage-collected (the server through
 * its inspector, the pages through CDP) and measured: the server's RSS and V8 heap (its /metrics),
 * each page's JS heap, DOM nodes and listeners, and what the soak probe (pages/soak-probe.ts)
 * counts: live and retained peer connections and data channels, pending timers. Then targets:
 * heaps after warm-up within +10 % of their level at the warm-up call, setup time of the last
 * calls within 1.1× of the warmed-up first ones, no failed call, peer connections back to 0 or 1.
 *
 *   npm run bench:soak                 (builds first; 300 calls)
 *   npx tsx bench/soak.ts --calls 300 --max-minutes 40 --every 50 --sample 10
 */
import type { Browser, BrowserContext, CDPSession, Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberArg } from './lib/args.js';
import {
  launchChromium,
  marksOf,
  newContext,
  newPage,
  waitForMarksOnEach,
  type Mark,
} from './lib/browser.js';
import {
  acceptFileThroughUi,
  clickAccept,
  clickCall,
  joinRoom,
  openChat,
  waitForPair,
  waitForRing,
} from './lib/duet.js';
import { renderLineChart } from './lib/line-chart.js';
import { collectGarbage, isInspectorLine } from './lib/node-inspector.js';
import { startDuet, type Server } from './lib/processes.js';
import {
  BUILD_DIR,
  fmt,
  machine,
  progress,
  publish,
  RESULTS_DIR,
  runIfMain,
  type ReportTable,
} from './lib/report.js';
import { median, round } from './lib/stats.js';
import { transpileToScript } from './lib/transpile.js';
import { testBytes } from './pages/test-bytes.js';

const BENCH = fileURLToPath(new URL('./', import.meta.url));
const MiB = 1024 * 1024;
const FILE_BYTES = MiB;
const SEED = 0x50a4;
/** Bounds: a call that takes longer failed; a step that waits longer failed. */
const CALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 20_000;
/** Let the ring settle (the spare peer connection made, the dialog drawn) before Bob answers, as call-setup does. */
const RING_SETTLE_MS = 300;
/** After the call: how long the pages may take to close their peer connections. */
const PC_SETTLE_MS = 3_000;
/** Consecutive failed calls after which the soak stops (something is broken, not leaking). */
const MAX_FAILURES_IN_A_ROW = 3;
/** The targets. */
const HEAP_GROWTH_MAX = 1.1;
const SETUP_GROWTH_MAX = 1.1;
const LIVE_PCS_MAX = 1;

type Side = 'caller' | 'callee';

interface CallResult {
  call: number;
  /** ms from Bob's Accept click (as his page saw it) to the later side's first decoded remote frame / `connected`. */
  firstFrameMs: number | null;
  connectedMs: number | null;
  /** ms of each part of the call, for where the time goes. */
  chatMs: number | null;
  fileMs: number | null;
  hangupMs: number | null;
  totalMs: number;
  /** Live (not closed) RTCPeerConnections per page once both are back in the room. */
  livePcs: Record<Side, number> | null;
  error?: string;
}

interface PageSample {
  /** JS heap used after a forced GC (CDP Performance.getMetrics JSHeapUsedSize), bytes. */
  heapUsed: number;
  domNodes: number;
  listeners: number;
  peerConnections: { created: number; live: number; retained: number };
  dataChannels: { created: number; live: number; retained: number };
  timers: { timeouts: number; intervals: number; byDelay: Record<string, number> };
  /** What the app holds: messages and transfers of the current call, files kept in IndexedDB. */
  chatMessages: number;
  transfers: number;
  keptFiles: number | null;
  /** Characters in sessionStorage and localStorage (keys and values). */
  storageChars: number;
}

interface ServerSample {
  rss: number;
  heapUsed: number;
  activeHandles: number;
  activeResources: number;
  sockets: number;
  calls: number;
  users: number;
}

interface Sample {
  /** Calls made (successful or not) when the sample was taken. */
  call: number;
  seconds: number;
  server: ServerSample;
  pages: Record<Side, PageSample>;
}

interface Person {
  page: Page;
  cdp: CDPSession;
  context: BrowserContext;
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

async function sampleServer(server: Server): Promise<ServerSample> {
  await collectGarbage(server);
  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  const sum = (name: string): number => {
    const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) =>
      Number(m[1]),
    );
    return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0);
  };
  return {
    rss: sum('duet_process_resident_memory_bytes'),
    heapUsed: sum('duet_nodejs_heap_size_used_bytes'),
    activeHandles: sum('duet_nodejs_active_handles_total'),
    activeResources: sum('duet_nodejs_active_resources_total'),
    sockets: sum('duet_sockets'),
    calls: sum('duet_calls'),
    users: sum('duet_users'),
  };
}

async function samplePage(person: Person): Promise<PageSample> {
  await person.cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await person.cdp.send('Performance.getMetrics');
  const metric = (name: string): number => metrics.find((m) => m.name === name)?.value ?? NaN;
  const inPage = await person.page.evaluate(async () => {
    const snapshot = window.__duet!.snapshot;
    let storageChars = 0;
    for (const storage of [window.sessionStorage, window.localStorage]) {
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i) ?? '';
        storageChars += key.length + (storage.getItem(key)?.length ?? 0);
      }
    }
    // Never create the database (an open without a version would): count only if the app made it.
    const databases = await indexedDB.databases();
    const keptFiles = databases.some((d) => d.name === 'duet-kept-files')
      ? await new Promise<number | null>((resolve) => {
          const request = indexedDB.open('duet-kept-files');
          request.onerror = () => resolve(null);
          request.onsuccess = () => {
            const db = request.result;
            try {
              const counting = db.transaction('files').objectStore('files').count();
              counting.onsuccess = () => resolve(counting.result);
              counting.onerror = () => resolve(null);
            } catch {
              resolve(null);
            } finally {
              db.close();
            }
          };
        })
      : null;
    return {
      counts: window.__soak.counts(),
      chatMessages: snapshot.chat.length,
      transfers: snapshot.transfers.length + (snapshot.lastCallFiles?.transfers.length ?? 0),
      keptFiles,
      storageChars,
    };
  });
  return {
    heapUsed: metric('JSHeapUsedSize'),
    domNodes: metric('Nodes'),
    listeners: metric('JSEventListeners'),
    peerConnections: inPage.counts.peerConnections,
    dataChannels: inPage.counts.dataChannels,
    timers: inPage.counts.timers,
    chatMessages: inPage.chatMessages,
    transfers: inPage.transfers,
    keptFiles: inPage.keptFiles,
    storageChars: inPage.storageChars,
  };
}

async function takeSample(
  call: number,
  started: number,
  server: Server,
  people: Record<Side, Person>,
): Promise<Sample> {
  const [srv, caller, callee] = await Promise.all([
    sampleServer(server),
    samplePage(people.caller),
    samplePage(people.callee),
  ]);
  return { call, seconds: round((Date.now() - started) / 1000), server: srv, pages: { caller, callee } };
}

// ---------------------------------------------------------------------------------------------
// One call
// ---------------------------------------------------------------------------------------------

/** The call's file: 1 MiB of the benchmark's deterministic bytes, another seed for every call. */
function fileOf(call: number): { buffer: Buffer; sha256: string } {
  const buffer = Buffer.concat([...testBytes(FILE_BYTES, SEED + call)]);
  return { buffer, sha256: createHash('sha256').update(buffer).digest('hex') };
}

/** Both pages: no call, and the room shows both people free. */
async function waitForIdle(pages: readonly Page[], timeoutMs: number): Promise<void> {
  await Promise.all(
    pages.map((page) =>
      page.waitForFunction(
        () => {
          const s = window.__duet?.snapshot;
          return (
            s?.call === null && s.room?.users.length === 2 && s.room.users.every((u) => u.state === 'free')
          );
        },
        null,
        { timeout: timeoutMs, polling: 50 },
      ),
    ),
  );
}

/** Type each text into the open chat and press Enter. */
async function sendChat(page: Page, texts: readonly string[]): Promise<void> {
  await openChat(page);
  const box = page.getByRole('textbox', { name: 'Message' });
  for (const text of texts) {
    await box.fill(text);
    await box.press('Enter');
  }
}

/** The page holds the peer's `peer` texts, and its own `own` texts are delivered. */
async function waitForChat(page: Page, own: readonly string[], peer: readonly string[]): Promise<void> {
  await page.waitForFunction(
    ([mine, theirs]) => {
      const chat = window.__duet?.snapshot.chat ?? [];
      return (
        theirs.every((t) => chat.some((m) => m.from === 'peer' && m.text === t)) &&
        mine.every((t) => chat.some((m) => m.from === 'self' && m.text === t && m.status === 'delivered'))
      );
    },
    [own, peer] as const,
    { timeout: STEP_TIMEOUT_MS, polling: 50 },
  );
}

/** Wait until the transfer named `name` going `direction` ends; throws unless it is `done`. */
async function waitForTransfer(page: Page, direction: 'send' | 'receive', name: string): Promise<void> {
  const handle = await page.waitForFunction(
    ([way, file]) => {
      const t = window.__duet?.snapshot.transfers.find((x) => x.direction === way && x.name === file);
      return t && ['done', 'failed', 'cancelled', 'declined'].includes(t.state)
        ? `${t.state} ${t.error ?? ''}`
        : false;
    },
    [direction, name] as const,
    { timeout: STEP_TIMEOUT_MS, polling: 50 },
  );
  const outcome = (await handle.jsonValue()) as string;
  if (!outcome.startsWith('done')) {
    throw new Error(`${direction} of ${name}: ${outcome.trim()}`);
  }
}

async function liveConnections(page: Page): Promise<number> {
  return page.evaluate(() => window.__soak.counts().peerConnections.live);
}

/**
 * Offer a file on disk through the chat's file input (`data-testid="file-input"`, what its paper
 * clip opens), as Playwright's setInputFiles does (CDP `DOM.setFileInputFiles`) but releasing the
 * reference to the input afterwards. Why not setInputFiles: it leaves the input element referenced
 * from the DevTools side (a V8 inspector global handle), so every call's whole call view stayed in
 * the page's heap as detached DOM (≈ 250 nodes and 100 KiB a call, seen in a heap snapshot): the
 * harness's leak, not the app's.
 */
async function setFileInput(cdp: CDPSession, path: string): Promise<void> {
  const group = 'soak-file-input';
  try {
    const { result } = await cdp.send('Runtime.evaluate', {
      expression: `document.querySelector('[data-testid="file-input"]')`,
      objectGroup: group,
    });
    if (result.subtype !== 'node' || !result.objectId) {
      throw new Error('no file input on the page (is the chat open?)');
    }
    await cdp.send('DOM.setFileInputFiles', { objectId: result.objectId, files: [path] });
  } finally {
    await cdp.send('Runtime.releaseObjectGroup', { objectGroup: group });
  }
}

/** Call `n` before anything about it is measured. */
function emptyResult(n: number): CallResult {
  return {
    call: n,
    firstFrameMs: null,
    connectedMs: null,
    chatMs: null,
    fileMs: null,
    hangupMs: null,
    totalMs: 0,
    livePcs: null,
  };
}

async function oneCall(n: number, people: Record<Side, Person>, dir: string): Promise<CallResult> {
  const caller = people.caller.page;
  const callee = people.callee.page;
  const result = emptyResult(n);
  const start = performance.now();
  const pages = [caller, callee];
  await Promise.all(pages.map((p) => p.evaluate(() => window.__bench.reset())));

  // Ring, answer, media up.
  await clickCall(caller, 'Bob');
  await waitForRing(callee);
  await new Promise((resolve) => setTimeout(resolve, RING_SETTLE_MS));
  await clickAccept(callee);
  await waitForMarksOnEach(pages, ['first-frame', 'duet-call-connected'], STEP_TIMEOUT_MS);
  const [a, b] = await Promise.all([marksOf(caller), marksOf(callee)]);
  const at = (marks: Mark[], name: string): number => marks.find((m) => m.name === name)?.at ?? NaN;
  const t0 = at(b, 'accept-click');
  result.firstFrameMs = round(Math.max(at(a, 'first-frame'), at(b, 'first-frame')) - t0);
  result.connectedMs = round(Math.max(at(a, 'duet-call-connected'), at(b, 'duet-call-connected')) - t0);

  // Chat: two messages each way, through the message box; delivered (acknowledged) both ways.
  let t = performance.now();
  const texts = { caller: [`A${n}.1`, `A${n}.2`], callee: [`B${n}.1`, `B${n}.2`] };
  await Promise.all([sendChat(caller, texts.caller), sendChat(callee, texts.callee)]);
  await Promise.all([
    waitForChat(caller, texts.caller, texts.callee),
    waitForChat(callee, texts.callee, texts.caller),
  ]);
  result.chatMs = round(performance.now() - t);

  // A 1 MiB file, each call the other way: the chat's file input, the receiver's "Accept <name>".
  t = performance.now();
  const [sender, receiver] = n % 2 === 1 ? [caller, callee] : [callee, caller];
  const senderCdp = (n % 2 === 1 ? people.caller : people.callee).cdp;
  await openChat(sender);
  const name = `soak-${n}.bin`;
  const file = fileOf(n);
  const path = join(dir, name);
  writeFileSync(path, file.buffer);
  await setFileInput(senderCdp, path);
  await acceptFileThroughUi(receiver, name, STEP_TIMEOUT_MS);
  await Promise.all([waitForTransfer(receiver, 'receive', name), waitForTransfer(sender, 'send', name)]);
  rmSync(path, { force: true });
  const got = await receiver.evaluate(async (fileName) => {
    const transfer = window.__duet!.snapshot.transfers.find(
      (x) => x.direction === 'receive' && x.name === fileName,
    );
    return transfer?.file ? window.__bench.sha256(transfer.file) : null;
  }, name);
  if (got !== file.sha256) {
    throw new Error(`${name}: received sha256 ${got} ≠ ${file.sha256}`);
  }
  result.fileMs = round(performance.now() - t);

  // Hang up (each call the other side), both back in the room, peer connections closed.
  t = performance.now();
  const hanger = n % 2 === 1 ? caller : callee;
  await hanger.getByRole('button', { name: 'Hang up', exact: true }).click();
  await waitForIdle(pages, STEP_TIMEOUT_MS);
  result.hangupMs = round(performance.now() - t);
  const deadline = Date.now() + PC_SETTLE_MS;
  let live = await Promise.all(pages.map(liveConnections));
  while (live.some((x) => x > LIVE_PCS_MAX) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    live = await Promise.all(pages.map(liveConnections));
  }
  result.livePcs = { caller: live[0]!, callee: live[1]! };
  result.totalMs = round(performance.now() - start);
  return result;
}

/**
 * The page's V8 heap snapshot (CDP), written to BUILD_DIR for DevTools (Memory → Load) or a script:
 * what retains the objects a growing heap holds.
 */
async function writeHeapSnapshot(cdp: CDPSession, label: string): Promise<string> {
  const chunks: string[] = [];
  const onChunk = ({ chunk }: { chunk: string }): void => {
    chunks.push(chunk);
  };
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const file = `${BUILD_DIR}${label}-${process.pid}.heapsnapshot`;
  writeFileSync(file, chunks.join(''));
  return file;
}

/** After a failed call: hang up whatever is left (through the API) and wait for both to be idle. */
async function recover(pages: readonly Page[]): Promise<void> {
  for (const page of pages) {
    await page
      .evaluate(async () => {
        const duet = window.__duet!;
        if (duet.snapshot.call && duet.snapshot.call.phase !== 'ended') {
          await (duet.snapshot.call.phase === 'incoming' ? duet.decline() : duet.hangup());
        }
      })
      .catch(() => undefined);
  }
  await waitForIdle(pages, STEP_TIMEOUT_MS);
}

/** `body` within `ms`, or a rejection saying so. */
async function within<T>(ms: number, body: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      body,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`call exceeded ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The run and its report
// ---------------------------------------------------------------------------------------------

export interface SoakOptions {
  calls?: number;
  /** Hard bound on the whole soak: no call starts after it (minutes). */
  maxMinutes?: number;
  /** Calls per row of the table and per window of setup times; the warm-up is the first window. */
  every?: number;
  /** Calls between samples (GC and measure), for the chart. */
  sample?: number;
  /** Write the caller's heap snapshot after the warm-up and both pages' at the end (what grew). */
  heapSnapshots?: boolean;
}

const MB = (bytes: number | undefined): string => fmt(bytes === undefined ? NaN : bytes / MiB, 1);

interface Verdict {
  name: string;
  figure: string;
  pass: boolean;
}

export async function main(options: SoakOptions = {}): Promise<void> {
  const calls = options.calls ?? numberArg('--calls', 300);
  const maxMinutes = options.maxMinutes ?? numberArg('--max-minutes', 40);
  const every = Math.min(calls, options.every ?? numberArg('--every', 50));
  const sampleEvery = options.sample ?? numberArg('--sample', 10);
  const heapSnapshots = options.heapSnapshots ?? process.argv.includes('--heap-snapshots');
  const snapshotFiles: string[] = [];
  const info = machine();
  const started = Date.now();
  const deadline = started + maxMinutes * 60_000;
  progress(
    `soak: ${calls} calls (at most ${maxMinutes} min), rows every ${every}, samples every ${sampleEvery}`,
  );

  // The server's inspector: to collect its garbage before each sample (lib/node-inspector.ts).
  const server = await startDuet([], { nodeArgs: ['--inspect=127.0.0.1:0'] });
  let browser: Browser | null = null;
  const results: CallResult[] = [];
  const samples: Sample[] = [];
  const log: string[] = [];
  let stopped = 'all calls made';
  // Each call's file is written here, offered from disk through the file input, and removed.
  const dir = mkdtempSync(join(tmpdir(), 'duet-soak-'));
  try {
    browser = await launchChromium();
    info.chromium = browser.version();
    const soakProbe = transpileToScript(`${BENCH}pages/soak-probe.ts`);
    const person = async (who: string): Promise<Person> => {
      const context = await newContext(browser!);
      await context.addInitScript({ content: soakProbe });
      const page = await newPage(context, log, who);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      return { page, cdp, context };
    };
    const people = { caller: await person('Alice'), callee: await person('Bob') };
    const { caller, callee } = { caller: people.caller.page, callee: people.callee.page };
    const room = `soak-${Date.now()}`;
    await Promise.all([
      joinRoom(caller, server.origin, room, 'Alice'),
      joinRoom(callee, server.origin, room, 'Bob'),
    ]);
    await waitForPair([caller, callee]);
    samples.push(await takeSample(0, started, server, people));

    let failuresInARow = 0;
    for (let n = 1; n <= calls; n++) {
      if (Date.now() > deadline) {
        stopped = `time bound (${maxMinutes} min) reached after ${n - 1} calls`;
        break;
      }
      let result: CallResult;
      try {
        result = await within(CALL_TIMEOUT_MS, oneCall(n, people, dir));
        failuresInARow = 0;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result = { ...emptyResult(n), error: `${message.split('\n')[0]}\n${log.slice(-10).join('\n')}` };
        progress(`call ${n} FAILED: ${message.split('\n')[0]}`);
        failuresInARow++;
        try {
          await recover([caller, callee]);
        } catch (recoveryError) {
          stopped = `call ${n} failed and the pages did not get back to idle: ${String(recoveryError).split('\n')[0]}`;
          results.push(result);
          break;
        }
      }
      results.push(result);
      if (failuresInARow >= MAX_FAILURES_IN_A_ROW) {
        stopped = `${MAX_FAILURES_IN_A_ROW} calls in a row failed`;
        break;
      }
      if (n % sampleEvery === 0 || n % every === 0 || n === calls) {
        const sample = await takeSample(n, started, server, people);
        samples.push(sample);
        if (heapSnapshots && n === every) {
          // The warm-up's end: compare with the snapshots at the end to see what grew.
          snapshotFiles.push(await writeHeapSnapshot(people.caller.cdp, `soak-caller-call${n}`));
        }
        if (n % every === 0 || n === calls) {
          const recent = results.slice(-every).filter((r) => r.firstFrameMs !== null);
          progress(
            `call ${n}: setup median ${fmt(median(recent.map((r) => r.firstFrameMs!)))} ms, ` +
              `server heap ${MB(sample.server.heapUsed)} MiB, pages ${MB(sample.pages.caller.heapUsed)} / ` +
              `${MB(sample.pages.callee.heapUsed)} MiB, live PCs ${sample.pages.caller.peerConnections.live} / ` +
              `${sample.pages.callee.peerConnections.live}`,
          );
        }
      }
    }
    if (samples.at(-1)!.call !== results.length) {
      samples.push(await takeSample(results.length, started, server, people));
    }
    if (heapSnapshots) {
      for (const side of ['caller', 'callee'] as const) {
        snapshotFiles.push(await writeHeapSnapshot(people[side].cdp, `soak-${side}-call${results.length}`));
      }
    }
  } finally {
    await browser?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const made = results.length;
  if (made === 0 || samples.length < 2) {
    throw new Error(`the soak made no call (${stopped})\n${log.slice(-20).join('\n')}`);
  }

  // ----- figures
  const ok = results.filter((r) => !r.error);
  const failed = results.filter((r) => r.error);
  const setup = (from: number, to: number): number =>
    round(median(ok.filter((r) => r.call >= from && r.call <= to).map((r) => r.firstFrameMs!)));
  const warmup = every;
  /** The warmed-up reference: the second half of the first window (calls 26–50 of 50). */
  const refFrom = Math.floor(warmup / 2) + 1;
  const setupFirst = setup(1, warmup);
  const setupRef = setup(refFrom, warmup);
  const lastFrom = Math.max(warmup + 1, made - every + 1);
  const setupLast = setup(lastFrom, made);
  const atWarmup = samples.find((s) => s.call === warmup) ?? samples[Math.min(1, samples.length - 1)]!;
  const last = samples.at(-1)!;
  const growth = (pick: (s: Sample) => number): number | null =>
    last.call > atWarmup.call ? round(pick(last) / pick(atWarmup), 3) : null;
  /** Least-squares slope after warm-up, bytes per call: how fast it grows, if it does. */
  const slope = (pick: (s: Sample) => number): number | null => {
    const points = samples.filter((s) => s.call >= atWarmup.call);
    if (points.length < 3) {
      return null;
    }
    const mx = points.reduce((x, s) => x + s.call, 0) / points.length;
    const my = points.reduce((x, s) => x + pick(s), 0) / points.length;
    const num = points.reduce((x, s) => x + (s.call - mx) * (pick(s) - my), 0);
    const den = points.reduce((x, s) => x + (s.call - mx) ** 2, 0);
    return round(num / den);
  };
  const heaps = {
    server: (s: Sample) => s.server.heapUsed,
    caller: (s: Sample) => s.pages.caller.heapUsed,
    callee: (s: Sample) => s.pages.callee.heapUsed,
  };
  const maxLive = Math.max(
    0,
    ...ok.map((r) => Math.max(r.livePcs!.caller, r.livePcs!.callee)),
    ...samples.map((s) => Math.max(s.pages.caller.peerConnections.live, s.pages.callee.peerConnections.live)),
  );
  const heapMetric = (key: keyof typeof heaps, label: string) => {
    const ratioToWarmup = growth(heaps[key]);
    return {
      label,
      unit: 'bytes',
      atWarmup: { call: atWarmup.call, bytes: heaps[key](atWarmup) },
      final: { call: last.call, bytes: heaps[key](last) },
      ratio: ratioToWarmup,
      bytesPerCall: slope(heaps[key]),
      target: { max: HEAP_GROWTH_MAX },
      pass: ratioToWarmup !== null && ratioToWarmup <= HEAP_GROWTH_MAX,
    };
  };
  const setupRatio = setupLast / setupRef;
  const metrics = {
    // The time bound cutting the soak short is the caller's choice, not a failure (the figure says so).
    calls: { asked: calls, made, failed: failed.length, target: { max: 0 }, pass: failed.length === 0 },
    serverHeap: heapMetric('server', 'server V8 heap used after GC'),
    callerHeap: heapMetric('caller', "caller page's JS heap after GC"),
    calleeHeap: heapMetric('callee', "callee page's JS heap after GC"),
    serverRss: { atWarmup: atWarmup.server.rss, final: last.server.rss, ratio: growth((s) => s.server.rss) },
    setup: {
      label: "Bob's Accept → first decoded remote frame, both sides (ms, median)",
      first: { calls: `1–${warmup}`, ms: setupFirst },
      reference: { calls: `${refFrom}–${warmup}`, ms: setupRef },
      last: { calls: `${lastFrom}–${made}`, ms: setupLast },
      ratio: Number.isFinite(setupRatio) ? round(setupRatio, 3) : null,
      target: { max: SETUP_GROWTH_MAX },
      pass: setupRatio <= SETUP_GROWTH_MAX,
    },
    livePeerConnections: { max: maxLive, target: { max: LIVE_PCS_MAX }, pass: maxLive <= LIVE_PCS_MAX },
  };

  // ----- table: one row per window of `every` calls
  const rowCalls = samples.filter((s) => s.call === 0 || s.call % every === 0 || s.call === made);
  const headers = [
    'calls',
    'setup ms',
    'server RSS MiB',
    'server heap MiB',
    'handles',
    'caller heap MiB',
    'callee heap MiB',
    'live PCs',
    'retained PCs',
    'live DCs',
    'timers',
    'DOM nodes',
    'failed',
  ];
  const pair = (s: Sample, pick: (p: PageSample) => number, digits = 0): string =>
    `${fmt(pick(s.pages.caller), digits)} / ${fmt(pick(s.pages.callee), digits)}`;
  const rows = rowCalls.map((s, i) => {
    const from = i === 0 ? 0 : rowCalls[i - 1]!.call + 1;
    const inWindow = results.filter((r) => r.call >= from && r.call <= s.call);
    const frames = inWindow.filter((r) => r.firstFrameMs !== null).map((r) => r.firstFrameMs!);
    return [
      String(s.call),
      s.call === 0 ? '' : fmt(median(frames)),
      MB(s.server.rss),
      MB(s.server.heapUsed),
      fmt(s.server.activeHandles),
      MB(s.pages.caller.heapUsed),
      MB(s.pages.callee.heapUsed),
      pair(s, (p) => p.peerConnections.live),
      pair(s, (p) => p.peerConnections.retained),
      pair(s, (p) => p.dataChannels.live),
      pair(s, (p) => p.timers.timeouts + p.timers.intervals),
      pair(s, (p) => p.domNodes),
      s.call === 0 ? '' : String(inWindow.filter((r) => r.error).length),
    ];
  });
  const pct = (r: number | null): string =>
    r === null ? '—' : `${r >= 1 ? '+' : ''}${fmt((r - 1) * 100, 1)} %`;
  const perCall = (b: number | null): string =>
    b === null ? '' : `, ${b >= 0 ? '+' : ''}${fmt(b / 1024, 1)} KiB/call fitted`;
  const verdicts: Verdict[] = [
    {
      name: 'no failed call',
      figure: `${failed.length} failed of ${made}${made < calls ? ` (${calls} asked; ${stopped})` : ''}`,
      pass: metrics.calls.pass,
    },
    ...(['serverHeap', 'callerHeap', 'calleeHeap'] as const).map((key) => {
      const m = metrics[key];
      return {
        name: `${m.label} ≤ +${fmt((HEAP_GROWTH_MAX - 1) * 100)} % of call ${atWarmup.call}`,
        figure: `${MB(m.atWarmup.bytes)} → ${MB(m.final.bytes)} MiB at call ${m.final.call} (${pct(m.ratio)}${perCall(m.bytesPerCall)})`,
        pass: m.pass,
      };
    }),
    {
      name: `setup median of calls ${lastFrom}–${made} ≤ ${SETUP_GROWTH_MAX}× calls ${refFrom}–${warmup}`,
      figure: `${fmt(setupRef)} → ${fmt(setupLast)} ms (${fmt(setupRatio, 2)}×; calls 1–${warmup}: ${fmt(setupFirst)} ms)`,
      pass: metrics.setup.pass,
    },
    {
      name: `live RTCPeerConnections between calls ≤ ${LIVE_PCS_MAX} per page`,
      figure: `max ${maxLive}`,
      pass: metrics.livePeerConnections.pass,
    },
  ];
  const verdictRows = verdicts.map((v) => [v.pass ? 'PASS' : 'FAIL', v.name, v.figure]);
  const tables: ReportTable[] = [
    {
      title: `Soak — ${made} calls in a row between the same two pages (figures after a forced GC; pairs are caller / callee)`,
      caption: `Per ${every} calls, after a forced GC (pairs: caller / callee page). Setup: Bob's Accept → first decoded remote frame, both sides, median of the window.`,
      headers,
      rows,
    },
    { title: 'Targets', headers: ['', 'target', 'measured'], rows: verdictRows },
  ];
  const parts = results.filter((r) => !r.error);
  const notes = [
    `stopped: ${stopped}`,
    `per call, medians: total ${fmt(median(parts.map((r) => r.totalMs)))} ms; connected ${fmt(median(parts.map((r) => r.connectedMs!)))} ms after Accept; ` +
      `chat ${fmt(median(parts.map((r) => r.chatMs!)))} ms; 1 MiB file ${fmt(median(parts.map((r) => r.fileMs!)))} ms; ` +
      `hang-up to idle ${fmt(median(parts.map((r) => r.hangupMs!)))} ms`,
    `server: sockets ${last.server.sockets}, users ${last.server.users}, calls ${last.server.calls}, active resources ` +
      `${samples[1]?.server.activeResources ?? '—'} → ${last.server.activeResources} (calls ${samples[1]?.call ?? '—'} → ${last.call})`,
    ...(['caller', 'callee'] as const).map((side) => {
      const p = last.pages[side];
      return (
        `${side} at call ${last.call}: ${p.peerConnections.created} PCs made, ${p.peerConnections.live} live, ` +
        `${p.peerConnections.retained} closed but retained; ${p.dataChannels.created} data channels made, ` +
        `${p.dataChannels.live} live, ${p.dataChannels.retained} retained; timers ${JSON.stringify(p.timers.byDelay)}; ` +
        `listeners ${p.listeners}; chat ${p.chatMessages}, transfers ${p.transfers}, kept files ${p.keptFiles ?? '—'}, ` +
        `storage ${p.storageChars} chars`
      );
    }),
    ...failed.slice(0, 3).map((r) => `call ${r.call} failed: ${r.error}`),
    ...snapshotFiles.map((file) => `heap snapshot: ${file}`),
  ];
  const serverProblems = server.problems();
  const problems = serverProblems.first.filter((line) => !isInspectorLine(line));
  if (problems.length > 0) {
    notes.push(`server warnings/errors: ${problems.slice(0, 3).join(' | ')}`);
  }

  // ----- chart: heaps over calls
  const heapSeries = [
    { name: 'server V8 heap', color: '#d64545', key: 'server' as const },
    { name: 'caller page JS heap', color: '#2f6fd6', key: 'caller' as const },
    { name: 'callee page JS heap', color: '#2e9d5b', key: 'callee' as const },
  ];
  const svg = renderLineChart({
    title: `Soak: heap after GC over ${made} calls between the same two pages`,
    subtitle:
      `${info.cpus} × ${info.model} · Node ${info.node}${info.chromium ? ` · Chromium ${info.chromium}` : ''} · ` +
      `dashed: +${fmt((HEAP_GROWTH_MAX - 1) * 100)} % of the level at call ${atWarmup.call} (the target)`,
    xLabel: 'calls',
    yLabel: 'MiB',
    series: heapSeries.map((s) => ({
      name: s.name,
      color: s.color,
      points: samples.map((x) => [x.call, round(heaps[s.key](x) / MiB, 2)] as const),
      limit: { y: (heaps[s.key](atWarmup) / MiB) * HEAP_GROWTH_MAX, fromX: atWarmup.call },
    })),
    footer: 'Regenerate: npm run bench:soak (see bench/README.md).',
  });
  writeFileSync(`${RESULTS_DIR}soak.svg`, svg);

  await publish(
    'soak',
    { started, machine: info },
    {
      config: {
        calls,
        made,
        maxMinutes,
        every,
        sampleEvery,
        fileBytes: FILE_BYTES,
        ringSettleMs: RING_SETTLE_MS,
        stopped,
        media: 'Chromium fake camera + microphone, video call through the UI',
        server: 'node --inspect=127.0.0.1:0 packages/server/dist/main.js (inspector only to force GC)',
      },
      metrics,
      verdicts,
      samples,
      calls: results.map((r) => (r.error ? { ...r, error: r.error.split('\n')[0] } : r)),
      serverProblems: { count: problems.length, first: problems.slice(0, 10) },
    },
    tables,
    notes,
  );
  if (verdicts.some((v) => !v.pass)) {
    process.exitCode = 1;
  }
}

runIfMain(import.meta.url, () => main());
