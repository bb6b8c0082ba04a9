import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallSession } from '../src/call-session.js';
import type { TransferView } from '../src/transfer-types.js';
import { EASED_MAX_FRAMERATE, EASE_MIN_BYTES, setVideoEased, shouldEaseVideo } from '../src/video-easing.js';

const MiB = 1024 * 1024;

function view(state: TransferView['state'], size: number): TransferView {
  return { state, size } as TransferView;
}

/** An RTCRtpSender's parameters API, remembering what it was given. */
class FakeSender {
  parameters: { encodings: RTCRtpEncodingParameters[] };
  readonly setParameters = vi.fn(async (parameters: { encodings: RTCRtpEncodingParameters[] }) => {
    this.parameters = structuredClone(parameters);
  });
  track: MediaStreamTrack | null = null;

  constructor(encodings: RTCRtpEncodingParameters[]) {
    this.parameters = { encodings };
  }

  getParameters(): { encodings: RTCRtpEncodingParameters[] } {
    return structuredClone(this.parameters);
  }

  replaceTrack(): Promise<void> {
    return Promise.resolve();
  }
}

const asSender = (sender: FakeSender): RTCRtpSender => sender as unknown as RTCRtpSender;

describe('shouldEaseVideo', () => {
  it('eases while a file of at least EASE_MIN_BYTES moves, in either direction', () => {
    expect(shouldEaseVideo([view('transferring', EASE_MIN_BYTES)])).toBe(true);
    expect(shouldEaseVideo([view('done', 64 * MiB), view('transferring', 64 * MiB)])).toBe(true);
  });

  it('does not ease for small files, or for large ones that are not moving', () => {
    expect(shouldEaseVideo([])).toBe(false);
    expect(shouldEaseVideo([view('transferring', EASE_MIN_BYTES - 1)])).toBe(false);
    for (const state of ['offered', 'waiting', 'paused', 'verifying', 'done', 'failed'] as const) {
      expect(shouldEaseVideo([view(state, 64 * MiB)])).toBe(false);
    }
  });
});

describe('setVideoEased', () => {
  it('caps every encoding at EASED_MAX_FRAMERATE and lifts the cap again, keeping the rest', async () => {
    const sender = new FakeSender([{ scaleResolutionDownBy: 2 }]);
    expect(await setVideoEased(asSender(sender), true)).toBe(true);
    expect(sender.parameters.encodings).toEqual([
      { scaleResolutionDownBy: 2, maxFramerate: EASED_MAX_FRAMERATE },
    ]);
    expect(await setVideoEased(asSender(sender), false)).toBe(true);
    expect(sender.parameters.encodings).toEqual([{ scaleResolutionDownBy: 2 }]);
  });

  it('leaves a sender with nothing negotiated alone', async () => {
    const sender = new FakeSender([]);
    expect(await setVideoEased(asSender(sender), true)).toBe(false);
    expect(sender.setParameters).not.toHaveBeenCalled();
  });
});

/** Just enough of an RTCPeerConnection for a caller's CallSession to start and offer. */
class FakePeerConnection extends EventTarget {
  readonly transceivers: Array<{
    receiver: { track: { kind: string } };
    sender: FakeSender;
    currentDirection: string | null;
  }> = [];
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription = null;
  signalingState = 'stable';
  connectionState = 'new';

  addTransceiver(kind: 'audio' | 'video'): void {
    this.transceivers.push({
      receiver: { track: { kind } },
      sender: new FakeSender([{}]),
      currentDirection: null,
    });
  }
  getTransceivers(): FakePeerConnection['transceivers'] {
    return this.transceivers;
  }
  async setLocalDescription(): Promise<void> {
    this.localDescription = { type: 'offer', sdp: '' };
  }
  createDataChannel(): EventTarget {
    return new EventTarget();
  }
  close(): void {}
}

describe('CallSession.easeVideo', () => {
  const sessions: CallSession[] = [];
  afterEach(() => {
    for (const s of sessions.splice(0)) s.close();
  });

  function caller(): { session: CallSession; video: () => FakeSender } {
    const pc = new FakePeerConnection();
    const session = new CallSession({
      polite: false,
      initiator: true,
      createPeerConnection: () => pc as unknown as RTCPeerConnection,
      configuration: {},
      sendSignal: () => undefined,
    });
    sessions.push(session);
    return { session, video: () => pc.transceivers.find((t) => t.receiver.track.kind === 'video')!.sender };
  }

  it('caps the video sender while eased and restores it after', async () => {
    const { session, video } = caller();
    session.start({ audio: null, video: null });
    await session.easeVideo(true);
    expect(video().parameters.encodings[0]!.maxFramerate).toBe(EASED_MAX_FRAMERATE);
    await session.easeVideo(false);
    expect(video().parameters.encodings[0]!.maxFramerate).toBeUndefined();
  });

  it('a connection eased before it started is capped once its first offer is made', async () => {
    const { session, video } = caller();
    await session.easeVideo(true);
    session.start({ audio: null, video: null });
    await vi.waitFor(() => expect(video().parameters.encodings[0]!.maxFramerate).toBe(EASED_MAX_FRAMERATE));
  });
});
