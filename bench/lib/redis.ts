/**
 * A throwaway `redis-server` for the scale-out benchmark: our own child process on a free loopback
 * port, no persistence (`--save '' --appendonly no`), stopped (SIGTERM, then SIGKILL) by `stop()` or
 * when the benchmark exits (lib/processes.ts tracks it like every other child).
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { stopProcess, track } from './processes.js';

const START_TIMEOUT_MS = 10_000;
const READY = /Ready to accept connections/;

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly version: string;
  /** `INFO <section>` as key → value. */
  info(section?: string): Promise<Record<string, string>>;
  /** Its log (first 100 and latest 200 lines). */
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (Redis takes it next; a lost race is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function startOnce(port: number, binary: string): Promise<RedisServer> {
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  return new Promise<RedisServer>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(
        Object.assign(new Error(`${error.message}\n${lines.slice(-20).join('\n')}`), {
          code: (error as NodeJS.ErrnoException).code,
        }),
      );
    };
    const onLine = (line: string): void => {
      lines.push(line);
      if (lines.length > 300) {
        lines.splice(100, lines.length - 300);
      }
      if (ready || !READY.test(line)) {
        return;
      }
      ready = true;
      clearTimeout(timer);
      const version = /Redis version=(\S+)/.exec(lines.join('\n'))?.[1] ?? 'unknown';
      resolve({
        port,
        pid: child.pid!,
        url: `redis://127.0.0.1:${port}`,
        version,
        info: (section = '') => redisInfo(port, section),
        log: () => lines.join('\n'),
        stop: () => stopProcess(child, exited),
      });
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      if (!ready) {
        fail(new Error(`redis-server exited early (${code ?? signal})`));
      }
    });
  });
}

/** Start `redis-server` (from PATH, or REDIS_SERVER) on a free loopback port; up to 3 tries. */
export async function startRedis(binary = process.env.REDIS_SERVER ?? 'redis-server'): Promise<RedisServer> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), binary);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `${binary} not found: install Redis ≥ 7 (Debian: apt-get install redis-server; ` +
            '`bash scripts/ensure-system-deps.sh` does it as root) or set REDIS_SERVER',
          { cause: error },
        );
      }
      last = error;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

/** `INFO` over a plain socket (inline command, one bulk-string reply); bounded by 2 s. */
function redisInfo(port: number, section: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('redis INFO timed out'));
    }, 2000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`INFO ${section}\r\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const header = /^\$(\d+)\r\n/.exec(buffer);
      if (!header || Buffer.byteLength(buffer) < header[0].length + Number(header[1])) {
        return;
      }
      clearTimeout(timer);
      socket.end();
      const out: Record<string, string> = {};
      for (const line of buffer.slice(header[0].length).split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0 && !line.startsWith('#')) {
          out[line.slice(0, i)] = line.slice(i + 1);
        }
      }
      resolve(out);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
