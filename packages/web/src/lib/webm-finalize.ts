/**
 * Make a MediaRecorder WebM file complete: Chromium's (checked with ffprobe on Chromium 156) has no
 * duration ("Duration: N/A") and no cues, because MediaRecorder writes as it goes and never goes
 * back; players then show no length and cannot seek. Remuxing it with mediabunny (the same packets,
 * no re-encoding) writes both. mediabunny is loaded only here, when a recording ends, so it costs
 * the app's first load nothing.
 *
 * The remux also mends timestamps. WebM keeps them in whole milliseconds, and on a busy machine the
 * canvas capture can hand MediaRecorder two frames within the same millisecond: the file then has two
 * packets with one timestamp, which ffmpeg reports ("non monotonically increasing dts") and some
 * players stutter on. Each track's packets are written strictly increasing, a late one moved to a
 * millisecond after the one before it.
 */
import type { EncodedPacket, InputAudioTrack, InputVideoTrack } from 'mediabunny';

/** WebM's timestamp unit (its default TimecodeScale), in seconds. */
const TICK_S = 0.001;

/** One track being copied: where its packets come from and go to, and the last timestamp written. */
interface TrackCopy {
  packets: AsyncGenerator<EncodedPacket, void, unknown>;
  next: EncodedPacket | null;
  add: (packet: EncodedPacket, first: boolean) => Promise<void>;
  lastTimestamp: number;
  written: number;
}

export async function finalizeWebm(recorded: Blob): Promise<Blob> {
  const {
    BlobSource,
    BufferTarget,
    EncodedAudioPacketSource,
    EncodedPacketSink,
    EncodedVideoPacketSource,
    Input,
    Output,
    WEBM,
    WebMOutputFormat,
  } = await import('mediabunny');
  const input = new Input({ formats: [WEBM], source: new BlobSource(recorded) });
  const target = new BufferTarget();
  const output = new Output({ format: new WebMOutputFormat(), target });

  const copies: TrackCopy[] = [];
  const copyOf = (track: InputVideoTrack | InputAudioTrack, add: TrackCopy['add']): TrackCopy => ({
    packets: new EncodedPacketSink(track).packets(),
    next: null,
    add,
    lastTimestamp: -Infinity,
    written: 0,
  });
  const video = await input.getPrimaryVideoTrack();
  if (video) {
    const codec = await video.getCodec();
    const decoderConfig = await video.getDecoderConfig();
    if (!codec || !decoderConfig) {
      throw new Error('the recording’s video track has no codec this remux knows');
    }
    const source = new EncodedVideoPacketSource(codec);
    output.addVideoTrack(source);
    copies.push(copyOf(video, (packet, first) => source.add(packet, first ? { decoderConfig } : undefined)));
  }
  const audio = await input.getPrimaryAudioTrack();
  if (audio) {
    const codec = await audio.getCodec();
    const decoderConfig = await audio.getDecoderConfig();
    if (!codec || !decoderConfig) {
      throw new Error('the recording’s audio track has no codec this remux knows');
    }
    const source = new EncodedAudioPacketSource(codec);
    output.addAudioTrack(source);
    copies.push(copyOf(audio, (packet, first) => source.add(packet, first ? { decoderConfig } : undefined)));
  }
  if (copies.length === 0) {
    throw new Error('the recording has no track');
  }
  await output.start();

  // Interleave the tracks by timestamp, as a muxer expects them (and as MediaRecorder wrote them).
  for (const copy of copies) {
    copy.next = (await copy.packets.next()).value ?? null;
  }
  for (;;) {
    let earliest: TrackCopy | null = null;
    let packet: EncodedPacket | null = null;
    for (const copy of copies) {
      if (copy.next && (!packet || copy.next.timestamp < packet.timestamp)) {
        earliest = copy;
        packet = copy.next;
      }
    }
    if (!earliest || !packet) {
      break;
    }
    const timestamp = mendedTimestamp(packet.timestamp, earliest.lastTimestamp);
    await earliest.add(
      timestamp === packet.timestamp ? packet : packet.clone({ timestamp }),
      earliest.written === 0,
    );
    earliest.lastTimestamp = timestamp;
    earliest.written++;
    earliest.next = (await earliest.packets.next()).value ?? null;
  }
  await output.finalize();
  if (!target.buffer) {
    throw new Error('the remuxed recording is empty');
  }
  return new Blob([target.buffer], { type: 'video/webm' });
}

/**
 * A packet's timestamp made strictly later than the one written before it on its track (seconds,
 * rounded to WebM's millisecond so the comparison is the one the file will have).
 */
export function mendedTimestamp(timestamp: number, previous: number): number {
  const tick = (seconds: number) => Math.round(seconds / TICK_S);
  if (previous === -Infinity || tick(timestamp) > tick(previous)) {
    return timestamp;
  }
  return (tick(previous) + 1) * TICK_S;
}
