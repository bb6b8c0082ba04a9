/**
 * Commands and Linux network namespaces, for the test code that builds namespaces of its own: the
 * e2e NAT lab (e2e/netns.ts) and the server's TURN tests (packages/server/test/netns-support.ts).
 * Both name their namespaces `<prefix><creating pid>-…`, so a namespace left behind by a killed run
 * is recognised, and removed, by the next run of either.
 */
import { execFileSync, spawn } from 'node:child_process';

/** Run a command to completion (killed after `timeoutMs`); reject with its stderr when it fails. */
export function runCommand(
  command: string,
  args: string[],
  timeoutMs: number,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(stdout);
      } else {
        reject(new Error(`${command} ${args.join(' ')}: ${signal ?? `exit ${code}`}\n${stderr.trim()}`));
      }
    });
    // A command that exits without reading its input must not fail with EPIPE: its exit code speaks.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Whether a command runs and exits 0 within `timeoutMs` (its output ignored). */
export function commandWorks(command: string, args: readonly string[], timeoutMs: number): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespaces(timeoutMs: number): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: timeoutMs });
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);
}

/** Kill what runs inside `netns` (processes the tests started there) and delete it. Synchronous. */
export function destroyNamespace(netns: string, timeoutMs: number): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', timeout: timeoutMs })
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    // Already gone.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  commandWorks('ip', ['netns', 'delete', netns], timeoutMs);
}

/** Remove the namespaces named `<prefix><pid>-…` whose creating process is gone (a killed test run). */
export function sweepStaleNamespaces(prefix: string, timeoutMs: number): void {
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  for (const netns of namespaces(timeoutMs)) {
    const owner = pattern.exec(netns)?.[1];
    if (owner !== undefined && Number(owner) !== process.pid && !isAlive(Number(owner))) {
      destroyNamespace(netns, timeoutMs);
    }
  }
}
