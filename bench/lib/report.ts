import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { CHROMIUM_PATH } from '../../e2e/browsers.js';
import { renderChart } from './chart.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
/**
 * Transpiled baseline servers and CPU profiles: rewritten by every run, never committed. Under
 * node_modules so that the baselines resolve their packages from there (and no tool lints them).
 */
export const BUILD_DIR = fileURLToPath(new URL('../../node_modules/.cache/duet-bench/', import.meta.url));

/** Remove what earlier runs left in BUILD_DIR under a process id that is gone (`…-<pid>` folders). */
function cleanStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(BUILD_DIR);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(/-(\d+)(?:-\d+)?$/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) {
      continue;
    }
    try {
      process.kill(pid, 0); // still running: leave it
    } catch {
      rmSync(`${BUILD_DIR}${entry}`, { recursive: true, force: true });
    }
  }
}
cleanStale();

export interface Machine {
  cpus: number;
  model: string;
  memoryGiB: number;
  os: string;
  node: string;
  chromium: string | null;
  /** 1-minute load average when the benchmark started and ended: other work on the machine skews figures. */
  loadavg: { start: number; end: number | null };
}

let chromiumVersion: string | null | undefined;

function chromium(): string | null {
  if (chromiumVersion !== undefined) {
    return chromiumVersion;
  }
  try {
    const out = execFileSync(CHROMIUM_PATH, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    chromiumVersion = /Chromium\s+([\d.]+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    chromiumVersion = null;
  }
  return chromiumVersion;
}

/** What the figures were measured on. Call at the start; `finish` fills in the closing load average. */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    chromium: chromium(),
    loadavg: { start: round2(os.loadavg()[0] ?? 0), end: null },
  };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** One line naming the machine, for tables and the README. */
export function machineLine(m: Machine): string {
  return (
    `${m.cpus} × ${m.model}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}` +
    (m.chromium ? `, Chromium ${m.chromium}` : '') +
    `, load ${m.loadavg.start}→${m.loadavg.end ?? '?'}`
  );
}

/** Left-aligned first column, right-aligned numbers. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same rows as a Markdown table (for the README). */
export function markdownTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join(
    '\n',
  );
}

export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return value.toFixed(digits);
}

export function fmtRatio(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value.toFixed(2)}×`;
}

/**
 * A row that names itself in the first column and fills only the columns named in `cells` (by
 * header), the rest blank: ratio rows under a table, a run that failed.
 */
export function sparseRow(
  headers: readonly string[],
  label: string,
  cells: Readonly<Record<string, string>> = {},
): string[] {
  return [label, ...headers.slice(1).map((header) => cells[header] ?? '')];
}

/** One table of a benchmark's report: printed under `title`; in the README after `caption`, if any. */
export interface ReportTable {
  title: string;
  caption?: string;
  headers: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
}

/**
 * How every benchmark ends: `bench/results/<benchmark>.json` written (the `figures`, with when, on
 * what machine and how long it took, and the tables as Markdown for the README), then on stdout the
 * tables, the `notes`, the machine and the file, and last one line of JSON with the metrics.
 */
export async function publish(
  benchmark: string,
  run: { started: number; machine: Machine },
  figures: { metrics: unknown } & Record<string, unknown>,
  tables: readonly ReportTable[],
  notes: readonly string[] = [],
): Promise<void> {
  const markdown = tables.flatMap((t) => [
    ...(t.caption ? [t.caption] : []),
    markdownTable(t.headers, t.rows),
  ]);
  const file = await writeResult(benchmark, {
    benchmark,
    timestamp: new Date().toISOString(),
    machine: run.machine,
    durationSeconds: Math.round((Date.now() - run.started) / 1000),
    ...figures,
    markdown: markdown.join('\n\n'),
  });
  for (const t of tables) {
    console.log(`\n${t.title}\n\n${table(t.headers, t.rows)}`);
  }
  for (const note of notes) {
    console.log(note);
  }
  console.log(`\n${machineLine(run.machine)}\n${file}`);
  console.log(JSON.stringify({ benchmark, metrics: figures.metrics }));
}

/**
 * Write `bench/results/<name>.json` (and redraw the chart from every result present). The file is
 * the latest run only: results are small and meant to be committed.
 */
export async function writeResult(
  name: string,
  result: { machine: Machine } & Record<string, unknown>,
): Promise<string> {
  result.machine.loadavg.end = round2(os.loadavg()[0] ?? 0);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${name}.json`;
  await writeFormatted(file, JSON.stringify(result));
  const all = readResults();
  writeFileSync(`${RESULTS_DIR}chart.svg`, renderChart(all));
  const section = performanceSection(all);
  await writeFormatted(`${RESULTS_DIR}performance.md`, section);
  await updateReadme(section);
  return file;
}

const README = new URL('../../README.md', import.meta.url);
const README_START = '<!-- performance:start (written by bench/, see bench/lib/report.ts) -->';
const README_END = '<!-- performance:end -->';

/** The README's Performance section is the latest performance.md, between its two markers. */
async function updateReadme(section: string): Promise<void> {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) {
    return;
  }
  const next = `${readme.slice(0, start + README_START.length)}\n\n${section.trim()}\n\n${readme.slice(end)}`;
  await writeFormatted(fileURLToPath(README), next);
}

/** Written as the repository's Prettier settings format it, so `npm run check` stays green. */
async function writeFormatted(file: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

interface Summarized {
  timestamp: string;
  machine: Machine;
  markdown: string;
  durationSeconds: number;
}

const SECTIONS: Array<{ name: string; title: string; command: string; image?: string }> = [
  {
    name: 'call-setup',
    title:
      "Call setup: callee's Accept → data channel open / first decoded remote video frame, both sides (ms)",
    command: 'npm run bench:call',
  },
  {
    name: 'file-transfer',
    title:
      "File transfer: 200 MiB in an audio-only call, then in a video call with Duet driven through its UI; receiver's accept → both sides done (MB/s)",
    command: 'npm run bench:transfer',
  },
  {
    name: 'signaling',
    title: 'Signaling server: N clients in rooms of two, memory, CPU and relay latency',
    command: 'npm run bench:signaling',
  },
  {
    name: 'scale-out',
    title:
      'Scale-out over Redis: N clients in rooms of two, one in-memory Duet process vs one and two processes sharing a Redis (with two, the parties of every call on different processes)',
    command: 'npm run bench:scale',
  },
  {
    name: 'soak',
    title:
      'Soak: hundreds of calls in a row between the same two pages (call, chat, 1 MiB file, hang up): memory, peer connections, setup time',
    command: 'npm run bench:soak',
    image: '![Soak: heap after GC over calls](bench/results/soak.svg)',
  },
];

/**
 * The README's Performance section, regenerated from the latest results (bench/results/performance.md):
 * tables, machine, and the commands that produce them.
 */
export function performanceSection(results: Record<string, unknown>): string {
  const parts = [
    '## Performance',
    '',
    'Every figure is a ratio against baselines measured side by side, in the same run on the same machine:',
    'a minimal tutorial implementation ("raw": getUserMedia, offer/answer and trickle ICE over a bare',
    'Socket.IO relay; plain `RTCDataChannel` sends) and PeerJS 1.5 with its own server. How each is',
    'measured, and the caveats: [bench/README.md](bench/README.md).',
    '',
    '![Duet ÷ baseline](bench/results/chart.svg)',
    '',
  ];
  for (const section of SECTIONS) {
    const r = results[section.name] as Summarized | undefined;
    if (!r) {
      continue;
    }
    parts.push(
      `### ${section.title}`,
      '',
      r.markdown,
      '',
      ...(section.image ? [section.image, ''] : []),
      `<sub>${r.timestamp.slice(0, 16).replace('T', ' ')} UTC · ${machineLine(r.machine)} · ` +
        `\`${section.command}\` (${r.durationSeconds} s)</sub>`,
      '',
    );
  }
  parts.push(
    "Reproduce (from a clean clone; needs Debian's `chromium`, which the script installs when run as root):",
    '',
    '```sh',
    'npm ci',
    'npm run bench              # all four; writes bench/results/*.json, chart.svg and this section',
    'npm run bench:call         # or one at a time',
    'npm run bench:transfer',
    'npm run bench:signaling',
    'npm run bench:scale        # needs redis-server (Debian: apt-get install redis-server)',
    'npm run bench:soak         # not part of npm run bench: 300 calls in a row, heaps over calls in bench/results/soak.svg',
    '```',
    '',
  );
  return parts.join('\n');
}

/** Every result file present, by benchmark name. */
export function readResults(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of SECTIONS.map((section) => section.name)) {
    try {
      out[name] = JSON.parse(readFileSync(`${RESULTS_DIR}${name}.json`, 'utf8'));
    } catch {
      // Not run yet.
    }
  }
  return out;
}

/** A log line with the time since the process started, to stderr (stdout carries tables and JSON). */
export function progress(message: string): void {
  process.stderr.write(`[${(performance.now() / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

/** Run a benchmark's `main` when its module is the script node started (not when run-all imports it). */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== `file://${process.argv[1]}`) {
    return;
  }
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/** A system with no successful run makes the benchmark fail, with the first errors shown. */
export function requireSuccess(
  failed: readonly string[],
  runs: ReadonlyArray<{ system: string; run: number; error?: string | null }>,
): void {
  if (failed.length === 0) {
    return;
  }
  for (const r of runs.filter((x) => x.error).slice(0, 3)) {
    console.error(`${r.system} run ${r.run}: ${r.error}`);
  }
  throw new Error(`no successful run for ${failed.join(', ')}`);
}
