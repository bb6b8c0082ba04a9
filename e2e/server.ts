import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER_MAIN = fileURLToPath(new URL('../packages/server/dist/main.js', import.meta.url));
const WEB_ROOT = fileURLToPath(new URL('../packages/web/dist', import.meta.url));

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const LISTENING = /^Duet is listening on http:\/\/127\.0\.0\.1:(\d+)\/?$/;

/** A real, built Duet server in a child process, listening on a free loopback port. */
export interface RunningServer {
  /** `http://localhost:PORT`: localhost, so pages are a secure context and may use the camera. */
  readonly baseURL: string;
  readonly port: number;
  /** Everything the process wrote so far (JSON log lines on stdout, anything on stderr). */
  log(): string;
  /** Why the process ended before `stop()` was called (a crash, or a signal from outside), if it did. */
  unexpectedExit(): string | null;
  /** SIGTERM, then SIGKILL if it has not exited within a bound. */
  stop(): Promise<void>;
  /**
   * SIGKILL, as a crash or an OOM kill would end it (no shutdown notice to the clients); resolves
   * once the process is gone. Asked for by the test, so not an unexpected exit.
   */
  kill(): Promise<void>;
  /** Start the server again after `kill()`: the same port (so the same `baseURL`) and environment. */
  restart(): Promise<void>;
}

/** One server process: its exit, and whether the test asked for it. */
interface ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Set before the test stops or kills it: its exit is then expected. */
  expected: boolean;
}

/**
 * Start `node packages/server/dist/main.js --host 127.0.0.1 --port 0` with `env` on top of ours, and
 * resolve once it logs the address it listens on.
 */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  for (const file of [SERVER_MAIN, join(env.DUET_WEB_ROOT ?? WEB_ROOT, 'index.html')]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run \`npm run build\` before the e2e tests`);
    }
  }
  const lines: string[] = [];
  let unexpectedExit: string | null = null;

  /** Spawn a process on `requestedPort` (0: any free one) and wait for the port it reports. */
  const launch = async (requestedPort: number): Promise<{ process: ServerProcess; port: number }> => {
    const child = spawn(
      process.execPath,
      [SERVER_MAIN, '--host', '127.0.0.1', '--port', String(requestedPort)],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DUET_LOG_LEVEL: 'info',
          DUET_SHUTDOWN_TIMEOUT_MS: '2000',
          // The specs join rooms by typed name; the private-room spec turns this off.
          DUET_OPEN_ROOMS: 'true',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const proc: ServerProcess = {
      child,
      expected: false,
      exited: new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          if (!proc.expected) {
            unexpectedExit = signal ? `killed by ${signal}` : `exited with code ${code}`;
            lines.push(`[e2e] the server process ${unexpectedExit} while the test was running`);
          }
          resolve();
        }),
      ),
    };

    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(new Error(`the server did not report its address within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n${lines.join('\n')}`));
      };
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        const match = LISTENING.exec(messageOf(line) ?? '');
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      createInterface({ input: child.stderr }).on('line', (line) => lines.push(`[stderr] ${line}`));
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`the server exited early (${code ?? signal})`)));
    });
    return { process: proc, port };
  };

  const first = await launch(0);
  const port = first.port;
  let current = first.process;

  return {
    baseURL: `http://localhost:${port}`,
    port,
    log: () => lines.join('\n'),
    unexpectedExit: () => unexpectedExit,
    stop: () => {
      current.expected = true;
      return stopProcess(current.child, current.exited);
    },
    kill: async () => {
      current.expected = true;
      lines.push('[e2e] the test kills the server (SIGKILL)');
      current.child.kill('SIGKILL');
      await current.exited;
    },
    restart: async () => {
      if (current.child.exitCode === null && current.child.signalCode === null) {
        throw new Error('restart() needs a server that is not running: kill() it first');
      }
      lines.push(`[e2e] the test restarts the server on port ${port}`);
      const next = await launch(port);
      current = next.process;
      if (next.port !== port) {
        throw new Error(`the restarted server listens on ${next.port}, not ${port}`);
      }
    },
  };
}

function messageOf(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: unknown };
    return typeof entry.msg === 'string' ? entry.msg : undefined;
  } catch {
    return undefined;
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}
