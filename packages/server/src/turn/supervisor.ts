import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { renderCoturnConfig, type CoturnOptions } from './coturn-config.js';

const MAX_BACKOFF_MS = 30_000;
/** A turnserver that stayed up this long was healthy: its next crash starts the back-off afresh. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Runs a local `turnserver` with Duet's hardened configuration and keeps it running: restarted with
 * back-off when it exits, stopped with the Duet server. The configuration (it holds the secret) lives
 * in a private temporary folder that is removed on stop.
 */
export class TurnSupervisor {
  private child: ChildProcess | undefined;
  private folder: string | undefined;
  private stopping = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: Omit<CoturnOptions, 'logFile' | 'pidFile'>,
    private readonly logger: Logger,
    private readonly binary = 'turnserver',
  ) {}

  /** Write the configuration and start turnserver; resolves once it is spawned. */
  async start(): Promise<void> {
    this.folder = await mkdtemp(join(tmpdir(), 'duet-turn-'));
    const configPath = join(this.folder, 'turnserver.conf');
    // Its own pid file, so several supervised turnservers never overwrite /var/run/turnserver.pid.
    const pidFile = join(this.folder, 'turnserver.pid');
    await writeFile(configPath, renderCoturnConfig({ ...this.options, logFile: 'stdout', pidFile }), {
      mode: 0o600,
    });
    await this.spawn(configPath);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    if (this.folder) await rm(this.folder, { recursive: true, force: true });
  }

  private spawn(configPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      const log = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n'))
          if (line.trim()) this.logger.debug({ turnserver: line.trim() });
      };
      child.stdout.on('data', log);
      child.stderr.on('data', log);
      const startedAt = Date.now();
      child.once('spawn', () => {
        this.logger.info({ pid: child.pid, port: this.options.listeningPort }, 'turnserver started');
        resolve();
      });
      child.once('error', (error) => {
        this.logger.error({ err: error }, 'cannot start turnserver (is coturn installed?)');
        reject(error);
      });
      child.once('exit', (code, signal) => {
        if (this.stopping) return;
        if (Date.now() - startedAt > HEALTHY_AFTER_MS) this.restarts = 0;
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.restarts++);
        this.logger.warn({ code, signal, restartInMs: delay }, 'turnserver exited; restarting');
        this.restartTimer = setTimeout(() => {
          this.spawn(configPath).catch(() => undefined);
        }, delay);
      });
    });
  }
}
