import type { Writable } from 'node:stream';
import type { CliEvent } from './events.js';
import { formatLine, percent } from './format.js';
import type { ProgressBars } from './progress-bars.js';

/** Where a command's events go. */
export interface Reporter {
  emit(event: CliEvent): void;
  /** Stop drawing (progress bars) before the process exits. */
  close(): void;
}

export type OutputMode = 'json' | 'plain' | 'tty';

/** `--json` wins; otherwise progress bars on a terminal and plain lines into a pipe or a file. */
export function outputMode(json: boolean, stdout: { isTTY?: boolean }): OutputMode {
  if (json) {
    return 'json';
  }
  return stdout.isTTY === true ? 'tty' : 'plain';
}

/**
 * How often progress is worth a line: JSON at most every `intervalMs` per transfer (a script wants
 * a steady trickle, not 16,000 lines for a 1 GiB file), plain lines at each `stepPercent` (a log
 * file stays short). The first and the final (100 %) report always pass.
 */
export class ProgressGate {
  private readonly last = new Map<string, { at: number; percent: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly stepPercent: number,
  ) {}

  pass(id: string, bytes: number, size: number, now: number): boolean {
    const p = percent(bytes, size);
    const last = this.last.get(id);
    const due =
      !last ||
      p >= 100 ||
      (now - last.at >= this.intervalMs &&
        Math.floor(p / this.stepPercent) > Math.floor(last.percent / this.stepPercent));
    if (due && last?.percent !== p) {
      this.last.set(id, { at: now, percent: p });
      return true;
    }
    return false;
  }
}

/** One JSON object a line on stdout, for scripts. */
export function jsonReporter(stdout: Writable, now: () => number = Date.now): Reporter {
  const gate = new ProgressGate(250, 1);
  return {
    emit(event) {
      if (event.event === 'progress' && !gate.pass(event.id, event.bytes, event.size, now())) {
        return;
      }
      stdout.write(`${JSON.stringify(event)}\n`);
    },
    close() {},
  };
}

/** Plain lines: events on stdout, errors on stderr, progress every 10 %. */
export function plainReporter(stdout: Writable, stderr: Writable, now: () => number = Date.now): Reporter {
  const gate = new ProgressGate(0, 10);
  return {
    emit(event) {
      if (event.event === 'progress' && !gate.pass(event.id, event.bytes, event.size, now())) {
        return;
      }
      const line = formatLine(event);
      if (line !== null) {
        (event.event === 'error' ? stderr : stdout).write(`${line}\n`);
      }
    },
    close() {},
  };
}

/** A terminal: a progress bar per transfer (speed, ETA), the other events as lines above them. */
export function ttyReporter(stdout: Writable, stderr: Writable, bars: ProgressBars): Reporter {
  return {
    emit(event) {
      if (event.event === 'progress') {
        bars.update(event);
        return;
      }
      if (event.event === 'file-done' || event.event === 'file-failed') {
        bars.finish(event.id);
      }
      // What the user typed is on the screen already.
      if (event.event === 'chat' && event.from === 'self') {
        return;
      }
      const line = formatLine(event);
      if (line !== null) {
        bars.log(event.event === 'error' ? stderr : stdout, line);
      }
    },
    close() {
      bars.stop();
    },
  };
}

/**
 * The reporter for `mode`. The progress-bar library is loaded only for a terminal: every module
 * counts toward the receiving CLI's memory (see bench/README.md, the terminal peer).
 */
export async function createReporter(
  mode: OutputMode,
  stdout: Writable = process.stdout,
  stderr: Writable = process.stderr,
): Promise<Reporter> {
  switch (mode) {
    case 'json':
      return jsonReporter(stdout);
    case 'plain':
      return plainReporter(stdout, stderr);
    case 'tty': {
      const { ProgressBars } = await import('./progress-bars.js');
      return ttyReporter(stdout, stderr, new ProgressBars(stderr));
    }
  }
}
