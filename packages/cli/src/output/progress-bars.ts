import type { Writable } from 'node:stream';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { CliEvent } from './events.js';
import { formatBytes, formatEta, formatSpeed } from './format.js';

type Progress = Extract<CliEvent, { event: 'progress' }>;

/** cli-progress bars, one per transfer, drawn on stderr so stdout stays clean for lines. */
export class ProgressBars {
  private multibar: MultiBar | null = null;
  private readonly bars = new Map<string, SingleBar>();

  constructor(private readonly stream: Writable) {}

  update(event: Progress): void {
    // `left`, not `eta`: cli-progress fills `{eta}` itself (in whole seconds, NULL when unknown).
    const payload = {
      label: `${event.direction === 'send' ? '↑' : '↓'} ${event.name}`,
      done: formatBytes(event.bytes),
      size: formatBytes(event.size),
      speed: formatSpeed(event.bytesPerSecond),
      left: formatEta(event.secondsLeft),
    };
    let bar = this.bars.get(event.id);
    if (!bar) {
      bar = this.ensure().create(Math.max(1, event.size), event.bytes, payload);
      this.bars.set(event.id, bar);
    }
    bar.update(event.bytes, payload);
  }

  finish(id: string): void {
    const bar = this.bars.get(id);
    if (bar) {
      this.multibar?.remove(bar);
      this.bars.delete(id);
    }
  }

  /** A line above the bars (or plainly, when none is drawn). */
  log(stream: Writable, line: string): void {
    if (this.multibar && this.bars.size > 0) {
      this.multibar.log(`${line}\n`);
    } else {
      stream.write(`${line}\n`);
    }
  }

  stop(): void {
    this.multibar?.stop();
    this.multibar = null;
    this.bars.clear();
  }

  private ensure(): MultiBar {
    this.multibar ??= new MultiBar(
      {
        stream: this.stream,
        format: '{label} [{bar}] {percentage}% {done}/{size} {speed} ETA {left}',
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
      },
      Presets.shades_classic,
    );
    return this.multibar;
  }
}
