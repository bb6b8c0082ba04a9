/**
 * A virtual X display (Debian's Xvfb) for a headed browser: headless Chromium keeps every tab
 * "visible" and unthrottled, so only a headed one can show what a tab in the background does.
 * Xvfb picks a free display number itself (`-displayfd`) and listens on no TCP port.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const XVFB_PATH = '/usr/bin/Xvfb';
const START_TIMEOUT_MS = 10_000;

export interface VirtualDisplay {
  /** For the browser's DISPLAY, e.g. ":93". */
  display: string;
  stop(): Promise<void>;
}

/** Why no display can be started here, or null when it can. */
export function xvfbUnavailableReason(): string | null {
  return existsSync(XVFB_PATH) ? null : `${XVFB_PATH} is missing (apt-get install -y xvfb)`;
}

export function startXvfb(): Promise<VirtualDisplay> {
  // fd 3: Xvfb writes the display number it took there once it is ready for clients.
  const child = spawn(XVFB_PATH, ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<VirtualDisplay>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`Xvfb did not start within ${START_TIMEOUT_MS / 1000} s: ${stderr.trim()}`));
    }, START_TIMEOUT_MS);
    let written = '';
    const fd3 = child.stdio[3];
    fd3?.on('data', (chunk: Buffer) => {
      written += chunk.toString();
      if (written.includes('\n')) {
        clearTimeout(timer);
        resolve({ display: `:${written.trim()}`, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code ?? 'signal'}) before it was ready: ${stderr.trim()}`));
    });
  });
}
