import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BUILD_DIR } from './report.js';
import { transpileFile } from './transpile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DUET_MAIN = `${ROOT}packages/server/dist/main.js`;
const WEB_DIST = `${ROOT}packages/web/dist/`;
const DUET_LISTENING = /^Duet is listening on http:\/\/127\.0\.0\.1:(\d+)\/?$/;
/** What the baseline servers in bench/baselines print once they listen. */
const BASELINE_LISTENING = /^listening on (\d+)$/;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Every child process we start, until it exits: if the benchmark dies (an exception, Ctrl-C), they
 * are killed with it instead of lingering on the machine. Only our own children, by pid.
 */
const children = new Set<ChildProcess>();

export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

function killChildren(): void {
  for (const child of children) {
    child.kill('SIGKILL');
  }
}

process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/** A server under test in a child process of ours, on a free loopback port. */
export interface Server {
  readonly name: string;
  readonly port: number;
  /** http://localhost:PORT — localhost, so pages are a secure context. */
  readonly origin: string;
  readonly pid: number;
  log(): string;
  /**
   * Every warning or error it logged (pino level ≥ 40, and anything on stderr): how many, the
   * first few lines, and when (epoch ms: pino's `time`, else when we read the line; bounded), to
   * report trouble under load.
   */
  problems(): { count: number; first: string[]; times: number[]; kinds: Record<string, number> };
  stop(): Promise<void>;
}

/**
 * Duet's flags for a load of `clients` signaling clients from this one machine: the per-IP limit
 * (default 20; every client here is 127.0.0.1) above N. A short shutdown bound only makes teardown
 * quicker (and lets a profiled server exit in time).
 */
export function duetLoadArgs(clients: number): string[] {
  return ['--max-connections-per-ip', String(clients + 100), '--shutdown-timeout-ms', '2000'];
}

/**
 * Start the built Duet server: `node packages/server/dist/main.js --host 127.0.0.1 --port 0 …`.
 * `npm run build` must have run (the bench scripts do that first).
 */
export function startDuet(
  extraArgs: readonly string[] = [],
  options: {
    env?: Record<string, string>;
    corePages?: Record<string, string>;
    /** Serve another build of the web app (e.g. one with source maps, for a profile). */
    webDist?: string;
    /** Options for `node` itself (e.g. `--cpu-prof`), before the script. */
    nodeArgs?: readonly string[];
  } = {},
): Promise<Server> {
  const webDist = options.webDist ?? WEB_DIST;
  if (!existsSync(DUET_MAIN) || !existsSync(`${webDist}index.html`)) {
    throw new Error('Duet is not built: run `npm run build` first (the npm run bench* scripts do).');
  }
  // Serve a copy of the built app: a rebuild in this working tree (vite empties dist/ first) must
  // not pull the pages from under a running benchmark.
  const webRoot = `${BUILD_DIR}web-${process.pid}-${++duetCount}/`;
  cpSync(webDist, webRoot, { recursive: true });
  // The diagnostic pages (bench/lib/duet-core.ts), served at /<variant>/ by the same server.
  for (const [path, dir] of Object.entries(options.corePages ?? {})) {
    cpSync(dir, `${webRoot}${path}/`, { recursive: true });
  }
  const started = startNode(
    'duet',
    DUET_MAIN,
    // The benchmarks join rooms by plain name: open rooms, as before private rooms were the default.
    ['--host', '127.0.0.1', '--port', '0', '--web-root', webRoot, '--open-rooms', 'true', ...extraArgs],
    (line) => {
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        return typeof msg === 'string' ? DUET_LISTENING.exec(msg)?.[1] : undefined;
      } catch {
        return undefined;
      }
    },
    options.env ?? {},
    options.nodeArgs ?? [],
  );
  const removeCopy = (): void => rmSync(webRoot, { recursive: true, force: true });
  return started.then(
    (server) => ({ ...server, stop: () => server.stop().finally(removeCopy) }),
    (error: unknown) => {
      removeCopy();
      throw error;
    },
  );
}

let duetCount = 0;

/**
 * Start a baseline server written in TypeScript (bench/baselines/*.ts). It is transpiled to plain
 * JavaScript first and run with plain `node`, so no TypeScript loader sits in the process whose
 * memory we measure. It must print `listening on PORT` once it listens.
 */
export function startBaseline(
  source: string,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Promise<Server> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const out = `${BUILD_DIR}${basename(source).replace(/\.ts$/, '.mjs')}`;
  writeFileSync(out, transpileFile(source));
  return startNode(
    basename(source, '.ts'),
    out,
    args,
    (line) => BASELINE_LISTENING.exec(line)?.[1],
    {},
    nodeArgs,
  );
}

function startNode(
  name: string,
  script: string,
  args: readonly string[],
  portOf: (line: string) => string | undefined,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  // Keep the start of the log and the latest lines: enough to explain a failure, bounded in memory.
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > 400) {
      lines.splice(100, lines.length - 300);
    }
  };
  const problems = {
    count: 0,
    first: [] as string[],
    times: [] as number[],
    /** By kind: "<level> <msg>[: <err.message>]" → how many. */
    kinds: {} as Record<string, number>,
  };
  const problem = (line: string): void => {
    problems.count++;
    let kind = line.slice(0, 120);
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      kind = `${entry.level ?? '?'} ${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
    } catch {
      // not JSON (stderr): its start is its kind
    }
    problems.kinds[kind] = (problems.kinds[kind] ?? 0) + 1;
    if (problems.first.length < 20) {
      problems.first.push(line.slice(0, 2000));
    }
    const time = Number(/"time":(\d+)/.exec(line)?.[1] ?? Date.now());
    if (problems.times.length < 100_000) {
      problems.times.push(time);
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not listen within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${lines.join('\n')}`));
    };
    let listening = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      const level = /^\{"level":(\d+)/.exec(line)?.[1];
      if (level !== undefined && Number(level) >= 40) {
        problem(line);
      }
      const port = listening ? undefined : portOf(line);
      if (port === undefined) {
        return;
      }
      listening = true;
      clearTimeout(timer);
      resolve({
        name,
        port: Number(port),
        origin: `http://localhost:${port}`,
        pid: child.pid!,
        log: () => lines.join('\n'),
        problems: () => ({
          count: problems.count,
          first: [...problems.first],
          times: [...problems.times],
          kinds: { ...problems.kinds },
        }),
        stop: () => stopProcess(child, exited),
      });
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      keep(`[stderr] ${line}`);
      problem(`[stderr] ${line}`);
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      if (!listening) {
        fail(new Error(`${name} exited early (${code ?? signal})`));
      }
    });
  });
}

/** SIGTERM, then SIGKILL after a bound. Only ever our own child. */
export async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) {
    throw new Error(`no VmRSS for ${pid}`);
  }
  return Number(kb) * 1024;
}

/** CPU time (user + system) a process has used so far, in seconds (Linux /proc, USER_HZ = 100). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100;
}
