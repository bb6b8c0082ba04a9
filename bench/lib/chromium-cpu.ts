import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU used by the browser this benchmark launched, by Chromium process type, from Linux /proc: the
 * renderers (each page's main thread, and WebRTC's encoders, decoders, SCTP and DTLS threads), the
 * GPU process (software compositing here, --disable-gpu), the browser process and the utilities
 * (network, audio). With both cores saturated during a transfer, this says who takes them.
 */

/** USER_HZ: the unit of utime/stime in /proc/PID/stat on Linux. */
const TICKS_PER_SECOND = 100;

export type ProcessType = 'renderer' | 'gpu' | 'browser' | 'utility';

interface ProcessInfo {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
}

function readStat(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields after it are counted from its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // gone meanwhile
  }
}

function typeOf(pid: number): ProcessType | null {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
  if (!cmdline.includes('chrom')) {
    return null;
  }
  const type = /--type=([a-z-]+)/.exec(cmdline)?.[1];
  if (type === undefined) {
    return 'browser';
  }
  if (type === 'renderer') {
    return 'renderer';
  }
  if (type === 'gpu-process') {
    return 'gpu';
  }
  return 'utility';
}

/** CPU ticks so far of every Chromium process descended from this one, by pid. */
function snapshot(): Map<number, { type: ProcessType; ticks: number }> {
  const all = new Map<number, ProcessInfo>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    const info = readStat(Number(entry));
    if (info) {
      all.set(info.pid, info);
    }
  }
  const mine = new Set<number>([process.pid]);
  // Parents come before children only by luck: repeat until no process joins.
  for (let grew = true; grew;) {
    grew = false;
    for (const info of all.values()) {
      if (!mine.has(info.pid) && mine.has(info.ppid)) {
        mine.add(info.pid);
        grew = true;
      }
    }
  }
  const out = new Map<number, { type: ProcessType; ticks: number }>();
  for (const pid of mine) {
    const type = pid === process.pid ? null : typeOf(pid);
    if (type) {
      out.set(pid, { type, ticks: all.get(pid)!.ticks });
    }
  }
  return out;
}

/** CPU of each process type over a window, as % of one core (200 = both cores of this machine). */
export type CpuShares = Record<ProcessType | 'total', number>;

/** Start measuring; `stop()` gives each process type's CPU over the window. */
export function startCpuMeter(): { stop(): CpuShares } {
  const before = snapshot();
  const started = performance.now();
  return {
    stop: () => {
      const after = snapshot();
      const seconds = (performance.now() - started) / 1000;
      const shares: CpuShares = { renderer: 0, gpu: 0, browser: 0, utility: 0, total: 0 };
      for (const [pid, { type, ticks }] of after) {
        // A process born in the window counts from zero.
        const used = ticks - (before.get(pid)?.ticks ?? 0);
        shares[type] += used;
        shares.total += used;
      }
      for (const key of Object.keys(shares) as Array<keyof CpuShares>) {
        shares[key] = Math.round((shares[key] / TICKS_PER_SECOND / seconds) * 100);
      }
      return shares;
    },
  };
}
