import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { renderCoturnConfig, type CoturnOptions } from './coturn-config.js';
import type { GuardProbeResult } from './guard-probe.js';

/** turnserver was not started (or not restarted) because the relay guard does not hold. */
export class RelayGuardError extends Error {
  override readonly name = 'RelayGuardError';
}

/**
 * Checks, before every start, that the host is guarded (guard-probe.ts); null only for a lab that
 * opted out explicitly (lab-settings.ts). `explain` turns a failed probe into the operator's error.
 */
export interface GuardCheck {
  probe: () => Promise<GuardProbeResult>;
  explain: (result: GuardProbeResult) => string;
}

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
    private readonly guard: GuardCheck | null,
    private readonly binary = 'turnserver',
  ) {}

  /**
   * Check the relay guard, write the configuration and start turnserver; resolves once it is
   * spawned. Rejects with RelayGuardError, starting nothing, when the guard does not hold.
   */
  async start(): Promise<void> {
    await this.checkGuard();
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
    if (this.folder) {
      await rm(this.folder, { recursive: true, force: true });
    }
  }

  /** Throws RelayGuardError unless the guard holds (or this lab opted out). */
  private async checkGuard(): Promise<void> {
    if (!this.guard) {
      return;
    }
    const result = await this.guard.probe();
    if (!result.holds) {
      throw new RelayGuardError(this.guard.explain(result));
    }
    this.logger.info({ probe: result.detail }, 'relay guard in place');
  }

  private spawn(configPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      const log = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim()) {
            this.logger.debug({ turnserver: line.trim() });
          }
        }
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
        if (this.stopping) {
          return;
        }
        if (Date.now() - startedAt > HEALTHY_AFTER_MS) {
          this.restarts = 0;
        }
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.restarts++);
        this.logger.warn({ code, signal, restartInMs: delay }, 'turnserver exited; restarting');
        // The guard is checked again: a firewall reload may have flushed it meanwhile, and an
        // unguarded relay stays down (logged) rather than exposing the host.
        this.restartTimer = setTimeout(() => {
          this.checkGuard()
            .then(() => (this.stopping ? undefined : this.spawn(configPath)))
            .catch((error: unknown) => {
              this.logger.error({ err: error }, 'turnserver not restarted');
            });
        }, delay);
      });
    });
  }
}
