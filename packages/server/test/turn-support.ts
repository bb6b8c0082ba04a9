import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago (coturn listens on UDP and TCP at the same port); with
 * `port`, that one (rejects when it is taken).
 */
export function freePort(host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A block of relay ports unlikely to collide with another test run. */
export function relayPortRange(size = 40): { min: number; max: number } {
  const min = 40_000 + Math.floor(Math.random() * 500) * size;
  return { min, max: min + size - 1 };
}

export interface UclientResult {
  code: number | null;
  output: string;
}

/**
 * coturn's own TURN client (turnutils_uclient). It exits on errors; on success it may wait for
 * echoes from a peer that never answers, so it runs under a bound and is killed after it.
 */
export function uclient(args: string[], timeoutMs = 6000): Promise<UclientResult> {
  return new Promise((resolve) => {
    const child = spawn('turnutils_uclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export const FORBIDDEN_IP = 'error 403 (Forbidden IP)';
export const ALLOCATION_REFUSED = 'Cannot complete Allocation';
