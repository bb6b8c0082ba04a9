import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI_MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

/** One `--json` event line of `duet` (the fields the tests read). */
export interface TerminalEvent {
  event: string;
  [field: string]: unknown;
}

/**
 * The built `duet` command line (`npm run build` first) as a child process with `--json`: its
 * events are recorded so a test awaits one whether it came before or after.
 */
export class TerminalPeer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: TerminalEvent[] = [];
  stderr = '';
  readonly exited: Promise<number>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], server: string) {
    this.child = spawn(process.execPath, [CLI_MAIN, ...args, '--server', server, '--json'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        this.events.push(JSON.parse(line) as TerminalEvent);
      }
      this.wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code ?? 1)));
  }

  /** The first `event` (matching `where`), bounded by `timeoutMs`. */
  next(
    event: string,
    where: (e: TerminalEvent) => boolean = () => true,
    timeoutMs = 60_000,
  ): Promise<TerminalEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find((e) => e.event === event && where(e));
        if (found) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `duet: no ${event} within ${timeoutMs} ms; events ${JSON.stringify(this.events.map((e) => e.event))}; stderr ${this.stderr}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Stop it if it still runs (test cleanup). */
  stop(): void {
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      waiter();
    }
  }
}
