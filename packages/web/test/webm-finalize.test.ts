import {
  BlobSource,
  BufferTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedPacketSink,
  EncodedVideoPacketSource,
  Input,
  Output,
  WEBM,
  WebMOutputFormat,
  type InputTrack,
} from 'mediabunny';
import { describe, expect, it } from 'vitest';
import { finalizeWebm, mendedTimestamp } from '../src/lib/webm-finalize.js';

/**
 * A WebM file as a busy machine's MediaRecorder writes it: two video frames in one millisecond.
 * The packets' bytes are made up (a remux never decodes them); each carries its index to be found again.
 */
async function recordedWithTwinFrames(): Promise<Blob> {
  const target = new BufferTarget();
  const output = new Output({ format: new WebMOutputFormat(), target });
  const video = new EncodedVideoPacketSource('vp8');
  const audio = new EncodedAudioPacketSource('opus');
  output.addVideoTrack(video);
  output.addAudioTrack(audio);
  await output.start();
  const videoAt = [0, 0.006, 0.006, 0.0065, 0.05, 0.09];
  for (const [i, at] of videoAt.entries()) {
    await audio.add(
      new EncodedPacket(new Uint8Array([0xa0, i]), 'key', i * 0.02, 0.02),
      i === 0 ? { decoderConfig: { codec: 'opus', numberOfChannels: 2, sampleRate: 48_000 } } : undefined,
    );
    await video.add(
      new EncodedPacket(new Uint8Array([0xf0, i]), i === 0 ? 'key' : 'delta', at, 0.04),
      i === 0 ? { decoderConfig: { codec: 'vp8', codedWidth: 640, codedHeight: 480 } } : undefined,
    );
  }
  await output.finalize();
  return new Blob([target.buffer!], { type: 'video/webm' });
}

/** Each track's packets: timestamps in whole milliseconds, and the index byte. */
async function packetsOf(file: Blob) {
  const input = new Input({ formats: [WEBM], source: new BlobSource(file) });
  const read = async (track: InputTrack | null) => {
    const out: Array<{ ms: number; index: number }> = [];
    for await (const packet of new EncodedPacketSink(track!).packets()) {
      out.push({ ms: Math.round(packet.timestamp * 1000), index: packet.data[1]! });
    }
    return out;
  };
  return {
    video: await read(await input.getPrimaryVideoTrack()),
    audio: await read(await input.getPrimaryAudioTrack()),
    durationS: await input.computeDuration(),
  };
}

describe('finalizing a recording', () => {
  it('the defect is real: the recorded file has two video packets at one millisecond', async () => {
    const { video } = await packetsOf(await recordedWithTwinFrames());
    expect(video.map((p) => p.ms)).toEqual([0, 6, 6, 7, 50, 90]);
  });

  it('writes every packet once, in order, each track strictly increasing', async () => {
    const { video, audio, durationS } = await packetsOf(await finalizeWebm(await recordedWithTwinFrames()));
    expect(video.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(video.map((p) => p.ms)).toEqual([0, 6, 7, 8, 50, 90]);
    expect(audio.map((p) => p.ms)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(durationS).toBeGreaterThanOrEqual(0.09);
  });

  it.each([
    [0.5, -Infinity, 0.5],
    [0.5, 0.4, 0.5],
    [0.5, 0.5, 0.501],
    [0.5004, 0.5, 0.501],
    [0.49, 0.5, 0.501],
  ])('a packet at %f s after one at %f s is written at %f s', (at, previous, written) => {
    expect(mendedTimestamp(at, previous)).toBeCloseTo(written, 9);
  });
});
