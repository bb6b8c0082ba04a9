import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDuetServer, type DuetServer, type ServerConfigInput } from '@duet/server';
import type { CliEvent } from '../src/index.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/**
 * A real Duet server on a free loopback port, silent. Rooms by plain name are on (as in the server's
 * own tests), so a test names its room; the private-link test turns them off.
 */
export function startServer(overrides: ServerConfigInput = {}): Promise<DuetServer> {
  return startDuetServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    shutdownTimeoutMs: 1000,
    openRooms: true,
    ...overrides,
  });
}

type EventOf<E extends CliEvent['event']> = Extract<CliEvent, { event: E }>;

/**
 * The real `duet` binary (from source, through tsx) as a child process speaking --json: every event
 * it prints is recorded, so a test awaits `next('file-done')` whether it came before or after.
 */
export class DuetProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: CliEvent[] = [];
  stderr = '';
  readonly exited: Promise<number>;
  private waiters: Array<() => void> = [];
  /** Every process a test started and that has not exited: a failed test must not leave one behind. */
  private static readonly running = new Set<DuetProcess>();

  /** Kill whatever is still running (afterAll). */
  static killAll(): void {
    for (const process of DuetProcess.running) {
      process.kill('SIGKILL');
    }
  }

  constructor(args: string[], env: Record<string, string> = {}) {
    DuetProcess.running.add(this);
    this.child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@duet/source', MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        this.events.push(JSON.parse(line) as CliEvent);
      }
      this.wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
    );
    void this.exited.then(() => {
      DuetProcess.running.delete(this);
      this.wake();
    });
  }

  /** The first event of this kind (matching `where`), recorded already or yet to come. */
  next<E extends CliEvent['event']>(
    event: E,
    where: (e: EventOf<E>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<EventOf<E>> {
    const find = () => this.events.find((e): e is EventOf<E> => e.event === event && where(e as EventOf<E>));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out waiting for ${event}; got ${JSON.stringify(this.events.map((e) => e.event))}; stderr: ${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const check = (): boolean => {
        const found = find();
        if (found) {
          clearTimeout(timer);
          resolve(found);
          return true;
        }
        return false;
      };
      if (!check()) {
        this.waiters.push(() => void check());
      }
    });
  }

  of<E extends CliEvent['event']>(event: E): Array<EventOf<E>> {
    return this.events.filter((e): e is EventOf<E> => e.event === event);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private wake(): void {
    for (const waiter of this.waiters) {
      waiter();
    }
  }
}

/** `duet …args --server URL --json`, named. */
export function duet(server: DuetServer, args: string[], env: Record<string, string> = {}): DuetProcess {
  return new DuetProcess([...args, '--server', server.url(), '--json'], env);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `duet-cli-${prefix}-`));
}

/** Write `size` random bytes to `path` in 1 MiB pieces (never whole in memory); returns its SHA-256. */
export async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const piece = 1024 * 1024;
  for (let written = 0; written < size; written += piece) {
    const bytes = randomBytes(Math.min(piece, size - written));
    hash.update(bytes);
    if (!out.write(bytes)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return hash.digest('hex');
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
