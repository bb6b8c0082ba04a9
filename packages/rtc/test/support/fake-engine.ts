import { createHash } from 'node:crypto';
import { afterEach } from 'vitest';
import { FileTransfers, type FileTransfersOptions } from '../../src/files/file-transfers.js';
import { FakeChannels } from './fake-channels.js';
import { TestLink } from './link.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const engines: FileTransfers[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.dispose();
  }
});

/** One engine on fake channels; `peer` is the other end of its control link, played by the test. */
export function fakeEngine(options: Partial<FileTransfersOptions> = {}) {
  const channels = new FakeChannels();
  const [link, peer] = TestLink.pair();
  const files = new FileTransfers({ link, channels, ...options });
  engines.push(files);
  return { files, channels, link, peer };
}
