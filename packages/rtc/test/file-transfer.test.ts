import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_CHANNEL_LABEL, type Body } from '@duet/protocol';
import {
  FILE_TRANSFER_DEFAULTS,
  FileTransfers,
  type FileTransfersOptions,
} from '../src/files/file-transfers.js';
import { nextTransferState } from '../src/files/transfer-machine.js';
import { DOWNLOAD_MIME, MemorySink, WritableSink } from '../src/files/sinks.js';
import type { Hasher, TransferState, TransferView } from '../src/files/transfer-types.js';
import { TestLink } from './support/link.js';
import { RecordingSink } from './support/sinks.js';
import { WrtcNet } from './support/wrtc-net.js';

/**
 * The file-transfer engine between two peers over real data channels (libwebrtc via @roamhq/wrtc,
 * two connected RTCPeerConnections in this process) and an in-memory reliable control link.
 */

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = async (blob: Blob): Promise<Uint8Array> => new Uint8Array(await blob.arrayBuffer());

type Engine = FileTransfers;
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) {
    cleanup();
  }
});

/** Alice and Bob, each with an engine (Alice's may be left out to play a hostile peer by hand). */
async function setup(
  options: {
    alice?: Partial<FileTransfersOptions> | false;
    bob?: Partial<FileTransfersOptions> | false;
  } = {},
) {
  const net = await WrtcNet.connect();
  const [aliceLink, bobLink] = TestLink.pair();
  const make = (link: TestLink, channels: WrtcNet['alice'], extra?: Partial<FileTransfersOptions>) => {
    const engine = new FileTransfers({ link, channels, ...extra });
    cleanups.push(() => engine.dispose());
    return engine;
  };
  const alice = options.alice === false ? null : make(aliceLink, net.alice, options.alice);
  const bob = options.bob === false ? null : make(bobLink, net.bob, options.bob);
  cleanups.push(() => net.close());
  return { net, aliceLink, bobLink, alice: alice!, bob: bob! };
}

/** The view of `id` once it satisfies `where` (now or at a later change). */
function until(engine: Engine, id: string, where: (view: TransferView) => boolean): Promise<TransferView> {
  const now = engine.transfers.find((v) => v.id === id);
  if (now && where(now)) {
    return Promise.resolve(now);
  }
  return engine
    .waitFor('change', (views) => views.some((v) => v.id === id && where(v)))
    .then((views) => views.find((v) => v.id === id)!);
}
const inState = (engine: Engine, id: string, ...states: TransferState[]) =>
  until(engine, id, (v) => states.includes(v.state));
/** Alice's and Bob's views of `id` once each is in one of `states`. */
const bothIn = ({ alice, bob }: { alice: Engine; bob: Engine }, id: string, ...states: TransferState[]) =>
  Promise.all([inState(alice, id, ...states), inState(bob, id, ...states)]);

/** Every view of `id` the engine emitted. */
function record(engine: Engine): TransferView[] {
  const seen: TransferView[] = [];
  engine.on('change', (views) => seen.push(...views));
  return seen;
}

/** Offer from Alice, accept at Bob (with `sink`), and wait for both ends to finish. */
async function transfer(
  { alice, bob }: { alice: Engine; bob: Engine },
  blob: Blob,
  name = 'data.bin',
  sink?: RecordingSink | WritableSink,
) {
  const id = alice.send(blob, name);
  await inState(bob, id, 'offered');
  await bob.accept(id, sink);
  const [sent, received] = await bothIn({ alice, bob }, id, 'done', 'failed', 'cancelled');
  return { id, sent, received };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delays each write a little: a slow disk. */
function slow(sink: RecordingSink): RecordingSink {
  const write = sink.write.bind(sink);
  sink.write = async (chunk) => {
    await settle(1);
    return write(chunk);
  };
  return sink;
}

/** Not a hash: only for tests where hashing time must not pace the sender (bytes are compared). */
function lengthHasher(): Hasher {
  let length = 0;
  return {
    update: (chunk) => void (length += chunk.byteLength),
    digest: () => Promise.resolve(length.toString(16).padStart(64, '0')),
  };
}

/** A Blob that counts reads. */
class CountingBlob extends Blob {
  reads = 0;
  override slice(start?: number, end?: number, type?: string): Blob {
    this.reads++;
    return super.slice(start, end, type);
  }
}

/** After a cancel: for 200 ms Alice reads no more of `blob` and sends no more bytes. Resolves to what she sent. */
async function expectSenderStopped(blob: CountingBlob, net: WrtcNet): Promise<number> {
  const reads = blob.reads;
  const bytes = net.alice.binaryBytesSent;
  await settle(200);
  expect(blob.reads).toBe(reads);
  expect(net.alice.binaryBytesSent).toBe(bytes);
  return bytes;
}

describe('nextTransferState', () => {
  it.each<[TransferState, Parameters<typeof nextTransferState>[1], TransferState | null]>([
    ['offered', 'accept', 'transferring'],
    ['waiting', 'decline', 'declined'],
    ['transferring', 'break', 'paused'],
    ['paused', 'resume', 'transferring'],
    ['paused', 'complete', 'verifying'],
    ['verifying', 'verified', 'done'],
    ['verifying', 'break', null],
    ['offered', 'complete', null],
    ['paused', 'cancel', 'cancelled'],
    ['verifying', 'fail', 'failed'],
    ['done', 'cancel', null],
    ['cancelled', 'fail', null],
    ['declined', 'accept', null],
    ['failed', 'resume', null],
  ])('%s --%s--> %s', (state, event, next) => {
    expect(nextTransferState(state, event)).toBe(next);
  });
});

describe('MemorySink', () => {
  it('folds chunks into its Blob so loose chunks stay under the threshold, and keeps every byte', async () => {
    const sink = new MemorySink(MiB);
    const data = randomBytes(5 * MiB + 123);
    let peak = 0;
    for (let at = 0; at < data.length; at += 64 * 1024) {
      await sink.write(data.subarray(at, at + 64 * 1024));
      peak = Math.max(peak, sink.pendingBytes);
    }
    expect(peak).toBeLessThan(MiB);
    const blob = (await sink.close())!;
    expect(blob.type).toBe(DOWNLOAD_MIME);
    expect(sha256(await bytesOf(blob))).toBe(sha256(data));
  });

  it('discards everything on abort', async () => {
    const sink = new MemorySink();
    await sink.write(new Uint8Array(10));
    await sink.abort();
    expect(sink.pendingBytes).toBe(0);
    await expect(sink.close()).rejects.toThrow();
  });
});

describe('FileTransfers over real data channels', () => {
  it('moves a 12 MiB random file byte-identical, both ends agreeing with node:crypto on SHA-256', async () => {
    const ends = await setup();
    const { net, alice, bob } = ends;
    const data = randomBytes(12 * MiB);
    const sentViews = record(alice);
    const receivedViews = record(bob);
    // A disk that takes a moment per write, so the transfer lasts long enough to watch progress.
    const sink = slow(new RecordingSink());

    const { id, sent, received } = await transfer(
      ends,
      new Blob([data], { type: 'text/plain' }),
      'report.bin',
      sink,
    );

    const expected = sha256(data);
    expect(sent).toMatchObject({ state: 'done', direction: 'send', bytes: data.length, sha256: expected });
    expect(received).toMatchObject({
      state: 'done',
      direction: 'receive',
      name: 'report.bin',
      mime: 'text/plain',
      bytes: data.length,
      sha256: expected,
      image: null,
      error: null,
    });
    expect(received.file!.type).toBe(DOWNLOAD_MIME);
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(sink.closed).toBe(true);

    // Chunks of 64 KiB, each byte sent once, and the send buffer never past high water + a chunk.
    expect(net.alice.opened).toHaveLength(1);
    expect(net.alice.opened[0]!.label).toBe(FILE_CHANNEL_LABEL);
    expect(net.alice.headers).toEqual([{ v: 1, transferId: id, offset: 0, channelAcks: true }]);
    expect(net.alice.largestChunk).toBe(64 * 1024);
    expect(net.alice.binaryChunks).toBe(12 * 16);
    expect(net.alice.binaryBytesSent).toBe(data.length);
    expect(net.alice.maxBufferedAfterSend).toBeLessThanOrEqual(
      FILE_TRANSFER_DEFAULTS.highWaterMark + FILE_TRANSFER_DEFAULTS.chunkSize,
    );

    // Progress moved through the middle, with a speed and a time left, on both sides.
    for (const views of [sentViews, receivedViews]) {
      const moving = views.filter((v) => v.id === id && v.state === 'transferring');
      expect(moving.some((v) => v.bytes > 0 && v.bytes < data.length)).toBe(true);
      expect(moving.some((v) => v.bytesPerSecond > 0 && v.secondsLeft !== null && v.secondsLeft > 0)).toBe(
        true,
      );
      const bytes = views.filter((v) => v.id === id).map((v) => v.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    }
    expect(sent.bytesPerSecond).toBe(0);
    // The receiver acknowledged along the way (every MiB, or sooner when idle), not only at the end.
    const acks = ends.bobLink.sent.filter((b) => b.kind === 'file-ack');
    expect(acks.length).toBeGreaterThanOrEqual(12);
    expect(acks.at(-1)).toMatchObject({ offset: data.length });
  });

  it('backpressure: the send buffer fills to high water, never past it by more than a chunk, and drains', async () => {
    // A trivial hasher on both ends and no ack window let the sender outrun SCTP. In one process
    // that is likely, not certain: SCTP takes ~2 MiB before anything stays buffered, and the JS
    // thread (shared with the receiver here) is sometimes the slower side. So up to three files.
    const ends = await setup({
      alice: { createHasher: lengthHasher, maxUnackedBytes: 64 * MiB },
      bob: { createHasher: lengthHasher },
    });
    const { highWaterMark, lowWaterMark, chunkSize } = FILE_TRANSFER_DEFAULTS;
    for (let attempt = 0; attempt < 3 && ends.net.alice.lowEvents === 0; attempt++) {
      const data = randomBytes(32 * MiB);
      const { received } = await transfer(ends, new Blob([data]));
      expect(received.state).toBe('done');
      expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
      expect(ends.net.alice.maxBufferedAfterSend).toBeLessThanOrEqual(highWaterMark + chunkSize);
    }
    expect(ends.net.alice.maxBufferedAfterSend).toBeGreaterThanOrEqual(highWaterMark);
    expect(ends.net.alice.lowEvents).toBeGreaterThan(0);
    expect(ends.net.alice.opened[0]!.bufferedAmountLowThreshold).toBe(lowWaterMark);
  });

  it("keeps chunks within the peer's maxMessageSize", async () => {
    const ends = await setup();
    ends.net.alice.maxMessage = 16 * 1024;
    const data = randomBytes(MiB);
    const { received } = await transfer(ends, new Blob([data]));
    expect(received.state).toBe('done');
    expect(ends.net.alice.largestChunk).toBe(16 * 1024);
    expect(ends.net.alice.binaryChunks).toBe(64);
  });

  it('a declined offer opens no channel on either side', async () => {
    const { net, alice, bob } = await setup();
    const id = alice.send(new Blob([randomBytes(1000)]), 'nope.txt');
    await inState(bob, id, 'offered');
    bob.decline(id);
    expect(bob.transfers[0]).toMatchObject({ state: 'declined' });
    expect(await inState(alice, id, 'declined')).toMatchObject({ state: 'declined', bytes: 0 });
    expect(net.alice.opened).toHaveLength(0);
  });

  it('the sender cancels mid-transfer: channel closed, sink aborted, no more reads', async () => {
    const ends = await setup();
    const { net, alice, bob } = ends;
    const blob = new CountingBlob([randomBytes(12 * MiB)]);
    const id = alice.send(blob, 'big.bin');
    await inState(bob, id, 'offered');
    const sink = new RecordingSink();
    // Cancel once 2 MiB have left, from the sender's side of things.
    net.alice.tamper = (chunk, index) => {
      if (index === 32) {
        queueMicrotask(() => alice.cancel(id));
      }
      return chunk;
    };
    await bob.accept(id, sink);
    const [sent, received] = await bothIn(ends, id, 'cancelled');
    expect(sent.cancelledBy).toBe('self');
    expect(received.cancelledBy).toBe('peer');
    expect(received.file).toBeNull();
    expect(sink.aborted).toBe(true);
    expect(sink.closed).toBe(false);
    await expect.poll(() => net.alice.opened[0]!.readyState).toBe('closed');
    await expect.poll(() => net.bob.received[0]!.readyState).toBe('closed');
    expect(await expectSenderStopped(blob, net)).toBeLessThan(12 * MiB);
    expect(ends.aliceLink.sent.filter((b) => b.kind === 'file-end')).toHaveLength(0);
  });

  it('the receiver cancels mid-transfer: the sender stops reading and sending', async () => {
    // The sender may run at most 2 MiB ahead of the receiver's acks, and the receiver's disk is slow.
    const ends = await setup({ alice: { maxUnackedBytes: 2 * MiB } });
    const { net, alice, bob, bobLink } = ends;
    const blob = new CountingBlob([randomBytes(12 * MiB)]);
    const id = alice.send(blob, 'big.bin');
    await inState(bob, id, 'offered');
    const sink = slow(new RecordingSink());
    sink.onWrite = (total) => {
      if (total >= 2 * MiB && bob.transfers[0]!.state === 'transferring') {
        bob.cancel(id);
      }
    };
    await bob.accept(id, sink);
    const [sent, received] = await bothIn(ends, id, 'cancelled');
    expect(sent.cancelledBy).toBe('peer');
    expect(received.cancelledBy).toBe('self');
    expect(bobLink.sent.at(-1)).toEqual({ kind: 'file-cancel', transferId: id, reason: 'user' });
    expect(sink.aborted).toBe(true);
    await expect.poll(() => net.alice.opened[0]!.readyState).toBe('closed');
    expect(await expectSenderStopped(blob, net)).toBeLessThanOrEqual(2 * MiB + 2 * MiB);
  });

  it('resumes from what the receiver stored when the data channel closes mid-transfer', async () => {
    const ends = await setup();
    const { net, alice, bob } = ends;
    const data = randomBytes(12 * MiB);
    const receivedViews = record(bob);
    const sentViews = record(alice);
    // Close the sender's channel right behind its 48th chunk (3 MiB), with data still buffered.
    net.alice.tamper = (chunk, index) => {
      if (index === 47) {
        queueMicrotask(() => net.alice.opened[0]!.close());
      }
      return chunk;
    };
    const { id, sent, received } = await transfer(ends, new Blob([data]), 'data.bin');

    expect(received.state).toBe('done');
    expect(sent.state).toBe('done');
    expect(received.sha256).toBe(sha256(data));
    expect(sent.sha256).toBe(sha256(data));
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(receivedViews.some((v) => v.id === id && v.state === 'paused')).toBe(true);
    expect(sentViews.some((v) => v.id === id && v.state === 'paused')).toBe(true);
    // A second channel from where the receiver's bytes ended, and little sent twice.
    expect(net.alice.headers).toHaveLength(2);
    const resumedAt = net.alice.headers[1]!.offset;
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(3 * MiB);
    const resume = ends.bobLink.sent.find((b) => b.kind === 'file-resume');
    expect(resume).toEqual({ kind: 'file-resume', transferId: id, offset: resumedAt });
    const resent = net.alice.binaryBytesSent - data.length;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThanOrEqual(MiB);
  });

  it('resumes on a rebuilt connection (a fresh pair of peer connections, then onReconnected)', async () => {
    const ends = await setup();
    const { net, bob } = ends;
    const data = randomBytes(12 * MiB);
    const receivedViews = record(bob);
    // Both connections close right behind a burst of chunks: what was still buffered or in
    // flight is lost with them.
    const reconnecting: Array<Promise<void>> = [];
    net.alice.tamper = (chunk, index) => {
      if (index === 40) {
        queueMicrotask(() => reconnecting.push(net.reconnect()));
      }
      return chunk;
    };
    const { id, sent, received } = await transfer(ends, new Blob([data]), 'data.bin');
    await Promise.all(reconnecting);
    expect(reconnecting).toHaveLength(1);

    expect([sent.state, received.state]).toEqual(['done', 'done']);
    expect(received.sha256).toBe(sha256(data));
    expect(sent.sha256).toBe(sha256(data));
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    expect(receivedViews.some((v) => v.id === id && v.state === 'paused')).toBe(true);
    const resent = net.alice.binaryBytesSent - data.length;
    expect(resent).toBeLessThanOrEqual(MiB);
    // The bytes after the break came over the new connection's channels.
    expect(net.alice.headers.at(-1)!.offset).toBeGreaterThan(0);
    await expect.poll(() => net.alice.opened.at(-1)!.readyState).toBe('closed');
  });

  it('offers a transfer again to a receiver that lost it in a reload, and starts over when accepted', async () => {
    const ends = await setup();
    const { net, alice, bobLink } = ends;
    const data = randomBytes(6 * MiB);
    const id = alice.send(new Blob([data]), 'data.bin');
    await inState(ends.bob, id, 'offered');
    await ends.bob.accept(id, slow(new RecordingSink()));
    await until(ends.bob, id, (v) => v.bytes > MiB);
    // Bob's page reloads: his engine and everything it held are gone; a new one starts empty.
    ends.bob.dispose();
    const bob = new FileTransfers({ link: bobLink, channels: net.bob });
    cleanups.push(() => bob.dispose());
    await net.reconnect();
    const offered = await inState(bob, id, 'offered');
    expect([offered.name, offered.size]).toEqual(['data.bin', data.length]);
    await bob.accept(id);
    const [sent, received] = await bothIn({ alice, bob }, id, 'done', 'failed', 'cancelled');
    expect([sent.state, received.state]).toEqual(['done', 'done']);
    expect(received.sha256).toBe(sha256(data));
    expect(Buffer.from(await bytesOf(received.file!)).equals(data)).toBe(true);
    // From the first byte again, on the new connection.
    expect(net.alice.headers.at(-1)!.offset).toBe(0);
  });

  it('tells a receiver whose sender lost the transfer in a reload, instead of leaving it waiting', async () => {
    const ends = await setup();
    const { net, aliceLink, bob } = ends;
    const data = randomBytes(6 * MiB);
    const id = ends.alice.send(new Blob([data]), 'data.bin');
    await inState(bob, id, 'offered');
    await bob.accept(id, slow(new RecordingSink()));
    await until(bob, id, (v) => v.bytes > MiB);
    // Alice's page reloads: the file she was sending is gone with it.
    ends.alice.dispose();
    const alice = new FileTransfers({ link: aliceLink, channels: net.alice });
    cleanups.push(() => alice.dispose());
    await net.reconnect();
    expect(await inState(bob, id, 'failed', 'cancelled', 'done')).toMatchObject({
      state: 'failed',
      error: 'peer_failed',
    });
    expect(alice.transfers).toEqual([]);
  });

  it('detects a chunk altered in transit: both ends fail with hash_mismatch, nothing is kept', async () => {
    const ends = await setup();
    ends.net.alice.tamper = (chunk, index) => {
      if (index === 5) {
        chunk[100] = chunk[100]! ^ 0xff;
      }
      return chunk;
    };
    const sink = new RecordingSink();
    const { sent, received } = await transfer(ends, new Blob([randomBytes(MiB)]), 'x.bin', sink);
    expect(sent).toMatchObject({ state: 'failed', error: 'hash_mismatch' });
    expect(received).toMatchObject({ state: 'failed', error: 'hash_mismatch', file: null, sha256: null });
    expect(sink.aborted).toBe(true);
    expect(ends.bobLink.sent.at(-1)).toMatchObject({ kind: 'file-result', ok: false });
  });

  it('previews only raster images recognised by their bytes, whatever the name and MIME type say', async () => {
    const ends = await setup();
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const files: Array<[string, Blob, string | null]> = [
      ['a.png', new Blob([new Uint8Array([...png, 1, 2, 3])], { type: 'image/png' }), 'image/png'],
      ['photo', new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16])]), 'image/jpeg'],
      ['a.gif', new Blob(['GIF89a\x01\x00\x01\x00']), 'image/gif'],
      ['a.webp', new Blob(['RIFF\x24\x00\x00\x00WEBPVP8 ']), 'image/webp'],
      ['a.svg', new Blob(['<svg xmlns="http://www.w3.org/2000/svg"/>'], { type: 'image/svg+xml' }), null],
      ['x.png', new Blob(['<html><script>alert(1)</script>'], { type: 'image/png' }), null],
    ];
    const results = await Promise.all(files.map(([name, blob]) => transfer(ends, blob, name)));
    for (const [i, { received }] of results.entries()) {
      const expected = files[i]![2];
      expect(received.state).toBe('done');
      expect(received.file!.type).toBe(DOWNLOAD_MIME);
      expect(received.image?.type ?? null).toBe(expected);
      if (received.image) {
        expect(received.image.size).toBe(received.size);
      }
    }
  });

  it('refuses a file too large for memory, and takes it into a WritableSink', async () => {
    const ends = await setup({ bob: { maxInMemoryBytes: MiB } });
    const { alice, bob } = ends;
    const data = randomBytes(2 * MiB);
    const id = alice.send(new Blob([data]), 'big.iso');
    await inState(bob, id, 'offered');
    await bob.accept(id);
    expect(bob.transfers[0]).toMatchObject({ state: 'failed', error: 'too_large' });
    expect(await inState(alice, id, 'failed')).toMatchObject({ error: 'peer_failed' });

    const chunks: Uint8Array[] = [];
    let closed = false;
    const disk = new WritableStream<Uint8Array>({
      write: (chunk) => void chunks.push(chunk),
      close: () => void (closed = true),
    });
    const { received } = await transfer(ends, new Blob([data]), 'big.iso', new WritableSink(disk));
    expect(received).toMatchObject({ state: 'done', file: null, image: null, sha256: sha256(data) });
    expect(closed).toBe(true);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('sends an empty file (hash of nothing, no channel)', async () => {
    const ends = await setup();
    const { sent, received } = await transfer(ends, new Blob([]), 'empty.txt');
    const empty = sha256(new Uint8Array(0));
    expect(sent).toMatchObject({ state: 'done', sha256: empty });
    expect(received).toMatchObject({ state: 'done', sha256: empty, bytes: 0 });
    expect(received.file!.size).toBe(0);
    expect(ends.net.alice.opened).toHaveLength(0);
  });

  it('fails with read_failed when the file cannot be read, and tells the peer', async () => {
    const ends = await setup();
    const unreadable = {
      size: 3 * MiB,
      type: '',
      slice: () => ({ arrayBuffer: () => Promise.reject(new DOMException('gone', 'NotReadableError')) }),
    } as unknown as Blob;
    const { sent, received } = await transfer(ends, unreadable);
    expect(sent).toMatchObject({ state: 'failed', error: 'read_failed' });
    expect(received).toMatchObject({ state: 'failed', error: 'peer_failed' });
  });

  it('fails with storage_failed when the sink cannot write, and tells the peer', async () => {
    const ends = await setup();
    const sink = new RecordingSink();
    sink.failAfter = MiB;
    const { sent, received } = await transfer(ends, new Blob([randomBytes(3 * MiB)]), 'x', sink);
    expect(received).toMatchObject({ state: 'failed', error: 'storage_failed' });
    expect(sent).toMatchObject({ state: 'failed', error: 'peer_failed' });
    expect(sink.aborted).toBe(true);
  });
});

describe('FileTransfers against a hostile peer', () => {
  /** Alice without an engine: the test speaks for her, on the same link and channels. */
  async function hostile(size: number, name = 'x.bin', bob: Partial<FileTransfersOptions> = {}) {
    const ends = await setup({ alice: false, bob });
    const transferId = 'hostile-transfer-1';
    ends.aliceLink.send({ kind: 'file-offer', transferId, name, size, mime: 'application/pdf' });
    await inState(ends.bob, transferId, 'offered');
    const sink = new RecordingSink();
    const accepted = ends.bobLink.next('file-accept');
    await ends.bob.accept(transferId, sink);
    await accepted;
    /** A channel of Alice's, open and flushed after sending `frames`. */
    const channel = async (...frames: Array<string | Uint8Array<ArrayBuffer>>) => {
      const c = ends.net.alice.open(FILE_CHANNEL_LABEL)!;
      c.binaryType = 'arraybuffer';
      if (c.readyState !== 'open') {
        await new Promise((r) => c.addEventListener('open', r, { once: true }));
      }
      for (const frame of frames) {
        c.send(frame as string);
      }
      await expect.poll(() => c.bufferedAmount).toBe(0);
      return c;
    };
    const header = (offset = 0, id = transferId) => JSON.stringify({ v: 1, transferId: id, offset });
    return { ...ends, transferId, sink, channel, header };
  }

  it('sanitises names, ignores duplicate offers and bodies for unknown or wrong-direction transfers', async () => {
    const { aliceLink, bob } = await setup({ alice: false });
    const names: Array<[string, string]> = [
      ['../../etc/passwd', 'passwd'],
      ['C:\\Windows\\System32\\evil.exe', 'evil.exe'],
      ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
      ['CON', '_CON'],
      ['...', 'file'],
      ['a\u0000b\nc.txt', 'abc.txt'],
    ];
    for (const [i, [name]] of names.entries()) {
      aliceLink.send({ kind: 'file-offer', transferId: `offer-000${i}`, name, size: 10, mime: 'text/html' });
    }
    // The same id again (another name, another size): ignored.
    aliceLink.send({ kind: 'file-offer', transferId: 'offer-0000', name: 'other', size: 99, mime: '' });
    const unknown: Body[] = [
      { kind: 'file-ack', transferId: 'unknown-id', offset: 5 },
      { kind: 'file-end', transferId: 'unknown-id', sha256: 'a'.repeat(64) },
      { kind: 'file-cancel', transferId: 'unknown-id', reason: 'user' },
      { kind: 'file-resume', transferId: 'unknown-id', offset: 0 },
      { kind: 'file-result', transferId: 'unknown-id', ok: true },
      // Bodies only a receiver sends, about a transfer Bob receives.
      { kind: 'file-accept', transferId: 'offer-0001' },
      { kind: 'file-ack', transferId: 'offer-0001', offset: 10 },
    ];
    for (const body of unknown) {
      aliceLink.send(body);
    }
    await expect.poll(() => bob.counters.ignoredBodies).toBe(unknown.length + 1);
    expect(bob.transfers.map((v) => v.name)).toEqual(names.map(([, sanitised]) => sanitised));
    expect(bob.transfers.map((v) => [v.state, v.size])).toEqual(names.map(() => ['offered', 10]));
    expect(bob.counters.handlerErrors).toBe(0);
  });

  it('refuses more bytes than declared: size_exceeded, the peer told, nothing kept', async () => {
    const { bob, bobLink, transferId, sink, channel, header } = await hostile(100_000);
    const cancelled = bobLink.next('file-cancel');
    await channel(header(), new Uint8Array(64 * 1024), new Uint8Array(64 * 1024));
    expect(await cancelled).toEqual({ kind: 'file-cancel', transferId, reason: 'error' });
    expect(bob.transfers[0]).toMatchObject({ state: 'failed', error: 'size_exceeded', file: null });
    expect(sink.aborted).toBe(true);
    expect(sink.written).toBeLessThanOrEqual(100_000);
  });

  it('closes channels with a bad header, then takes a good one; a file-end before the bytes waits', async () => {
    const { aliceLink, bob, transferId, channel, header } = await hostile(1000);
    const data = randomBytes(1000);
    const bad = [
      await channel(new Uint8Array([1, 2, 3])),
      await channel('not json'),
      await channel(header(0, 'some-other-id')),
      await channel(header(500)),
      await channel(JSON.stringify({ v: 2, transferId, offset: 0 })),
      await channel(header().padEnd(2000)),
    ];
    for (const c of bad) {
      await expect.poll(() => c.readyState).toBe('closed');
    }
    expect(bob.counters.rejectedChannels).toBe(bad.length);
    expect(bob.transfers[0]!.state).toBe('transferring');

    // The hash first, the bytes later: Bob waits for them.
    aliceLink.send({ kind: 'file-end', transferId, sha256: sha256(data) });
    await settle(50);
    expect(bob.transfers[0]!.state).toBe('transferring');
    await channel(header(), data.subarray(0, 600), data.subarray(600));
    const done = await inState(bob, transferId, 'done', 'failed');
    expect(done).toMatchObject({ state: 'done', sha256: sha256(data) });
    expect(Buffer.from(await bytesOf(done.file!)).equals(data)).toBe(true);
    expect(bob.counters.handlerErrors).toBe(0);
  });

  it('a receiver can neither make the sender run ahead of its acks nor ask for bytes never sent', async () => {
    const { net, alice, aliceLink, bobLink } = await setup({ bob: false });
    const offered = aliceLink.next('file-offer');
    const id = alice.send(new Blob([randomBytes(4 * MiB)]), 'x.bin');
    await offered;
    bobLink.send({ kind: 'file-accept', transferId: id });
    // Nothing is acknowledged: the sender stops after its window.
    const window = FILE_TRANSFER_DEFAULTS.maxUnackedBytes;
    await expect.poll(() => net.alice.binaryBytesSent).toBe(window);
    await settle(100);
    expect(net.alice.binaryBytesSent).toBe(window);
    // An ack beyond what was sent is ignored; a resume beyond it is clamped to it.
    bobLink.send({ kind: 'file-ack', transferId: id, offset: 3 * MiB });
    bobLink.send({ kind: 'file-resume', transferId: id, offset: 50 * MiB });
    await expect.poll(() => net.alice.headers.length).toBe(2);
    expect(net.alice.headers[1]).toEqual({ v: 1, transferId: id, offset: window, channelAcks: true });
    expect(alice.counters.ignoredBodies).toBe(1);
    await expect.poll(() => net.alice.binaryBytesSent).toBe(2 * window);
    expect(alice.counters.handlerErrors).toBe(0);
  });

  it('replaces a channel that goes silent, asking for the rest from what was stored', async () => {
    const { aliceLink, bobLink, bob, transferId, channel, header } = await hostile(1000, 'x.bin', {
      stallTimeoutMs: 300,
    });
    const data = randomBytes(1000);
    const resumed = bobLink.next('file-resume');
    const silent = await channel(header(), data.subarray(0, 300));
    expect(await resumed).toEqual({ kind: 'file-resume', transferId, offset: 300 });
    await expect.poll(() => silent.readyState).toBe('closed');
    expect(bob.transfers[0]!.state).toBe('paused');
    await channel(header(300), data.subarray(300));
    aliceLink.send({ kind: 'file-end', transferId, sha256: sha256(data) });
    const done = await inState(bob, transferId, 'done', 'failed');
    expect(done.state).toBe('done');
    expect(Buffer.from(await bytesOf(done.file!)).equals(data)).toBe(true);
  });

  it('fails a sender that claims the end but keeps delivering nothing', async () => {
    const { aliceLink, bobLink, bob, transferId, channel, header } = await hostile(1000);
    aliceLink.send({ kind: 'file-end', transferId, sha256: 'b'.repeat(64) });
    const first = await channel(header(), new Uint8Array(500));
    first.close();
    // Each resume request is answered with a channel that closes without a byte.
    const off = bobLink.onSent((body) => {
      if (body.kind !== 'file-resume') {
        return;
      }
      void channel(header(body.offset)).then((c) => c.close());
    });
    const failed = await inState(bob, transferId, 'failed');
    off();
    expect(failed.error).toBe('peer_failed');
    expect(
      bobLink.sent.filter((b) => b.kind === 'file-resume').map((b) => (b as { offset: number }).offset),
    ).toEqual([500, 500, 500]);
  });
});
