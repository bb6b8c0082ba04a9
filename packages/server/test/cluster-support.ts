import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io as connect } from 'socket.io-client';
import { PROTOCOL_VERSION, type Session } from '@duet/protocol';
import { TestClient, type ClientSocket } from './support.js';
import { freePort } from './turn-support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REDIS_SERVER = '/usr/bin/redis-server';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Wait for `exited` at most `ms`; true if it happened. */
async function within(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([exited.then(() => true), late]);
  clearTimeout(timer);
  return result;
}

/** A child process and its output, killed only by its own PID. */
class Child {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly lines: string[] = [];
  private readonly watchers: Array<{ match: RegExp; resolve: (m: RegExpExecArray) => void }> = [];

  constructor(readonly process: ChildProcess) {
    this.exited = once(process, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    const onLine = (line: string) => {
      this.lines.push(line);
      for (const watcher of [...this.watchers]) {
        const match = watcher.match.exec(line);
        if (match) {
          this.watchers.splice(this.watchers.indexOf(watcher), 1);
          watcher.resolve(match);
        }
      }
    };
    if (process.stdout) {
      createInterface({ input: process.stdout }).on('line', onLine);
    }
    if (process.stderr) {
      createInterface({ input: process.stderr }).on('line', (l) => onLine(`[stderr] ${l}`));
    }
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** The first line (already written or to come) matching `match`, within `timeoutMs`. */
  waitFor(match: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const found = match.exec(line);
      if (found) {
        return Promise.resolve(found);
      }
    }
    return new Promise((resolve, reject) => {
      const watcher = { match, resolve: (m: RegExpExecArray) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.watchers.splice(this.watchers.indexOf(watcher), 1);
        reject(new Error(`no line matching ${match} within ${timeoutMs} ms:\n${this.output().slice(-3000)}`));
      }, timeoutMs);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code ?? signal}) before ${match}:\n${this.output().slice(-3000)}`));
      });
      this.watchers.push(watcher);
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive && this.process.pid !== undefined) {
      process.kill(this.process.pid, signal);
    }
  }

  /** SIGTERM, then SIGKILL after a bound. */
  async stop(): Promise<void> {
    if (!this.alive) {
      return;
    }
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    if (!(await within(this.exited, STOP_TIMEOUT_MS))) {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  async kill(): Promise<void> {
    if (!this.alive) {
      return;
    }
    this.signal('SIGKILL');
    await this.exited;
  }
}

/** A redis-server of our own on a free loopback port, no persistence: a restart starts empty. */
export class RedisProcess {
  private child: Child | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.process.pid;
  }

  private async launch(): Promise<void> {
    const child = new Child(
      spawn(
        REDIS_SERVER,
        ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    this.child = child;
    try {
      await child.waitFor(/Ready to accept connections/, 10_000);
    } catch (error) {
      await child.kill();
      throw error;
    }
  }

  /** SIGSTOP: Redis keeps its connections and data but answers nothing. */
  pause(): void {
    this.child?.signal('SIGSTOP');
  }

  resume(): void {
    this.child?.signal('SIGCONT');
  }

  /** SIGKILL (the data is gone: no persistence). */
  async kill(): Promise<void> {
    await this.child?.kill();
  }

  /** Start again on the same port after `kill()`. */
  async restart(): Promise<void> {
    if (this.child?.alive) {
      throw new Error('kill() Redis before restarting it');
    }
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.child?.stop();
  }
}

/** A real Duet process (from source, as `npm start` runs the built one) on its own loopback port. */
export class DuetNode {
  private child: Child | undefined;
  private readonly history: string[] = [];
  /** Set when the process ended without the test asking (a crash). */
  unexpectedExit: string | null = null;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  /** Start a node named `name` with `env` (DUET_* variables) on a free port. */
  static async start(name: string, env: Record<string, string>): Promise<DuetNode> {
    const node = new DuetNode(name, await freePort(), env);
    await node.launch();
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child?.alive ?? false;
  }

  /** Everything every incarnation of this node wrote. */
  output(): string {
    return [...this.history, this.child?.output() ?? ''].join('\n');
  }

  private async launch(): Promise<void> {
    const child = new Child(
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@duet/source',
          MAIN,
          '--host',
          '127.0.0.1',
          '--port',
          String(this.port),
        ],
        {
          env: {
            ...process.env,
            DUET_LOG_LEVEL: 'info',
            DUET_SHUTDOWN_TIMEOUT_MS: '2000',
            DUET_NODE_NAME: this.name,
            // Tests about something else join rooms by plain name (see support.ts).
            DUET_OPEN_ROOMS: 'true',
            ...this.env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    let expected = false;
    this.expectExit = () => (expected = true);
    void child.exited.then(({ code, signal }) => {
      if (!expected) {
        this.unexpectedExit = `${this.name} ${signal ? `killed by ${signal}` : `exited ${code}`}`;
      }
    });
    this.child = child;
    try {
      await child.waitFor(/Duet is listening on/, START_TIMEOUT_MS);
    } catch (error) {
      expected = true;
      await child.kill();
      throw error;
    }
  }

  private expectExit: () => void = () => undefined;

  async kill(): Promise<void> {
    this.expectExit();
    await this.child?.kill();
  }

  async stop(): Promise<void> {
    this.expectExit();
    await this.child?.stop();
  }

  /** Start again on the same port (after kill/stop), with the same environment. */
  async restart(): Promise<void> {
    if (this.alive) {
      throw new Error(`${this.name} is still running`);
    }
    this.history.push(this.child?.output() ?? '');
    await this.launch();
  }

  async readyz(): Promise<number> {
    const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(3000) });
    return response.status;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  }
}

export interface ClusterConnectOptions {
  reconnection?: boolean;
  transports?: Array<'polling' | 'websocket'>;
  /** Extra handshake headers (e.g. X-Forwarded-For, for a node that trusts its proxy). */
  headers?: Record<string, string>;
}

/** Open a socket to a node URL (not waiting). */
export function openTo(url: string, options: ClusterConnectOptions = {}): ClientSocket {
  return connect(url, {
    auth: { protocolVersion: PROTOCOL_VERSION },
    transports: options.transports ?? ['websocket'],
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    forceNew: true,
    ...(options.headers === undefined ? {} : { extraHeaders: options.headers }),
  });
}

/** Connect to a node URL and wait until accepted. */
export async function connectTo(url: string, options: ClusterConnectOptions = {}): Promise<TestClient> {
  const socket = openTo(url, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`could not connect to ${url}`)), 5000);
    socket.once('connect', () => (clearTimeout(timer), resolve()));
    socket.once('connect_error', (error) => (clearTimeout(timer), reject(error)));
  });
  return new TestClient(socket);
}

/** Connect and join a room on a node. */
export async function joinOn(
  url: string,
  room: string,
  name: string,
): Promise<{ client: TestClient; session: Session }> {
  const client = await connectTo(url);
  const session = await client.request('room:join', { room, name });
  if (!session.ok) {
    client.close();
    throw new Error(`join failed on ${url}: ${session.error.code}`);
  }
  return { client, session };
}

/** Poll `check` every `everyMs` until it returns a value other than undefined, within `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(check()).catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A metric's value from Prometheus text (first series of that name with every given label). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      continue;
    }
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
