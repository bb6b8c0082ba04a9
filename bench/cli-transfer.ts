/**
 * The terminal peer's throughput: `duet send` → `duet receive` (the built CLI, two processes,
 * through the built server on loopback; SHA-256 on both sides, the file read from and written to
 * disk) against a bare node-datachannel sender/receiver pair (two processes, the same message size
 * and water marks, no protocol, no hashing, no disk), in the same run, alternating, with the
 * ratio. Also the receiving CLI's peak RSS (VmHWM) during the transfer.
 *
 * The CLI's clock runs from the receiver's `offer` event (it accepts at once) to its `file-done`
 * (all bytes stored and the hash verified); the bare pair's from its first message to its last.
 *
 *   npm run build && npx tsx bench/cli-transfer.ts --mib 1024 --runs 3
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { numberArg } from './lib/args.js';
import { startDuet } from './lib/processes.js';

const MIB = 1024 * 1024;
const bytes = numberArg('--mib', 1024) * MIB;
const runs = numberArg('--runs', 3);
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'duet-bench-cli-'));
  const file = join(dir, 'random.bin');
  const hash = createHash('sha256');
  const outStream = createWriteStream(file);
  for (let written = 0; written < bytes; written += MIB) {
    const piece = randomBytes(Math.min(MIB, bytes - written));
    hash.update(piece);
    if (!outStream.write(piece)) {
      await once(outStream, 'drain');
    }
  }
  outStream.end();
  await once(outStream, 'finish');
  const sha256 = hash.digest('hex');
  const server = await startDuet();
  const rows: Array<{ run: number; cli: number; bare: number; rss: number }> = [];
  try {
    for (let n = 1; n <= runs; n++) {
      const bareMbps = await bare();
      const result = await cli(server.origin, file, sha256, dir, n);
      rows.push({ run: n, cli: result.mbps, bare: bareMbps, rss: result.peakRss });
      console.log(
        JSON.stringify({
          run: n,
          cliMBps: +result.mbps.toFixed(1),
          bareMBps: +bareMbps.toFixed(1),
          ratio: +(result.mbps / bareMbps).toFixed(2),
          receiverPeakRssMiB: +(result.peakRss / MIB).toFixed(0),
        }),
      );
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const cliMedian = median(rows.map((r) => r.cli));
  const bareMedian = median(rows.map((r) => r.bare));
  // Runs on a shared machine swing together: the ratio is taken per run (same moment), then the median.
  const ratioMedian = median(rows.map((r) => r.cli / r.bare));
  console.log(
    `\n${bytes / MIB} MiB, ${MESSAGE / 1024} KiB messages, ${runs} runs (medians): duet send→receive ${cliMedian.toFixed(1)} MB/s, ` +
      `bare node-datachannel ${bareMedian.toFixed(1)} MB/s, ratio ${ratioMedian.toFixed(2)}× (median of the runs' ratios; target ≥ 0.9×); ` +
      `receiving CLI peak RSS ${(Math.max(...rows.map((r) => r.rss)) / MIB).toFixed(0)} MiB (target ≤ 100 MiB)`,
  );
}

await main();
