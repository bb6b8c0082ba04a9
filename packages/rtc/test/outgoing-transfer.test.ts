import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FILE_TRANSFER_DEFAULTS, type FileTransfersOptions } from '../src/files/file-transfers.js';
import type { FakeChannel } from './support/fake-channels.js';
import { fakeEngine, KiB, MiB, settle, sha256 } from './support/fake-engine.js';

/**
 * The sending side against fake channels: the test opens, fills, drains and closes the channel and
 * plays the receiver on the control link, so windowing, acks, backpressure and resume are checked
 * step by step, without libwebrtc (file-transfer.test.ts runs the same engine over real channels).
 */

function setup(options: Partial<FileTransfersOptions> = {}) {
  const ends = fakeEngine(options);
  const view = (id: string) => ends.files.transfers.find((v) => v.id === id)!;
  return { ...ends, view };
}

/** Offer `data`, have the peer accept, and return the channel the sender opened (not yet open). */
async function accepted(ends: ReturnType<typeof setup>, data: Uint8Array<ArrayBuffer>) {
  const id = ends.files.send(new Blob([data]), 'data.bin');
  ends.peer.send({ kind: 'file-accept', transferId: id });
  await expect.poll(() => ends.channels.opened.length).toBe(1);
  return { id, channel: ends.channels.last };
}

const joined = (...channels: FakeChannel[]) => Buffer.concat(channels.flatMap((c) => c.chunks));

describe('OutgoingTransfer over a fake channel', () => {
  it('stops at the ack window, moves on with each ack, ignores acks for bytes never sent', async () => {
    const ends = setup();
    const { files, peer, link, view } = ends;
    const data = randomBytes(4 * MiB);
    const { id, channel } = await accepted(ends, data);
    channel.open();
    const window = FILE_TRANSFER_DEFAULTS.maxUnackedBytes;
    await expect.poll(() => channel.bytesSent).toBe(window);
    await settle(50);
    expect(channel.bytesSent).toBe(window);
    expect(channel.headers).toEqual([{ v: 1, transferId: id, offset: 0, channelAcks: true }]);
    expect(channel.binaryType).toBe('arraybuffer');

    peer.send({ kind: 'file-ack', transferId: id, offset: 256 * KiB });
    await expect.poll(() => channel.bytesSent).toBe(window + 256 * KiB);
    peer.send({ kind: 'file-ack', transferId: id, offset: 3 * MiB });
    await expect.poll(() => files.counters.ignoredBodies).toBe(1);
    expect(channel.bytesSent).toBe(window + 256 * KiB);

    // Each ack lets one more window out; the last one closes the channel, and the hash follows.
    let acked = 256 * KiB;
    while (acked < data.length) {
      await expect.poll(() => channel.bytesSent).toBe(Math.min(data.length, acked + window));
      acked = channel.bytesSent;
      peer.send({ kind: 'file-ack', transferId: id, offset: acked });
      await expect.poll(() => view(id).bytes).toBe(acked);
    }
    expect(view(id).state).toBe('verifying');
    expect(channel.readyState).toBe('closed');
    expect(joined(channel).equals(data)).toBe(true);
    await expect
      .poll(() => link.sent.find((b) => b.kind === 'file-end'))
      .toEqual({
        kind: 'file-end',
        transferId: id,
        sha256: sha256(data),
      });
    peer.send({ kind: 'file-result', transferId: id, ok: true });
    await expect.poll(() => view(id).state).toBe('done');
    expect(view(id)).toMatchObject({ bytes: data.length, sha256: sha256(data) });
  });

  it("moves the window on the receiver's acks on the channel too; the final file-ack still ends it", async () => {
    const ends = setup();
    const { files, peer, view } = ends;
    const data = randomBytes(2 * MiB);
    const { id, channel } = await accepted(ends, data);
    channel.open();
    const window = FILE_TRANSFER_DEFAULTS.maxUnackedBytes;
    await expect.poll(() => channel.bytesSent).toBe(window);

    // What a receiving file worker sends back on the channel (file-worker.ts): the window moves.
    channel.receive(JSON.stringify({ v: 1, ack: 512 * KiB }));
    await expect.poll(() => channel.bytesSent).toBe(window + 512 * KiB);
    await expect.poll(() => view(id).bytes).toBe(512 * KiB);
    // Beyond what was sent, not an ack, or not JSON: ignored, the window stays.
    channel.receive(JSON.stringify({ v: 1, ack: 2 * MiB }));
    channel.receive(JSON.stringify({ v: 1, ack: -1 }));
    channel.receive('not json');
    await settle(50);
    expect(channel.bytesSent).toBe(window + 512 * KiB);
    expect(view(id).bytes).toBe(512 * KiB);

    channel.receive(JSON.stringify({ v: 1, ack: window + 512 * KiB }));
    await expect.poll(() => channel.bytesSent).toBe(data.length);
    // Every byte acked on the channel: the sender still waits for the file-ack to close it.
    channel.receive(JSON.stringify({ v: 1, ack: data.length }));
    await settle(20);
    expect(channel.readyState).toBe('open');
    // A file-ack below the window (the control channel is slower) is no error.
    peer.send({ kind: 'file-ack', transferId: id, offset: 256 * KiB });
    peer.send({ kind: 'file-ack', transferId: id, offset: data.length });
    await expect.poll(() => view(id).state).toBe('verifying');
    expect(channel.readyState).toBe('closed');
    expect(files.counters.ignoredBodies).toBe(0);
    expect(joined(channel).equals(data)).toBe(true);
  });

  it('backpressure: stops at the high-water mark, goes on at bufferedamountlow (or when a poll sees it low)', async () => {
    const ends = setup({ maxUnackedBytes: 64 * MiB });
    const { highWaterMark, lowWaterMark, chunkSize } = FILE_TRANSFER_DEFAULTS;
    const data = randomBytes(2 * MiB);
    const { channel } = await accepted(ends, data);
    channel.buffering = true;
    channel.open();
    expect(channel.bufferedAmountLowThreshold).toBe(lowWaterMark);
    await expect.poll(() => channel.chunks.length).toBe(highWaterMark / chunkSize);
    await settle(2 * FILE_TRANSFER_DEFAULTS.drainPollMs);
    expect(channel.bufferedAmount).toBe(highWaterMark);

    channel.drain(lowWaterMark);
    await expect.poll(() => channel.bufferedAmount).toBe(highWaterMark);
    expect(channel.chunks.length).toBe((2 * highWaterMark - lowWaterMark) / chunkSize);

    // No event this time (an old stack): the safety poll notices the buffer is low.
    channel.bufferedAmount = 0;
    await expect.poll(() => channel.bytesSent).toBe(2 * highWaterMark - lowWaterMark + highWaterMark);
    while (channel.bytesSent < data.length) {
      channel.drain(0);
      await settle(5);
    }
    expect(joined(channel).equals(data)).toBe(true);
  });

  it('resumes on a new channel from the offset the receiver asks for, and hashes each byte once', async () => {
    const ends = setup();
    const { files, peer, link, channels, view } = ends;
    const data = randomBytes(2 * MiB);
    const { id, channel: first } = await accepted(ends, data);
    first.open();
    peer.send({ kind: 'file-ack', transferId: id, offset: 512 * KiB });
    await expect.poll(() => first.bytesSent).toBe(1.5 * MiB);
    first.close();
    await expect.poll(() => view(id).state).toBe('paused');
    expect(channels.opened).toHaveLength(1);

    // The receiver stored 1 MiB: the rest comes on a new channel, from there.
    peer.send({ kind: 'file-resume', transferId: id, offset: MiB });
    await expect.poll(() => channels.opened.length).toBe(2);
    const second = channels.last;
    second.open();
    await expect.poll(() => second.bytesSent).toBe(MiB);
    expect(second.headers).toEqual([{ v: 1, transferId: id, offset: MiB, channelAcks: true }]);
    expect(first.bytesSent).toBe(1.5 * MiB);
    expect(view(id).state).toBe('transferring');
    // The same request again (the receiver's reconnect crossing ours) opens nothing new.
    peer.send({ kind: 'file-resume', transferId: id, offset: MiB });
    await settle(20);
    expect(channels.opened).toHaveLength(2);

    expect(Buffer.concat([joined(first).subarray(0, MiB), joined(second)]).equals(data)).toBe(true);
    peer.send({ kind: 'file-ack', transferId: id, offset: data.length });
    await expect
      .poll(() => link.sent.find((b) => b.kind === 'file-end'))
      .toMatchObject({ sha256: sha256(data) });
    expect(files.counters.handlerErrors).toBe(0);
  });

  it('with no connection at the accept, pauses and opens the channel when the connection is back', async () => {
    const ends = setup();
    const { peer, link, channels, view } = ends;
    channels.connected = false;
    const data = randomBytes(100 * KiB);
    const id = ends.files.send(new Blob([data]), 'later.bin');
    peer.send({ kind: 'file-accept', transferId: id });
    await expect.poll(() => view(id).state).toBe('paused');
    expect(channels.opened).toHaveLength(0);

    channels.reconnect();
    expect(view(id).state).toBe('transferring');
    expect(link.sent.filter((b) => b.kind === 'file-offer')).toHaveLength(2);
    const channel = channels.last;
    channel.open();
    await expect.poll(() => channel.bytesSent).toBe(data.length);
    expect(channel.headers).toEqual([{ v: 1, transferId: id, offset: 0, channelAcks: true }]);
  });

  it('a cancel stops the pump at once: channel closed, the peer told, nothing more sent', async () => {
    const ends = setup();
    const { files, link, view } = ends;
    const { id, channel } = await accepted(ends, randomBytes(4 * MiB));
    channel.buffering = true;
    channel.open();
    await expect.poll(() => channel.bufferedAmount).toBe(FILE_TRANSFER_DEFAULTS.highWaterMark);
    files.cancel(id);
    expect(view(id)).toMatchObject({ state: 'cancelled', cancelledBy: 'self' });
    expect(link.sent.at(-1)).toEqual({ kind: 'file-cancel', transferId: id, reason: 'user' });
    expect(channel.readyState).toBe('closed');
    const sent = channel.chunks.length;
    channel.readyState = 'open'; // even were it still open, the dropped pump must not go on
    channel.drain(0);
    await settle(2 * FILE_TRANSFER_DEFAULTS.drainPollMs);
    expect(channel.chunks.length).toBe(sent);
  });
});
