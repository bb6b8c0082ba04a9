/**
 * The terminal peer's throughput, each against its baseline in the same run, alternating:
 *
 * - `duet send` → `duet receive` (the built CLI, two processes, through the built server on
 *   loopback; SHA-256 on both sides, the file read from and written to disk) against a bare
 *   node-datachannel sender/receiver pair (two processes, the same message size and water marks,
 *   no protocol, no hashing, no disk). Also the receiving CLI's peak RSS (VmHWM).
 * - `duet send` → the real web app in headless Chromium (it accepts the call and the file through
 *   its buttons, stores the file and verifies its hash) against the same bare node-datachannel
 *   sender to a bare RTCPeerConnection in a Chromium page that only counts bytes.
 *
 * The CLI→CLI clock runs from the receiver's `offer` event (it accepts at once) to its `file-done`
 * (all bytes stored and the hash verified); CLI→browser from the click on "Accept <name>" to the
 * sender's `file-done` (the browser verified the hash); the bare pairs' from the first message to
 * the last.
 *
 *   npm run build && npx tsx bench/cli-transfer.ts --mib 1024 --runs 3 [--browser-mib 256] [--no-browser]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Browser } from '@playwright/test';
import { numberArg } from './lib/args.js';
import { bareToBrowser } from './lib/bare-browser-receiver.js';
import { launchChromium, newContext, newPage } from './lib/browser.js';
import { acceptFileThroughUi, clickAccept, joinRoom, waitForRing } from './lib/duet.js';
import { startDuet } from './lib/processes.js';

const MIB = 1024 * 1024;
const bytes = numberArg('--mib', 1024) * MIB;
const runs = numberArg('--runs', 3);
/** Into the browser the file is kept in memory (a Blob), hence a smaller default. */
const browserBytes = numberArg('--browser-mib', 256) * MIB;
const withBrowser = !process.argv.includes('--no-browser');
const MESSAGE = 64 * 1024; // Duet's chunk size (FILE_TRANSFER_DEFAULTS.chunkSize)

const CLI = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const BARE = fileURLToPath(new URL('./lib/bare-datachannel-peer.ts', import.meta.url));

interface JsonLine {
  event?: string;
  kind?: string;
  [key: string]: unknown;
}

/** Spawn and hand each stdout JSON line to `onLine`; resolves with the exit code. */
function run(
  command: string[],
  onLine: (line: JsonLine, child: ChildProcess) => void,
): { child: ChildProcess; exited: Promise<number> } {
  const child = spawn(process.execPath, command, { stdio: ['pipe', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      onLine(JSON.parse(line) as JsonLine, child);
    } catch {
      // not ours
    }
  });
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1))) };
}

/** Peak resident memory (VmHWM) of a live process, bytes; 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function bare(): Promise<number> {
  const args = ['--bytes', String(bytes), '--message', String(MESSAGE)];
  let receiverMs = 0;
  const peers: ChildProcess[] = [];
  const relay = (to: () => ChildProcess | undefined) => (line: JsonLine) => {
    if (line.kind === 'description' || line.kind === 'candidate') {
      to()?.stdin!.write(`${JSON.stringify(line)}\n`);
    }
    if (line.kind === 'received') {
      receiverMs = Number(line.ms);
    }
  };
  const receiver = run(
    ['--import', 'tsx', BARE, 'receiver', ...args],
    relay(() => peers[1]),
  );
  const sender = run(
    ['--import', 'tsx', BARE, 'sender', ...args],
    relay(() => peers[0]),
  );
  peers.push(receiver.child, sender.child);
  await Promise.all([receiver.exited, sender.exited]);
  return bytes / 1e6 / (receiverMs / 1000);
}

async function cli(
  origin: string,
  file: string,
  sha256: string,
  out: string,
  n: number,
): Promise<{ mbps: number; peakRss: number }> {
  const room = `bench-cli-${process.pid}-${n}`;
  const seen = { offerAt: 0, doneAt: 0, verified: false };
  let waiting: () => void = () => {};
  const receiverWaiting = new Promise<void>((resolve) => (waiting = resolve));
  const receiver = run(
    [CLI, 'receive', '--room', room, '--server', origin, '--out', out, '--count', '1', '--json', '--force'],
    (line) => {
      if (line.event === 'waiting') {
        waiting();
      }
      if (line.event === 'offer') {
        seen.offerAt = performance.now();
      }
      if (line.event === 'file-done') {
        seen.doneAt = performance.now();
        seen.verified = line.sha256 === sha256;
      }
    },
  );
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(receiver.child.pid!))), 100);
  await receiverWaiting;
  const sender = run([CLI, 'send', file, '--room', room, '--server', origin, '--json'], () => {});
  const [rc, sc] = await Promise.all([receiver.exited, sender.exited]);
  clearInterval(sampler);
  if (rc !== 0 || sc !== 0 || !seen.verified) {
    throw new Error(`CLI run failed: receive ${rc}, send ${sc}, verified ${seen.verified}`);
  }
  return { mbps: bytes / 1e6 / ((seen.doneAt - seen.offerAt) / 1000), peakRss: peak };
}

/** `duet send` → the web app in a fresh Chromium context: MB/s from its Accept click to the verdict. */
async function cliToBrowser(
  browser: Browser,
  origin: string,
  file: { path: string; sha256: string; bytes: number },
  n: number,
): Promise<number> {
  const context = await newContext(browser);
  const log: string[] = [];
  try {
    const page = await newPage(context, log, 'Alice');
    const room = `bench-cli-browser-${process.pid}-${n}`;
    await joinRoom(page, origin, room, 'Alice');
    const seen = { doneAt: 0, verified: false };
    const sender = run([CLI, 'send', file.path, '--room', room, '--server', origin, '--json'], (line) => {
      if (line.event === 'file-done') {
        seen.doneAt = performance.now();
        seen.verified = line.sha256 === file.sha256;
      }
    });
    await waitForRing(page);
    await clickAccept(page);
    const name = file.path.split('/').pop()!;
    await acceptFileThroughUi(page, name, 60_000);
    const acceptedAt = performance.now();
    const code = await sender.exited;
    // `file-done` on the sender is the browser's verdict: it compared the hashes and said ok.
    if (code !== 0 || !seen.verified) {
      throw new Error(`CLI→browser run failed: send ${code}, verified ${seen.verified}\n${log.join('\n')}`);
    }
    return file.bytes / 1e6 / ((seen.doneAt - acceptedAt) / 1000);
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** The bare sender to a bare page, in a fresh context. */
async function bareBrowser(browser: Browser, bytes: number): Promise<number> {
  const context = await newContext(browser);
  try {
    const page = await newPage(context, [], 'bare');
    return await bareToBrowser(page, bytes, MESSAGE);
  } finally {
    await context.close().catch(() => undefined);
  }
}

/** A file of `size` random bytes in `dir`, written in 1 MiB pieces (never whole in memory). */
async function randomFile(
  dir: string,
  name: string,
  size: number,
): Promise<{ path: string; sha256: string; bytes: number }> {
  const path = join(dir, name);
  const hash = createHash('sha256');
  const outStream = createWriteStream(path);
  for (let written = 0; written < size; written += MIB) {
    const piece = randomBytes(Math.min(MIB, size - written));
    hash.update(piece);
    if (!outStream.write(piece)) {
      await once(outStream, 'drain');
    }
  }
  outStream.end();
  await once(outStream, 'finish');
  return { path, sha256: hash.digest('hex'), bytes: size };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'duet-bench-cli-'));
  const big = await randomFile(dir, 'random.bin', bytes);
  const small = withBrowser ? await randomFile(dir, 'to-browser.bin', browserBytes) : null;
  const out = join(dir, 'received');
  mkdirSync(out);
  const server = await startDuet();
  const browser = withBrowser ? await launchChromium() : null;
  const rows: Array<{
    run: number;
    cli: number;
    bare: number;
    rss: number;
    toBrowser?: number;
    bareBrowser?: number;
  }> = [];
  try {
    for (let n = 1; n <= runs; n++) {
      const bareMbps = await bare();
      const result = await cli(server.origin, big.path, big.sha256, out, n);
      rmSync(join(out, 'random.bin'), { force: true });
      const row: (typeof rows)[number] = { run: n, cli: result.mbps, bare: bareMbps, rss: result.peakRss };
      if (browser && small) {
        row.bareBrowser = await bareBrowser(browser, small.bytes);
        row.toBrowser = await cliToBrowser(browser, server.origin, small, n);
      }
      rows.push(row);
      console.log(
        JSON.stringify({
          run: n,
          cliMBps: +result.mbps.toFixed(1),
          bareMBps: +bareMbps.toFixed(1),
          ratio: +(result.mbps / bareMbps).toFixed(2),
          receiverPeakRssMiB: +(result.peakRss / MIB).toFixed(0),
          ...(row.toBrowser !== undefined && row.bareBrowser !== undefined
            ? {
                cliToBrowserMBps: +row.toBrowser.toFixed(1),
                bareToBrowserMBps: +row.bareBrowser.toFixed(1),
                browserRatio: +(row.toBrowser / row.bareBrowser).toFixed(2),
              }
            : {}),
        }),
      );
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const cliMedian = median(rows.map((r) => r.cli));
  const bareMedian = median(rows.map((r) => r.bare));
  // Runs on a shared machine swing together: the ratio is taken per run (same moment), then the median.
  const ratioMedian = median(rows.map((r) => r.cli / r.bare));
  console.log(
    `\n${bytes / MIB} MiB, ${MESSAGE / 1024} KiB messages, ${runs} runs (medians): duet send→receive ${cliMedian.toFixed(1)} MB/s, ` +
      `bare node-datachannel ${bareMedian.toFixed(1)} MB/s, ratio ${ratioMedian.toFixed(2)}× (median of the runs' ratios; target ≥ 0.9×); ` +
      `receiving CLI peak RSS ${(Math.max(...rows.map((r) => r.rss)) / MIB).toFixed(0)} MiB (target ≤ 100 MiB)`,
  );
  if (withBrowser) {
    const toBrowser = rows.map((r) => r.toBrowser ?? 0);
    const bareBrowserRuns = rows.map((r) => r.bareBrowser ?? 0);
    console.log(
      `${browserBytes / MIB} MiB into Chromium, ${runs} runs (medians): duet send→web app ${median(toBrowser).toFixed(1)} MB/s, ` +
        `bare node-datachannel→bare page ${median(bareBrowserRuns).toFixed(1)} MB/s, ratio ` +
        `${median(rows.map((r) => (r.toBrowser ?? 0) / (r.bareBrowser ?? 1))).toFixed(2)}× (target ≥ 0.9×)`,
    );
  }
}

await main();
