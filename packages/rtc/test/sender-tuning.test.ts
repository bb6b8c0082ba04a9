import { describe, expect, it } from 'vitest';
import { senderSettings } from '../src/media/quality-policy.js';
import { SenderTuning } from '../src/media/sender-tuning.js';

/**
 * A sender that behaves like the browser's where it matters here: `getParameters()` hands out a
 * copy with a transaction id, and `setParameters()` refuses a copy that is not the latest.
 */
class FakeSender {
  writes = 0;
  private parameters: RTCRtpSendParameters;
  private transaction = 0;

  constructor(
    readonly track: { kind: string; getSettings(): { height?: number } } | null,
    encodings: RTCRtpEncodingParameters[] = [{ active: true }],
  ) {
    this.parameters = { transactionId: '0', encodings, codecs: [], headerExtensions: [], rtcp: {} };
  }

  getParameters(): RTCRtpSendParameters {
    return structuredClone({ ...this.parameters, transactionId: String(this.transaction) });
  }

  async setParameters(parameters: RTCRtpSendParameters): Promise<void> {
    await Promise.resolve();
    if (parameters.transactionId !== String(this.transaction)) {
      throw new DOMException('stale parameters', 'InvalidModificationError');
    }
    this.transaction += 1;
    this.writes += 1;
    this.parameters = structuredClone(parameters);
  }

  get encoding(): RTCRtpEncodingParameters {
    return this.parameters.encodings[0]!;
  }

  get degradation(): RTCDegradationPreference | undefined {
    return this.parameters.degradationPreference;
  }
}

const camera = (height: number) => ({ kind: 'video', getSettings: () => ({ height }) });

function tuning(video: FakeSender | undefined, audio?: FakeSender) {
  const errors: unknown[] = [];
  const tuner = new SenderTuning(
    {
      video: () => video as unknown as RTCRtpSender | undefined,
      audio: () => audio as unknown as RTCRtpSender | undefined,
    },
    (_message, detail) => errors.push(detail),
  );
  return { tuner, errors };
}

describe('SenderTuning', () => {
  it('applies a step: bitrate, frame rate, the scale for this source, the degradation preference', async () => {
    const video = new FakeSender(camera(480));
    const { tuner, errors } = tuning(video);
    expect(await tuner.setTarget(senderSettings('saver', 4))).toBe(true);
    expect(video.encoding).toMatchObject({ maxBitrate: 300_000, maxFramerate: 15, scaleResolutionDownBy: 2 });
    expect(video.degradation).toBe('balanced');
    expect(errors).toEqual([]);
  });

  it('gives audio priority, once per sender', async () => {
    const audio = new FakeSender({ kind: 'audio', getSettings: () => ({}) });
    const { tuner } = tuning(new FakeSender(camera(480)), audio);
    await tuner.setTarget(senderSettings('auto', 0));
    await tuner.setTarget(senderSettings('auto', 3));
    expect(audio.encoding).toMatchObject({ priority: 'high', networkPriority: 'high' });
    expect(audio.writes).toBe(1);
  });

  it('does not write what is already set', async () => {
    const video = new FakeSender(camera(720));
    const { tuner } = tuning(video);
    await tuner.setTarget(senderSettings('auto', 3));
    await tuner.setTarget(senderSettings('auto', 3));
    expect(video.writes).toBe(1);
  });

  it('the stronger scale-down of the start scale and the step wins, and each survives the other', async () => {
    const video = new FakeSender(camera(720));
    const { tuner } = tuning(video);
    await tuner.setStartScale(2);
    await tuner.setTarget(senderSettings('auto', 0));
    expect(video.encoding.scaleResolutionDownBy).toBe(2);
    await tuner.setTarget(senderSettings('saver', 4));
    expect(video.encoding.scaleResolutionDownBy).toBe(3);
    // The end of the start scale does not undo Data saver.
    await tuner.setStartScale(1);
    expect(video.encoding.scaleResolutionDownBy).toBe(3);
    await tuner.setTarget(senderSettings('auto', 0));
    expect(video.encoding.scaleResolutionDownBy).toBe(1);
  });

  it('writes one at a time, so none is refused as stale', async () => {
    const video = new FakeSender(camera(720));
    const { tuner, errors } = tuning(video);
    const results = await Promise.all([
      tuner.setStartScale(2),
      tuner.setTarget(senderSettings('auto', 2)),
      tuner.setTarget(senderSettings('auto', 3)),
      tuner.setStartScale(1),
    ]);
    expect(results).toEqual([true, true, true, true]);
    expect(errors).toEqual([]);
    expect(video.encoding).toMatchObject({ maxBitrate: 500_000, scaleResolutionDownBy: 2 });
  });

  it('without a video sender (an audio call, a callee before the offer) there is nothing to write', async () => {
    const { tuner } = tuning(undefined);
    expect(await tuner.setTarget(senderSettings('auto', 0))).toBe(false);
  });

  it('a refusing browser is logged, not thrown', async () => {
    const video = new FakeSender(camera(480));
    video.setParameters = () => Promise.reject(new DOMException('no', 'InvalidStateError'));
    const { tuner, errors } = tuning(video);
    expect(await tuner.setTarget(senderSettings('saver', 4))).toBe(false);
    expect(errors).toHaveLength(1);
  });

  it('writes nothing once closed', async () => {
    const video = new FakeSender(camera(480));
    const { tuner } = tuning(video);
    tuner.close();
    expect(await tuner.setTarget(senderSettings('saver', 4))).toBe(false);
    expect(video.writes).toBe(0);
  });
});
