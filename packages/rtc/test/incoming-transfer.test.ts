import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BodyOf } from '@duet/protocol';
import { FILE_TRANSFER_DEFAULTS, type FileTransfersOptions } from '../src/files/file-transfers.js';
import type { FakeChannel } from './support/fake-channels.js';
import { fakeEngine, KiB, MiB, sha256 } from './support/fake-engine.js';

/**
 * The receiving side against fake channels: the test plays the sender (offers on the control link,
 * opens channels and sends frames by hand) and watches what the receiver acknowledges, asks to
 * resume and verifies, without libwebrtc.
 */

const CHUNK = 64 * KiB;

/** Bob receives `data`: offered, accepted into memory; the test speaks for the sender. */
async function receiving(data: Uint8Array, options: Partial<FileTransfersOptions> = {}) {
  const { files, channels, link, peer } = fakeEngine(options);
  const id = 'incoming-transfer-1';
  peer.send({ kind: 'file-offer', transferId: id, name: 'data.bin', size: data.length, mime: '' });
  await expect.poll(() => files.transfers.length).toBe(1);
  await files.accept(id);
  expect(link.sent).toEqual([{ kind: 'file-accept', transferId: id }]);
  const view = () => files.transfers[0]!;
  /** A channel from the sender: header at `from`, then the chunks of data[from, to). */
  const channel = (from: number, to = from) => {
    const c = channels.fromPeer();
    c.receive(JSON.stringify({ v: 1, transferId: id, offset: from }));
    for (let at = from; at < to; at += CHUNK) {
      c.receive(data.subarray(at, Math.min(to, at + CHUNK)));
    }
    return c;
  };
  const sent = <K extends 'file-ack' | 'file-resume' | 'file-result'>(kind: K) =>
    link.sent.filter((b): b is BodyOf<K> => b.kind === kind);
  return { files, channels, link, peer, id, view, channel, sent };
}

describe('IncomingTransfer over a fake channel', () => {
  it('acknowledges at least every 256 KiB stored, then verifies the hash and keeps the file', async () => {
    const data = randomBytes(MiB);
    const { peer, id, view, channel, sent } = await receiving(data);
    channel(0, data.length);
    await expect.poll(() => view().state).toBe('verifying');
    const acks = sent('file-ack').map((b) => b.offset);
    expect(acks.at(-1)).toBe(data.length);
    // Ascending, never more than the ack interval apart (a timer may ack sooner).
    for (const [i, offset] of acks.entries()) {
      expect(offset - (acks[i - 1] ?? 0)).toBeGreaterThan(0);
      expect(offset - (acks[i - 1] ?? 0)).toBeLessThanOrEqual(FILE_TRANSFER_DEFAULTS.ackIntervalBytes);
    }

    peer.send({ kind: 'file-end', transferId: id, sha256: sha256(data) });
    await expect.poll(() => view().state).toBe('done');
    expect(sent('file-result')).toEqual([{ kind: 'file-result', transferId: id, ok: true }]);
    expect(view().sha256).toBe(sha256(data));
    expect(Buffer.from(await view().file!.arrayBuffer()).equals(data)).toBe(true);
  });

  it('asks to resume from what it stored when the channel closes, and takes only a channel from there', async () => {
    const data = randomBytes(MiB);
    const { files, peer, id, view, channel, sent } = await receiving(data);
    const first = channel(0, 5 * CHUNK);
    await expect.poll(() => view().bytes).toBe(5 * CHUNK);
    first.close();
    await expect
      .poll(() => sent('file-resume'))
      .toEqual([{ kind: 'file-resume', transferId: id, offset: 5 * CHUNK }]);
    expect(view().state).toBe('paused');

    // A channel from a stale request (not where our bytes end) is closed; the right one is taken.
    const stale = channel(0);
    expect(stale.readyState).toBe('closed');
    expect(files.counters.rejectedChannels).toBe(1);
    channel(5 * CHUNK, data.length);
    peer.send({ kind: 'file-end', transferId: id, sha256: sha256(data) });
    await expect.poll(() => view().state).toBe('done');
    expect(Buffer.from(await view().file!.arrayBuffer()).equals(data)).toBe(true);
  });

  it('on a reconnection drops its channel (maybe dead) and asks for the rest at once', async () => {
    const data = randomBytes(MiB);
    const { channels, id, view, channel, sent } = await receiving(data);
    const old: FakeChannel = channel(0, 3 * CHUNK);
    await expect.poll(() => view().bytes).toBe(3 * CHUNK);
    channels.reconnect();
    expect(old.readyState).toBe('closed');
    expect(view().state).toBe('paused');
    await expect
      .poll(() => sent('file-resume'))
      .toEqual([{ kind: 'file-resume', transferId: id, offset: 3 * CHUNK }]);
  });

  it('replaces a channel that goes silent (the stall watchdog)', async () => {
    const data = randomBytes(MiB);
    const { id, view, channel, sent } = await receiving(data, { stallTimeoutMs: 200 });
    const silent = channel(0, 2 * CHUNK);
    await expect
      .poll(() => sent('file-resume'))
      .toEqual([{ kind: 'file-resume', transferId: id, offset: 2 * CHUNK }]);
    expect(silent.readyState).toBe('closed');
    expect(view().state).toBe('paused');
  });

  it('fails on more bytes than offered, tells the sender, keeps nothing', async () => {
    const data = randomBytes(100 * KiB);
    const { link, id, view, channels } = await receiving(data);
    const c = channels.fromPeer();
    c.receive(JSON.stringify({ v: 1, transferId: id, offset: 0 }));
    c.receive(new Uint8Array(CHUNK));
    c.receive(new Uint8Array(CHUNK));
    expect(view()).toMatchObject({ state: 'failed', error: 'size_exceeded', file: null });
    expect(link.sent.at(-1)).toEqual({ kind: 'file-cancel', transferId: id, reason: 'error' });
    expect(c.readyState).toBe('closed');
  });
});
