/**
 * `npm run bench`: the four benchmarks one after the other (each starts and stops its own servers,
 * browser and Redis), then bench/results/{call-setup,file-transfer,signaling,scale-out}.json,
 * chart.svg and performance.md hold the latest figures. Bounded: about 13 minutes on two cores.
 *
 *   npm run bench                  (builds Duet first)
 *   npx tsx bench/run-all.ts --quick      a smoke run: few runs, 32 MiB, 1k clients (results overwritten)
 *   npm run bench -- --diagnose           also the diagnostic variants and server profiles
 */
import { main as callSetup } from './call-setup.js';
import { main as fileTransfer } from './file-transfer.js';
import { progress } from './lib/report.js';
import { main as scaleOut } from './scale-out.js';
import { main as signaling } from './signaling.js';

const quick = process.argv.includes('--quick');
/** The diagnostic variants too (see each benchmark); adds about 4 minutes. */
const diagnose = process.argv.includes('--diagnose');

const benchmarks: Array<[string, () => Promise<void>]> = [
  ['call setup', () => callSetup(quick ? { runs: 3, warmups: 1, profile: false } : { diagnose })],
  ['file transfer', () => fileTransfer(quick ? { runs: 1, mib: 32, profile: false } : { diagnose })],
  ['signaling', () => signaling(quick ? { clients: [1000], windowSeconds: 5 } : { profileServer: diagnose })],
  ['scale-out', () => scaleOut(quick ? { clients: 1000, windowSeconds: 5, streams: false } : {})],
];

const started = performance.now();
const failed: string[] = [];
for (const [name, run] of benchmarks) {
  const t = performance.now();
  try {
    await run();
  } catch (error) {
    console.error(`${name} failed:`, error);
    failed.push(name);
  }
  progress(`${name}: ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
progress(`all benchmarks: ${((performance.now() - started) / 60_000).toFixed(1)} min`);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
