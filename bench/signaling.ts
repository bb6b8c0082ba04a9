/**
 * Signaling server under load: N concurrent clients (1k, 5k, 10k) in rooms of two, against
 *
 * - duet:   the real server (`packages/server/dist/main.js`), one process, in-memory store; each pair
 *           joins a room and is put in a call (Duet relays only within an active call);
 * - raw:    the tutorial Socket.IO relay (bench/baselines/raw-relay.ts);
 * - peerjs: peerjs-server 1.x (`peer`, bench/baselines/peer-server.ts), clients on its WebSocket.
 *
 * For each system and N, a fresh server process; the clients live in 4 child processes (a process
 * holds at most ~19k sockets here), all over loopback, WebSocket transport. Measured from outside:
 * the server's resident memory (before clients, and idle with N clients → per client) and CPU time
 * (during setup, idle, and the message window); then for `window` seconds every pair relays one
 * small message (an ICE candidate) every `interval` ms, alternating direction, and the clients time
 * each relay (both ends of a pair are in one process: one clock).
 *
 * Duet needs two settings for this to be possible from one machine: `--max-connections-per-ip`
 * (default 20, every client here is 127.0.0.1). PeerJS needs `concurrent_limit` raised (default
 * 5000). Nothing else is changed from the defaults.
 *
 *   npm run bench:signaling            (builds first)
 *   npx tsx bench/signaling.ts --clients 1000,5000,10000 --window 10 --interval 2000
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { arg, numberArg } from './lib/args.js';
import {
  cpuSeconds,
  duetLoadArgs,
  rssBytes,
  startBaseline,
  startDuet,
  type Server,
} from './lib/processes.js';
import { BUILD_DIR, fmt, fmtRatio, machine, progress, publish, runIfMain, sparseRow } from './lib/report.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './lib/profile.js';
import { SignalingClients, protocolVersion } from './lib/signaling-clients.js';
import { relayLatency, relayLatencyColumns, type RelayLatency } from './lib/relay-latency.js';
import { p99PerSecond, ratio, round } from './lib/stats.js';

const SYSTEMS = ['duet', 'raw', 'peerjs'] as const;
type System = (typeof SYSTEMS)[number];

const SETTLE_MS = 5000;
const SETUP_TIMEOUT_MS = 120_000;

interface LoadResult extends RelayLatency {
  system: System;
  clients: number;
  connected: number;
  failed: number;
  firstError: string | null;
  setupSeconds: number;
  rssBaseMiB: number;
  rssIdleMiB: number;
  /** (idle RSS − RSS before any client) ÷ connected clients. */
  rssPerClientKiB: number;
  rssAfterLoadMiB: number;
  /** Server CPU, % of one core. */
  cpuSetupPct: number;
  cpuIdlePct: number;
  cpuLoadPct: number;
  /** The client processes' CPU during the window, % of one core (they share the two cores). */
  clientCpuLoadPct: number;
  messagesPerSecond: number;
  /** Duet only, from its /metrics: V8 heap per client, and GC time during the message window. */
  duet?: {
    heapUsedBaseMiB: number;
    heapUsedIdleMiB: number;
    heapPerClientKiB: number;
    externalPerClientKiB: number;
    gcMsInWindow: Record<string, number>;
  };
  /** The message window on CLOCK_MONOTONIC (µs), to cut a server CPU profile to it. */
  window: { fromUs: number; toUs: number };
  sent: number;
  received: number;
}

function startServer(system: System, clients: number, nodeArgs: readonly string[] = []): Promise<Server> {
  if (system === 'duet') {
    return startDuet(duetLoadArgs(clients), { nodeArgs });
  }
  if (system === 'raw') {
    return startBaseline('bench/baselines/raw-relay.ts', [], nodeArgs);
  }
  return startBaseline(
    'bench/baselines/peer-server.ts',
    ['--concurrent-limit', String(clients + 100)],
    nodeArgs,
  );
}

/** Duet's own gauges (GET /metrics, Prometheus text): its V8 heap, and time spent in GC by kind. */
async function duetGauges(
  server: Server,
): Promise<{ heapUsed: number; external: number; gcSeconds: Record<string, number> }> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const gcSeconds: Record<string, number> = {};
  for (const m of text.matchAll(/^duet_nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} (\S+)$/gm)) {
    gcSeconds[m[1]!] = Number(m[2]);
  }
  return {
    heapUsed: value('duet_nodejs_heap_size_used_bytes'),
    external: value('duet_nodejs_external_memory_bytes'),
    gcSeconds,
  };
}

async function measureLoad(
  system: System,
  clients: number,
  windowMs: number,
  intervalMs: number,
  version: number,
  profileDir?: string,
): Promise<LoadResult> {
  const nodeArgs = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=500']
    : [];
  const server = await startServer(system, clients, nodeArgs);
  const gauges = system === 'duet' ? (): ReturnType<typeof duetGauges> => duetGauges(server) : null;
  const fleet = new SignalingClients(clients);
  try {
    await fleet.loaded();
    const rssBase = rssBytes(server.pid);
    const gaugesBase = await gauges?.();
    const cpuStart = cpuSeconds(server.pid);
    const setupStart = performance.now();
    const ready = await fleet.connect({
      system,
      url: `http://127.0.0.1:${server.port}`,
      intervalMs,
      windowMs,
      setupTimeoutMs: SETUP_TIMEOUT_MS,
      concurrency: 50,
      protocolVersion: version,
    });
    const setupSeconds = (performance.now() - setupStart) / 1000;
    const cpuAfterSetup = cpuSeconds(server.pid);
    await sleep(SETTLE_MS);
    const cpuAfterIdle = cpuSeconds(server.pid);
    const rssIdle = rssBytes(server.pid);
    const gaugesIdle = await gauges?.();
    const connected = ready.reduce((sum, r) => sum + r.connected, 0);

    const clientCpuStart = fleet.cpuSeconds();
    const windowStart = performance.now();
    const windowFromUs = Number(process.hrtime.bigint() / 1000n);
    const done = await fleet.measure();
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const windowToUs = Number(process.hrtime.bigint() / 1000n);
    const gaugesAfter = await gauges?.();
    const cpuAfterLoad = cpuSeconds(server.pid);
    const clientCpuLoad = fleet.cpuSeconds() - clientCpuStart;
    const rssAfterLoad = rssBytes(server.pid);
    const latencies = done.flatMap((r) => r.latenciesMs);
    const perSecond = p99PerSecond(
      latencies,
      done.flatMap((r) => r.sentAtMs),
      windowMs,
    );
    const sent = done.reduce((sum, r) => sum + r.sent, 0);
    const MiB = 2 ** 20;
    return {
      system,
      clients,
      connected,
      failed: ready.reduce((sum, r) => sum + r.failed, 0),
      firstError: ready.find((r) => r.firstError)?.firstError ?? null,
      setupSeconds: round(setupSeconds, 1),
      rssBaseMiB: round(rssBase / MiB, 1),
      rssIdleMiB: round(rssIdle / MiB, 1),
      rssPerClientKiB: connected > 0 ? round((rssIdle - rssBase) / 1024 / connected, 1) : NaN,
      rssAfterLoadMiB: round(rssAfterLoad / MiB, 1),
      cpuSetupPct: round(((cpuAfterSetup - cpuStart) / setupSeconds) * 100),
      cpuIdlePct: round(((cpuAfterIdle - cpuAfterSetup) / (SETTLE_MS / 1000)) * 100),
      cpuLoadPct: round(((cpuAfterLoad - cpuAfterIdle) / windowSeconds) * 100),
      clientCpuLoadPct: round((clientCpuLoad / windowSeconds) * 100),
      messagesPerSecond: round(sent / (windowMs / 1000)),
      ...relayLatency(latencies, perSecond),
      sent,
      received: latencies.length,
      ...(gaugesBase && gaugesIdle && gaugesAfter
        ? {
            duet: {
              heapUsedBaseMiB: round(gaugesBase.heapUsed / MiB, 1),
              heapUsedIdleMiB: round(gaugesIdle.heapUsed / MiB, 1),
              heapPerClientKiB: round((gaugesIdle.heapUsed - gaugesBase.heapUsed) / 1024 / connected, 1),
              externalPerClientKiB: round((gaugesIdle.external - gaugesBase.external) / 1024 / connected, 1),
              gcMsInWindow: Object.fromEntries(
                Object.entries(gaugesAfter.gcSeconds).map(([kind, sec]) => [
                  kind,
                  round((sec - (gaugesIdle.gcSeconds[kind] ?? 0)) * 1000),
                ]),
              ),
            },
          }
        : {}),
      window: { fromUs: windowFromUs, toUs: windowToUs },
    };
  } finally {
    await fleet.stop();
    await server.stop();
  }
}

export interface SignalingOptions {
  clients?: number[];
  windowSeconds?: number;
  intervalMs?: number;
  /** One more run of duet and raw at the largest N under `node --cpu-prof` (not counted). */
  profileServer?: boolean;
}

/** Run `system` once more with the server under the V8 profiler; summarise the message window. */
async function profiledServer(
  system: System,
  clients: number,
  windowMs: number,
  intervalMs: number,
  version: number,
): Promise<ProfileSummary | null> {
  const dir = `${BUILD_DIR}server-profile-${system}-${process.pid}/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = await measureLoad(system, clients, windowMs, intervalMs, version, dir);
  // The server writes its profile when it exits (it was stopped with SIGTERM).
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    return null;
  }
  const profile = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as CpuProfile;
  return {
    ...summarizeProfile(profile, `${dir}${file}`, { from: r.window.fromUs, to: r.window.toUs }),
    renderer: {},
  };
}

export async function main(options: SignalingOptions = {}): Promise<void> {
  const sizes = (options.clients ?? arg('--clients', '1000,5000,10000').split(',').map(Number)).filter(
    (n) => n >= 2,
  );
  const windowMs = (options.windowSeconds ?? numberArg('--window', 10)) * 1000;
  const intervalMs = options.intervalMs ?? numberArg('--interval', 2000);
  const profileServer = options.profileServer ?? process.argv.includes('--profile-server');
  const info = machine();
  info.chromium = null;
  const version = await protocolVersion();
  progress(
    `signaling: ${sizes.join(', ')} clients × ${SYSTEMS.join(', ')}; ${windowMs / 1000} s window, ` +
      `one message per pair every ${intervalMs} ms`,
  );
  const started = Date.now();
  const all: LoadResult[] = [];
  for (const [i, clients] of sizes.entries()) {
    const order = [...SYSTEMS.slice(i % 3), ...SYSTEMS.slice(0, i % 3)];
    for (const system of order) {
      try {
        const r = await measureLoad(system, clients, windowMs, intervalMs, version);
        all.push(r);
        progress(
          `${system.padEnd(6)} ${clients} clients: ${r.connected} connected in ${r.setupSeconds} s` +
            `${r.failed ? ` (${r.failed} failed: ${r.firstError})` : ''}; ${r.rssPerClientKiB} KiB/client; ` +
            `cpu ${r.cpuLoadPct}%; p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.received}/${r.sent})`,
        );
      } catch (error) {
        progress(
          `${system} ${clients} clients FAILED: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  const serverProfiles: Partial<Record<System, ProfileSummary>> = {};
  if (profileServer) {
    for (const system of ['duet', 'raw'] as const) {
      try {
        const p = await profiledServer(system, Math.max(...sizes), windowMs, intervalMs, version);
        if (p) {
          serverProfiles[system] = p;
        }
        progress(
          `profiled ${system} server: ${p ? `${p.busyMs} ms busy in the window` : 'no profile written'}`,
        );
      } catch (error) {
        progress(`profiled ${system} FAILED: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  const get = (system: System, clients: number): LoadResult | undefined =>
    all.find((r) => r.system === system && r.clients === clients);
  const largest = Math.max(...sizes);
  const at = (system: System): LoadResult | undefined => get(system, largest);
  const k = `${largest / 1000}k`;
  /** A figure of every system at the largest N, and Duet's ratios to the baselines'. */
  const versus = (
    key: 'rssPerClientKiB' | 'p99Ms' | 'cpuLoadPct',
    text: { label: string; short: string; unit: string },
  ) => ({
    ...text,
    better: 'lower',
    duet: at('duet')?.[key] ?? null,
    raw: at('raw')?.[key] ?? null,
    peerjs: at('peerjs')?.[key] ?? null,
    ratio_vs_raw: ratio(at('duet')?.[key] ?? NaN, at('raw')?.[key] ?? NaN),
    ratio_vs_peerjs: ratio(at('duet')?.[key] ?? NaN, at('peerjs')?.[key] ?? NaN),
  });
  const metrics = {
    memoryPerClient: {
      ...versus('rssPerClientKiB', {
        label: `Memory per idle client, ${k} clients`,
        short: `Memory per idle client, ${k}`,
        unit: 'KiB',
      }),
      /** Of Duet's, what its V8 heap holds (from its /metrics). */
      duetHeapPerClientKiB: at('duet')?.duet?.heapPerClientKiB ?? null,
    },
    relayP99: {
      ...versus('p99Ms', {
        label: `Relay latency p99, ${k} clients`,
        short: `Relay latency p99, ${k}`,
        unit: 'ms',
      }),
      absoluteTarget: { max: 20, unit: 'ms', met: (at('duet')?.p99Ms ?? Infinity) < 20 },
    },
    serverCpu: versus('cpuLoadPct', {
      label: `Server CPU while relaying, ${k} clients`,
      short: `Server CPU relaying, ${k}`,
      unit: '% of a core',
    }),
  };

  const headers = [
    'system',
    'clients',
    'connected',
    'setup s',
    'RSS base→idle MiB',
    'KiB/client',
    'CPU % setup/idle/relay',
    'msg/s',
    ...relayLatencyColumns.headers,
    'client CPU %',
  ];
  const rows: string[][] = [];
  for (const clients of sizes) {
    for (const system of SYSTEMS) {
      const x = get(system, clients);
      if (!x) {
        rows.push(sparseRow(headers, system, { clients: String(clients), connected: 'failed' }));
        continue;
      }
      rows.push([
        system,
        String(clients),
        `${x.connected}${x.failed ? ` (−${x.failed})` : ''}`,
        fmt(x.setupSeconds, 1),
        `${fmt(x.rssBaseMiB)}→${fmt(x.rssIdleMiB)}`,
        fmt(x.rssPerClientKiB, 1),
        `${fmt(x.cpuSetupPct)}/${fmt(x.cpuIdlePct)}/${fmt(x.cpuLoadPct)}`,
        fmt(x.messagesPerSecond),
        ...relayLatencyColumns.cells(x),
        fmt(x.clientCpuLoadPct),
      ]);
    }
  }
  for (const vs of ['raw', 'peerjs'] as const) {
    rows.push(
      sparseRow(headers, `duet ÷ ${vs} (${k})`, {
        'KiB/client': fmtRatio(metrics.memoryPerClient[`ratio_vs_${vs}`]),
        'CPU % setup/idle/relay': fmtRatio(metrics.serverCpu[`ratio_vs_${vs}`]),
        ...relayLatencyColumns.ratios(at('duet'), at(vs)),
      }),
    );
  }
  const notes = all
    .filter((y) => y.duet)
    .map(
      (x) =>
        `duet ${x.clients}: heap ${x.duet!.heapUsedBaseMiB}→${x.duet!.heapUsedIdleMiB} MiB ` +
        `(${x.duet!.heapPerClientKiB} KiB/client on the V8 heap), GC in the window ${JSON.stringify(x.duet!.gcMsInWindow)} ms`,
    );
  for (const [system, p] of Object.entries(serverProfiles)) {
    const top = p.topFunctions.slice(0, 8).map((f) => `${f.fn} ${f.ms} ms`);
    notes.push(
      `server profile ${system} (message window): busy ${p.busyMs}/${p.spanMs} ms; ${top.join('; ')}`,
    );
  }
  await publish(
    'signaling',
    { started, machine: info },
    {
      config: {
        clients: sizes,
        windowSeconds: windowMs / 1000,
        intervalMs,
        clientProcesses: SignalingClients.PROCESSES,
        settleMs: SETTLE_MS,
        transport: 'WebSocket only, loopback',
        duetFlags:
          '--max-connections-per-ip N+100, --shutdown-timeout-ms 2000 (teardown only); else defaults: in-memory store, log level info',
        peerjsOptions: 'concurrent_limit N+100 (else defaults)',
        message: 'one ICE candidate (~120 bytes of JSON) per pair every interval, alternating direction',
      },
      metrics,
      results: all,
      ...(profileServer ? { serverProfile: serverProfiles } : {}),
    },
    [
      {
        title: `Signaling — N clients in rooms of two; relay of one message per pair every ${intervalMs} ms`,
        headers,
        rows,
      },
    ],
    notes,
  );
  if (!at('duet')) {
    throw new Error(`the Duet run with ${largest} clients failed`);
  }
}

runIfMain(import.meta.url, () => main());
