/**
 * Scale-out over Redis: the same signaling load (N clients in rooms of two, each pair in a call,
 * relaying one small message per pair every `interval` ms) against
 *
 * - `memory, 1 node`:   one Duet process, in-memory store (no Redis), as in bench/signaling.ts;
 * - `sharded, 1 node`:  one Duet process with Redis (DUET_REDIS_URL; the default adapter, sharded
 *                       pub/sub): what Redis costs when nothing crosses processes;
 * - `sharded, 2 nodes`: two Duet processes over one Redis, the two clients of every pair on
 *                       DIFFERENT processes, so every relay (and every invite, accept, presence
 *                       update) crosses Redis;
 * - `streams, 2 nodes`: the same with DUET_REDIS_ADAPTER=streams (extra row).
 *
 * Every setup has its own `redis-server` (our child, a free loopback port, no persistence), Duet
 * processes and 4 client processes (lib/signaling-worker.ts, as in bench/signaling.ts); pair i's
 * first client connects to node i mod 2, its second to node (i + 1) mod 2. By default the setups
 * are started one after the other and then all stay up, and their message windows take turns
 * (round 1 in order, round 2 reversed): each is measured under the same background, whatever else
 * the shared machine is doing (`--sequential`: one setup at a time). Measured from outside: each
 * Duet process's and Redis's CPU (/proc) during setup, idle and its windows, their RSS, and the
 * clients' relay latency (both ends of a pair are in one client process: one clock). From Duet's
 * /metrics: sockets, relayed messages and event-loop delay per process, and from its log every
 * warning and error; from Redis's INFO: commands per relayed message. See bench/README.md §4.
 *
 *   npx tsx bench/scale-out.ts --clients 5000 --window 10 --rounds 2 --interval 2000 [--no-streams] [--sequential] [--only TEXT]
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { arg, numberArg } from './lib/args.js';
import { cpuSeconds, duetLoadArgs, rssBytes, startDuet, type Server } from './lib/processes.js';
import { startRedis, type RedisServer } from './lib/redis.js';
import { BUILD_DIR, fmt, fmtRatio, machine, progress, publish, runIfMain, sparseRow } from './lib/report.js';
import { SignalingClients, protocolVersion } from './lib/signaling-clients.js';
import { relayLatency, relayLatencyColumns, type RelayLatency } from './lib/relay-latency.js';
import { p99PerSecond, percentile, ratio, round } from './lib/stats.js';

const SETTLE_MS = 5000;
const SETUP_TIMEOUT_MS = 90_000;
const MiB = 2 ** 20;
const WEB_DIST = fileURLToPath(new URL('../packages/web/dist/', import.meta.url));

interface Case {
  name: string;
  nodes: 1 | 2;
  /** null: no Redis, in-memory store. */
  adapter: 'sharded' | 'streams' | null;
}

const CASES: readonly Case[] = [
  { name: 'memory, 1 node', nodes: 1, adapter: null },
  { name: 'sharded, 1 node', nodes: 1, adapter: 'sharded' },
  { name: 'sharded, 2 nodes', nodes: 2, adapter: 'sharded' },
  { name: 'streams, 2 nodes', nodes: 2, adapter: 'streams' },
];

/**
 * Where a log line falls in a setup's life: start (processes starting), setup (clients joining and
 * calling), idle (connected, not measured: settling, or another setup's window), window (its own
 * message windows, +2 s), teardown (clients leaving, processes stopping).
 */
type Phase = 'start' | 'setup' | 'idle' | 'window' | 'teardown';

interface ProcessFigures {
  name: string;
  rssBaseMiB: number;
  rssIdleMiB: number;
  rssAfterLoadMiB: number;
  /** CPU, % of one core. */
  cpuSetupPct: number;
  cpuIdlePct: number;
  cpuLoadPct: number;
}

interface NodeFigures extends ProcessFigures {
  /** duet_sockets from its /metrics, with every client connected. */
  sockets: number;
  /** duet_relayed_messages_total during the window (messages this process relayed). */
  relayedInWindow: number;
  /** Its event loop's delay during the window (p99 and max, ms; prom-client, 10 ms resolution). */
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** Warnings and errors the process logged (pino level ≥ 40, or stderr), whole run. */
  problems: {
    count: number;
    byPhase: Partial<Record<Phase, number>>;
    /** "<pino level> <msg>[: <err.message>]" → how many. */
    kinds: Record<string, number>;
    first: string[];
  };
}

interface CaseResult extends RelayLatency {
  case: string;
  nodes: number;
  adapter: string | null;
  clients: number;
  connected: number;
  failed: number;
  firstError: string | null;
  setupSeconds: number;
  /** Message windows measured (rounds), and their total length with each one's drain. */
  windows: number;
  windowSeconds: number;
  sent: number;
  received: number;
  /** Messages delivered per second while they were sent (received ÷ Σ windows). */
  deliveredPerSecond: number;
  /** p99 of each window on its own: how much the rounds agree. */
  p99PerWindowMs: number[];
  nodeFigures: NodeFigures[];
  redis:
    | (ProcessFigures & {
        commandsInWindow: number;
        commandsPerMessage: number;
        /** Calls per command during the window (INFO commandstats), most first. */
        commandsByName: Record<string, number>;
        usedMemoryMiB: number;
      })
    | null;
  /** Sum over the Duet processes, and with Redis. */
  nodesCpuLoadPct: number;
  totalCpuLoadPct: number;
  /** (Σ node RSS idle − Σ node RSS before clients) ÷ connected. */
  rssPerClientKiB: number;
  clientCpuLoadPct: number;
  /**
   * Share of the window during which some runnable task on the machine waited for a CPU (Linux
   * PSI, "some"): near 100 % means every process here was also waiting its turn.
   */
  cpuPressurePct: number;
  /** Epoch ms: its setup, its windows, and when it began stopping (to place what it logged). */
  phases: { setup: [number, number]; windows: Array<[number, number]>; teardownFrom: number };
  /** When a node logged warnings: the end of Redis's log. */
  redisLogTail?: string[];
}

/** One Prometheus sample summed over its label sets (with Redis, every metric has a `node` label). */
async function scrape(
  server: Server,
): Promise<{ sockets: number; relayed: number; loopP99Ms: number; loopMaxMs: number }> {
  const text = await (
    await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(5000) })
  ).text();
  const sum = (name: string): number => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
      total += Number(m[1]);
    }
    return total;
  };
  // prom-client's event-loop delay histogram restarts at every scrape: these cover since the last one.
  return {
    sockets: sum('duet_sockets'),
    relayed: sum('duet_relayed_messages_total'),
    loopP99Ms: round(sum('duet_nodejs_eventloop_lag_p99_seconds') * 1000, 1),
    loopMaxMs: round(sum('duet_nodejs_eventloop_lag_max_seconds') * 1000, 1),
  };
}

/**
 * Until no node has a socket left and every node is quiet (under 10 % of a core over 300 ms: the
 * disconnect handling that follows, a script or two each with Redis, is done). Bounded: 15 s.
 */
async function drained(nodes: readonly Server[]): Promise<void> {
  const until = performance.now() + 15_000;
  while (performance.now() < until) {
    try {
      const left = (await Promise.all(nodes.map(scrape))).reduce((sum, m) => sum + m.sockets, 0);
      if (left === 0) {
        break;
      }
    } catch {
      return; // a node that does not answer is stopped anyway
    }
    await sleep(250);
  }
  while (performance.now() < until) {
    const before = nodes.map((n) => cpuSeconds(n.pid));
    await sleep(300);
    if (nodes.every((n, i) => cpuSeconds(n.pid) - before[i]! < 0.03)) {
      return;
    }
  }
}

/** `cmdstat_<name>: calls=N,…` of two INFO commandstats: calls in between, by command, most first. */
function commandCalls(before: Record<string, string>, after: Record<string, string>): Record<string, number> {
  const calls = (stats: Record<string, string>, key: string): number =>
    Number(/calls=(\d+)/.exec(stats[key] ?? '')?.[1] ?? 0);
  return Object.fromEntries(
    Object.keys(after)
      .filter((key) => key.startsWith('cmdstat_'))
      .map((key) => [key.slice('cmdstat_'.length), calls(after, key) - calls(before, key)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}

/** Linux CPU pressure (PSI): µs during which some runnable task waited for a CPU; NaN without PSI. */
function cpuPressureUs(): number {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** CPU seconds and RSS of a set of processes, sampled at the same moment. */
function sample(pids: readonly number[]): Array<{ cpu: number; rss: number }> {
  return pids.map((pid) => ({ cpu: cpuSeconds(pid), rss: rssBytes(pid) }));
}

/** One window of messages against one setup: what the clients timed, and every process's CPU. */
interface WindowSample {
  from: number;
  to: number;
  seconds: number;
  latenciesMs: number[];
  /** Send time of each latency, ms from the start of this window. */
  sentAtMs: number[];
  sent: number;
  /** CPU seconds of each process (nodes, then Redis) during the window. */
  cpu: number[];
  clientCpu: number;
  /** Seconds during which some task on the machine waited for a CPU (PSI "some"). */
  pressureSeconds: number;
  relayed: number[];
  loopP99Ms: number[];
  loopMaxMs: number[];
  redisCommands: number;
  redisCommandsByName: Record<string, number>;
}

/** One setup, up: its Redis, Duet processes and client processes, and what was measured so far. */
interface Running {
  c: Case;
  clients: number;
  redis: RedisServer | null;
  nodes: Server[];
  names: string[];
  /** Its client processes, once spawned. */
  fleet: SignalingClients | null;
  /** Epoch ms: when its clients started joining, were all set up, and it began stopping. */
  setupFrom: number;
  setupTo: number;
  teardownFrom: number;
  setupSeconds: number;
  ready: Array<{ connected: number; failed: number; firstError: string | null }>;
  base: Array<{ cpu: number; rss: number }>;
  afterSetup: Array<{ cpu: number; rss: number }>;
  idle: Array<{ cpu: number; rss: number }>;
  idleSeconds: number;
  idleSockets: number[];
  /** Redis's own count of the memory it uses (INFO memory), with every client connected. */
  redisUsedMiB: number;
  afterLoad: Array<{ cpu: number; rss: number }>;
  windows: WindowSample[];
}

function pidsOf(r: Running): number[] {
  return [...r.nodes.map((n) => n.pid), ...(r.redis ? [r.redis.pid] : [])];
}

/** Start one setup's Redis and Duet processes and its clients (all joined, all calls active). */
async function startSetup(
  c: Case,
  clients: number,
  windowMs: number,
  intervalMs: number,
  version: number,
  webDist: string,
): Promise<Running> {
  const r: Running = {
    c,
    clients,
    redis: null,
    nodes: [],
    names: ['node-a', 'node-b'].slice(0, c.nodes),
    fleet: null,
    setupFrom: NaN,
    setupTo: NaN,
    teardownFrom: NaN,
    setupSeconds: NaN,
    ready: [],
    base: [],
    afterSetup: [],
    idle: [],
    idleSeconds: NaN,
    idleSockets: [],
    redisUsedMiB: NaN,
    afterLoad: [],
    windows: [],
  };
  try {
    if (c.adapter) {
      r.redis = await startRedis();
    }
    const redis = r.redis;
    const starts = await Promise.allSettled(
      r.names.map((name) =>
        startDuet(duetLoadArgs(clients), {
          webDist,
          env: redis
            ? { DUET_REDIS_URL: redis.url, DUET_REDIS_ADAPTER: c.adapter!, DUET_NODE_NAME: name }
            : // Explicitly none, whatever the caller's environment says ('' counts as unset).
              { DUET_REDIS_URL: '' },
        }),
      ),
    );
    // Every node that did start is stopped, even if another one failed.
    for (const s of starts) {
      if (s.status === 'fulfilled') {
        r.nodes.push(s.value);
      }
    }
    const failedStart = starts.find((s) => s.status === 'rejected');
    if (failedStart) {
      throw failedStart.reason;
    }
    const fleet = (r.fleet = new SignalingClients(clients));
    await fleet.loaded();

    r.base = sample(pidsOf(r));
    r.setupFrom = Date.now();
    const setupStart = performance.now();
    const urls = r.nodes.map((n) => `http://127.0.0.1:${n.port}`);
    r.ready = await fleet.connect({
      system: 'duet',
      url: urls[0]!,
      nodes: urls,
      intervalMs,
      windowMs,
      setupTimeoutMs: SETUP_TIMEOUT_MS,
      concurrency: 50,
      protocolVersion: version,
    });
    r.setupSeconds = (performance.now() - setupStart) / 1000;
    r.afterSetup = sample(pidsOf(r));
    r.setupTo = Date.now();
    return r;
  } catch (error) {
    await stopSetup(r);
    throw error;
  }
}

/** Sample every running setup after the settle time: idle CPU and RSS with all clients connected. */
async function settle(running: readonly Running[]): Promise<void> {
  const from = performance.now();
  await sleep(SETTLE_MS);
  for (const r of running) {
    r.idle = sample(pidsOf(r));
    // Since the end of its own setup (the setups that started later set up meanwhile).
    r.idleSeconds = (Date.now() - r.setupTo) / 1000;
    r.idleSockets = (await Promise.all(r.nodes.map(scrape))).map((m) => m.sockets);
    r.redisUsedMiB = round(Number((await r.redis?.info('memory'))?.used_memory ?? NaN) / MiB, 1);
  }
  progress(`settled ${((performance.now() - from) / 1000).toFixed(1)} s`);
}

/** One message window against one setup (the others stay connected and idle meanwhile). */
async function measureWindow(r: Running): Promise<void> {
  const fleet = r.fleet!;
  const pids = pidsOf(r);
  const before = await Promise.all(r.nodes.map(scrape)); // also restarts the event-loop histograms
  const statsBefore = await r.redis?.info('stats');
  const commandsBefore = await r.redis?.info('commandstats');
  const cpuBefore = pids.map(cpuSeconds);
  const clientBefore = fleet.cpuSeconds();
  const pressureBefore = cpuPressureUs();
  const from = Date.now();
  const start = performance.now();
  const done = await fleet.measure();
  const seconds = (performance.now() - start) / 1000;
  const cpu = pids.map((pid, i) => cpuSeconds(pid) - cpuBefore[i]!);
  const pressureSeconds = (cpuPressureUs() - pressureBefore) / 1e6;
  const clientCpuSeconds = fleet.cpuSeconds() - clientBefore;
  const to = Date.now();
  r.afterLoad = sample(pids);
  const after = await Promise.all(r.nodes.map(scrape));
  const statsAfter = await r.redis?.info('stats');
  const commandsAfter = await r.redis?.info('commandstats');
  r.windows.push({
    from,
    to,
    seconds,
    latenciesMs: done.flatMap((x) => x.latenciesMs),
    sentAtMs: done.flatMap((x) => x.sentAtMs),
    sent: done.reduce((sum, x) => sum + x.sent, 0),
    cpu,
    clientCpu: clientCpuSeconds,
    pressureSeconds,
    relayed: after.map((m, i) => m.relayed - before[i]!.relayed),
    loopP99Ms: after.map((m) => m.loopP99Ms),
    loopMaxMs: after.map((m) => m.loopMaxMs),
    redisCommands:
      statsBefore && statsAfter
        ? Number(statsAfter.total_commands_processed) - Number(statsBefore.total_commands_processed)
        : NaN,
    redisCommandsByName: commandCalls(commandsBefore ?? {}, commandsAfter ?? {}),
  });
}

/** Clients first (their disconnects are part of Duet's normal work), then Duet, then Redis. */
async function stopSetup(r: Running): Promise<void> {
  r.teardownFrom = Date.now();
  await r.fleet?.stop();
  // Let the nodes finish handling those disconnects (with Redis, each is a script or two) before
  // they are told to stop, so what they log at teardown is about stopping, not about work cut off.
  await drained(r.nodes);
  await Promise.all(r.nodes.map((n) => n.stop()));
  await r.redis?.stop();
}

/** The figures of one setup over all its windows (latencies pooled, CPU summed over the windows). */
function summarizeSetup(r: Running, windowMs: number): CaseResult {
  const w = r.windows;
  const windowSeconds = w.reduce((sum, x) => sum + x.seconds, 0);
  const latencies = w.flatMap((x) => x.latenciesMs);
  // Per-second p99 over every window's seconds (second s of window k is one entry).
  const perSecond = w.flatMap((x) => p99PerSecond(x.latenciesMs, x.sentAtMs, windowMs));
  const sent = w.reduce((sum, x) => sum + x.sent, 0);
  const cpuPct = (i: number): number =>
    round((w.reduce((sum, x) => sum + x.cpu[i]!, 0) / windowSeconds) * 100);
  const figures = (i: number, name: string): ProcessFigures => ({
    name,
    rssBaseMiB: round(r.base[i]!.rss / MiB, 1),
    rssIdleMiB: round(r.idle[i]!.rss / MiB, 1),
    rssAfterLoadMiB: round(r.afterLoad[i]!.rss / MiB, 1),
    cpuSetupPct: round(((r.afterSetup[i]!.cpu - r.base[i]!.cpu) / r.setupSeconds) * 100),
    cpuIdlePct: round(((r.idle[i]!.cpu - r.afterSetup[i]!.cpu) / r.idleSeconds) * 100),
    cpuLoadPct: cpuPct(i),
  });
  const nodeFigures: NodeFigures[] = r.nodes.map((node, i) => {
    const p = node.problems();
    const byPhase: Partial<Record<Phase, number>> = {};
    for (const time of p.times) {
      const phase = phaseOf(r, time);
      byPhase[phase] = (byPhase[phase] ?? 0) + 1;
    }
    return {
      ...figures(i, r.names[i]!),
      sockets: r.idleSockets[i] ?? NaN,
      relayedInWindow: w.reduce((sum, x) => sum + x.relayed[i]!, 0),
      eventLoopP99Ms: Math.max(...w.map((x) => x.loopP99Ms[i]!)),
      eventLoopMaxMs: Math.max(...w.map((x) => x.loopMaxMs[i]!)),
      problems: { count: p.count, byPhase, kinds: p.kinds, first: p.first },
    };
  });
  const commandsInWindow = w.reduce((sum, x) => sum + x.redisCommands, 0);
  const commandsByName: Record<string, number> = {};
  for (const x of w) {
    for (const [name, n] of Object.entries(x.redisCommandsByName)) {
      commandsByName[name] = (commandsByName[name] ?? 0) + n;
    }
  }
  const redisFigures = r.redis
    ? {
        ...figures(r.nodes.length, `redis ${r.redis.version}`),
        commandsInWindow,
        commandsPerMessage: round(commandsInWindow / Math.max(1, latencies.length), 1),
        commandsByName: Object.fromEntries(Object.entries(commandsByName).sort((a, b) => b[1] - a[1])),
        usedMemoryMiB: r.redisUsedMiB,
      }
    : null;
  const nodesCpuLoadPct = round(nodeFigures.reduce((sum, n) => sum + n.cpuLoadPct, 0));
  const connected = r.ready.reduce((sum, x) => sum + x.connected, 0);
  const rssGrowth = r.nodes.reduce((sum, _, i) => sum + r.idle[i]!.rss - r.base[i]!.rss, 0);
  const result: CaseResult = {
    case: r.c.name,
    nodes: r.c.nodes,
    adapter: r.c.adapter,
    clients: r.clients,
    connected,
    failed: r.ready.reduce((sum, x) => sum + x.failed, 0),
    firstError: r.ready.find((x) => x.firstError)?.firstError ?? null,
    setupSeconds: round(r.setupSeconds, 1),
    windows: w.length,
    windowSeconds: round(windowSeconds, 1),
    sent,
    received: latencies.length,
    // Over the time messages were sent (each window's drain excluded).
    deliveredPerSecond: round(latencies.length / (w.length * (windowMs / 1000))),
    ...relayLatency(latencies, perSecond),
    p99PerWindowMs: w.map((x) => round(percentile(x.latenciesMs, 99), 1)),
    nodeFigures,
    redis: redisFigures,
    nodesCpuLoadPct,
    totalCpuLoadPct: round(nodesCpuLoadPct + (redisFigures?.cpuLoadPct ?? 0)),
    rssPerClientKiB: connected > 0 ? round(rssGrowth / 1024 / connected, 1) : NaN,
    clientCpuLoadPct: round((w.reduce((sum, x) => sum + x.clientCpu, 0) / windowSeconds) * 100),
    cpuPressurePct: round((w.reduce((sum, x) => sum + x.pressureSeconds, 0) / windowSeconds) * 100),
    phases: {
      setup: [r.setupFrom, r.setupTo],
      windows: w.map((x) => [x.from, x.to]),
      teardownFrom: r.teardownFrom,
    },
  };
  if (r.redis && nodeFigures.some((n) => n.problems.count > 0)) {
    result.redisLogTail = r.redis.log().split('\n').slice(-15);
  }
  return result;
}

/** Which part of a setup's life an epoch-ms time falls in. */
function phaseOf(r: Running, time: number): Phase {
  if (time >= r.teardownFrom) {
    return 'teardown';
  }
  if (r.windows.some((x) => time >= x.from && time <= x.to + 2000)) {
    return 'window';
  }
  if (time >= r.setupTo) {
    return 'idle';
  }
  if (time >= r.setupFrom) {
    return 'setup';
  }
  return 'start';
}

/**
 * Duet serves its web app (no client here loads it, but the server wants one): one copy for the
 * whole run, taken once `packages/web/dist` is complete, so a rebuild elsewhere in this working
 * tree (vite empties dist/ first) cannot fail a case halfway. Waits for such a rebuild (bounded).
 */
async function snapshotWebDist(): Promise<string> {
  const copy = `${BUILD_DIR}scale-out-web-${process.pid}/`;
  for (let i = 0; i < 60 && !existsSync(`${WEB_DIST}index.html`); i++) {
    await sleep(500);
  }
  await sleep(500); // a build that just wrote index.html may still be writing assets
  cpSync(WEB_DIST, copy, { recursive: true });
  if (!existsSync(`${copy}index.html`)) {
    throw new Error('Duet is not built: run `npm run build` first.');
  }
  return copy;
}

export interface ScaleOutOptions {
  clients?: number;
  windowSeconds?: number;
  intervalMs?: number;
  /** Also the Streams adapter with two nodes (default on). */
  streams?: boolean;
  /** Message windows per setup (default 2). */
  rounds?: number;
  /** One setup at a time (start, settle, its windows, stop) instead of all up at once, interleaved. */
  sequential?: boolean;
}

export async function main(options: ScaleOutOptions = {}): Promise<void> {
  const clients = options.clients ?? numberArg('--clients', 5000);
  const windowMs = (options.windowSeconds ?? numberArg('--window', 10)) * 1000;
  const intervalMs = options.intervalMs ?? numberArg('--interval', 2000);
  const streams = options.streams ?? !process.argv.includes('--no-streams');
  // --only <text>: just the cases whose name contains it (e.g. "2 nodes"); for investigating.
  const only = arg('--only', '');
  const rounds = options.rounds ?? numberArg('--rounds', 2);
  const sequential = options.sequential ?? process.argv.includes('--sequential');
  const cases = CASES.filter((c) => (streams || c.adapter !== 'streams') && c.name.includes(only));
  const info = machine();
  info.chromium = null;
  const version = await protocolVersion();
  progress(
    `scale-out: ${clients} clients × ${cases.map((c) => c.name).join(' / ')}; ${rounds} × ${windowMs / 1000} s windows ` +
      `${sequential ? 'one setup after the other' : 'interleaved, every setup up at once'}, one message per pair every ${intervalMs} ms`,
  );
  const started = Date.now();
  const webDist = await snapshotWebDist();
  const all: CaseResult[] = [];
  const report = (r: CaseResult): void => {
    const warned = r.nodeFigures.reduce((sum, n) => sum + n.problems.count, 0);
    progress(
      `${r.case.padEnd(17)} ${r.connected} connected in ${r.setupSeconds} s` +
        `${r.failed ? ` (${r.failed} failed: ${r.firstError})` : ''}; sockets ${r.nodeFigures.map((n) => n.sockets).join('+')}; ` +
        `cpu ${r.nodeFigures.map((n) => n.cpuLoadPct).join('+')}%${r.redis ? ` + redis ${r.redis.cpuLoadPct}%` : ''}; ` +
        `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.received}/${r.sent}, ${r.windows} windows)${warned ? `; ${warned} warnings logged` : ''}`,
    );
  };
  /** Windows of one setup, `rounds` times (sequential mode), or one (interleaved: called per round). */
  const broken = new Set<Running>();
  const window = async (r: Running): Promise<void> => {
    if (broken.has(r)) {
      return;
    }
    try {
      await measureWindow(r);
      const x = r.windows.at(-1)!;
      progress(
        `  window ${r.windows.length} of ${r.c.name}: p50 ${round(percentile(x.latenciesMs, 50), 2)} ms, ` +
          `p99 ${round(percentile(x.latenciesMs, 99), 1)} ms (${x.latenciesMs.length}/${x.sent}), ` +
          `CPU pressure ${round((x.pressureSeconds / x.seconds) * 100)}%`,
      );
    } catch (error) {
      broken.add(r);
      progress(`${r.c.name} window FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const start = async (c: Case): Promise<Running | null> => {
    try {
      const r = await startSetup(c, clients, windowMs, intervalMs, version, webDist);
      progress(
        `${c.name}: ${r.ready.reduce((sum, x) => sum + x.connected, 0)} connected in ${r.setupSeconds.toFixed(1)} s`,
      );
      return r;
    } catch (error) {
      progress(`${c.name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  };
  const finish = async (r: Running): Promise<void> => {
    try {
      await stopSetup(r);
    } catch (error) {
      progress(`${r.c.name}: stopping failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const summarize = (r: Running): void => {
    if (r.windows.length === 0) {
      return;
    }
    const x = summarizeSetup(r, windowMs);
    all.push(x);
    report(x);
  };
  if (sequential) {
    for (const c of cases) {
      const r = await start(c);
      if (!r) {
        continue;
      }
      try {
        await settle([r]);
        for (let round = 0; round < rounds; round++) {
          await window(r);
        }
      } finally {
        await finish(r);
      }
      summarize(r);
    }
  } else {
    // Every setup up at once (idle but for its own windows), the windows taking turns: each setup is
    // measured under the same background, whatever else the machine is doing meanwhile.
    const running: Running[] = [];
    try {
      for (const c of cases) {
        const r = await start(c);
        if (r) {
          running.push(r);
        }
      }
      await settle(running);
      for (let round = 0; round < rounds; round++) {
        for (const r of round % 2 === 0 ? running : [...running].reverse()) {
          await window(r);
        }
      }
    } finally {
      for (const r of [...running].reverse()) {
        await finish(r);
      }
    }
    for (const r of running) {
      summarize(r);
    }
  }
  rmSync(webDist, { recursive: true, force: true });

  const get = (name: string): CaseResult | undefined => all.find((r) => r.case === name);
  const memory = get('memory, 1 node');
  const headers = [
    'setup',
    'clients',
    'connected',
    'setup s',
    'msg/s delivered',
    ...relayLatencyColumns.headers,
    'Duet CPU % relay (per node)',
    'Redis CPU % relay',
    'Redis cmds/msg',
    'Duet RSS idle MiB (per node)',
    'KiB/client',
    'Redis RSS MiB',
    'client CPU %',
    'CPU pressure %',
  ];
  const rows: string[][] = [];
  for (const c of cases) {
    const x = get(c.name);
    if (!x) {
      rows.push(sparseRow(headers, c.name, { clients: String(clients), connected: 'failed' }));
      continue;
    }
    rows.push([
      c.name,
      String(x.clients),
      `${x.connected}${x.failed ? ` (−${x.failed})` : ''}`,
      fmt(x.setupSeconds, 1),
      `${fmt(x.deliveredPerSecond)}${x.received < x.sent ? ` of ${fmt(x.sent / ((x.windows * windowMs) / 1000))}` : ''}`,
      ...relayLatencyColumns.cells(x),
      x.nodeFigures.length > 1
        ? `${fmt(x.nodesCpuLoadPct)} (${x.nodeFigures.map((n) => fmt(n.cpuLoadPct)).join(' + ')})`
        : fmt(x.nodesCpuLoadPct),
      x.redis ? fmt(x.redis.cpuLoadPct) : '—',
      x.redis ? fmt(x.redis.commandsPerMessage, 1) : '—',
      x.nodeFigures.map((n) => fmt(n.rssIdleMiB)).join(' + '),
      fmt(x.rssPerClientKiB, 1),
      x.redis ? fmt(x.redis.rssIdleMiB) : '—',
      fmt(x.clientCpuLoadPct),
      fmt(x.cpuPressurePct),
    ]);
  }
  // Each setup against the one in-memory process: Duet and Redis together, what the same work costs.
  const vsMemory = (x: CaseResult): string[] =>
    sparseRow(headers, `${x.case} ÷ memory`, {
      ...relayLatencyColumns.ratios(x, memory),
      'Duet CPU % relay (per node)': `${fmtRatio(ratio(x.totalCpuLoadPct, memory?.totalCpuLoadPct ?? NaN))} (+Redis)`,
      'KiB/client': fmtRatio(ratio(x.rssPerClientKiB, memory?.rssPerClientKiB ?? NaN)),
    });
  for (const c of cases.slice(1)) {
    const x = get(c.name);
    if (x && memory) {
      rows.push(vsMemory(x));
    }
  }

  const twoNodes = get('sharded, 2 nodes');
  /** A figure of every setup, and the two-node setup's ratio to the in-memory one. */
  const versusMemory = (
    key: 'p99Ms' | 'p50Ms' | 'totalCpuLoadPct',
    text: { label: string; short: string; unit: string },
  ) => ({
    ...text,
    better: 'lower',
    memory: memory?.[key] ?? null,
    shardedOneNode: get('sharded, 1 node')?.[key] ?? null,
    shardedTwoNodes: twoNodes?.[key] ?? null,
    streamsTwoNodes: get('streams, 2 nodes')?.[key] ?? null,
    ratio_vs_memory: ratio(twoNodes?.[key] ?? NaN, memory?.[key] ?? NaN),
  });
  const k = `${clients / 1000}k`;
  const metrics = {
    relayP99TwoNodes: versusMemory('p99Ms', {
      label: `Relay latency p99, ${k} clients, 2 nodes over Redis vs 1 in-memory node`,
      short: `Relay latency p99, ${k}, 2 nodes`,
      unit: 'ms',
    }),
    relayP50TwoNodes: versusMemory('p50Ms', {
      label: `Relay latency p50, ${k} clients, 2 nodes over Redis vs 1 in-memory node`,
      short: `Relay latency p50, ${k}, 2 nodes`,
      unit: 'ms',
    }),
    cpuTwoNodes: versusMemory('totalCpuLoadPct', {
      label: `Server CPU while relaying (Duet processes + Redis), ${k} clients`,
      short: `CPU relaying (Duet + Redis), ${k}, 2 nodes`,
      unit: '% of a core',
    }),
  };
  const notes: string[] = [];
  for (const x of all) {
    const parts = x.nodeFigures.map(
      (n) =>
        `${n.name}: ${n.sockets} sockets, relayed ${n.relayedInWindow}, event loop p99/max ${n.eventLoopP99Ms}/${n.eventLoopMaxMs} ms, cpu setup/idle/relay ` +
        `${n.cpuSetupPct}/${n.cpuIdlePct}/${n.cpuLoadPct}%, RSS ${n.rssBaseMiB}→${n.rssIdleMiB}→${n.rssAfterLoadMiB} MiB, ` +
        `${n.problems.count} warnings ${JSON.stringify(n.problems.byPhase)} ${JSON.stringify(n.problems.kinds)}`,
    );
    if (x.redis) {
      parts.push(
        `redis: cpu setup/idle/relay ${x.redis.cpuSetupPct}/${x.redis.cpuIdlePct}/${x.redis.cpuLoadPct}%, ` +
          `RSS ${x.redis.rssBaseMiB}→${x.redis.rssIdleMiB} MiB (used ${x.redis.usedMemoryMiB}), ${x.redis.commandsInWindow} commands in the window ` +
          JSON.stringify(x.redis.commandsByName),
      );
    }
    notes.push(`${x.case}: ${parts.join('; ')}`);
    for (const n of x.nodeFigures) {
      for (const line of n.problems.first.slice(0, 5)) {
        notes.push(`  ${n.name}: ${line}`);
      }
    }
  }
  await publish(
    'scale-out',
    { started, machine: info },
    {
      config: {
        clients,
        windowSeconds: windowMs / 1000,
        intervalMs,
        clientProcesses: SignalingClients.PROCESSES,
        settleMs: SETTLE_MS,
        cases: cases.map((c) => c.name),
        placement:
          "pair i: first client on node i mod 2, second on node (i+1) mod 2 (with 2 nodes the two parties of every call are on different processes); the caller's side alternates between the nodes",
        transport: 'WebSocket only, loopback',
        duetFlags:
          '--max-connections-per-ip N+100, --shutdown-timeout-ms 2000 (teardown only); with Redis DUET_REDIS_URL, DUET_REDIS_ADAPTER, DUET_NODE_NAME; else defaults (log level info, node timeout 5 s)',
        redis:
          "a fresh redis-server per case on a free loopback port: --bind 127.0.0.1 --save '' --appendonly no",
        message: 'one ICE candidate (~120 bytes of JSON) per pair every interval, alternating direction',
      },
      metrics,
      results: all,
    },
    [
      {
        title:
          `Scale-out — ${clients} clients in rooms of two, one message per pair every ${intervalMs} ms; ` +
          `2 nodes: the two parties of every call on different processes`,
        headers,
        rows,
      },
    ],
    notes,
  );
  if (!memory || !twoNodes) {
    throw new Error('the in-memory or the two-node run failed');
  }
}

runIfMain(import.meta.url, () => main());
