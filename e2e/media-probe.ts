/**
 * What a call's media does, read in the page from the browser's own statistics of its latest
 * RTCPeerConnection (recorded by netns.ts's `recordPeerConnections`): the video it sends (size,
 * rate, what limits it), the audio it receives (packets, loss, concealment), the video it decodes,
 * and the round trips. `sampleMedia` is serialized into the page; keep it self-contained.
 */

export interface MediaSample {
  /** Page clock (ms). */
  at: number;
  /** RTCPeerConnections the page has made so far (a new one means the call rebuilt its connection). */
  peerConnections: number;
  sentVideo: {
    frameHeight: number | null;
    framesPerSecond: number | null;
    qualityLimitationReason: string | null;
    bytesSent: number;
  } | null;
  receivedAudio: {
    packetsReceived: number;
    packetsLost: number;
    concealedSamples: number;
    totalSamplesReceived: number;
  } | null;
  receivedVideo: { framesDecoded: number; frameHeight: number | null } | null;
  /** Round trip by RTCP (the media's own path), ms. */
  rtcpRoundTripMs: number | null;
  /** Round trip of ICE's checks on the selected pair, ms. */
  iceRoundTripMs: number | null;
  /** The selected pair's local address. */
  localAddress: string | null;
}

export async function sampleMedia(): Promise<MediaSample | null> {
  const made = (window as unknown as { __e2ePeerConnections?: RTCPeerConnection[] }).__e2ePeerConnections;
  const pc = made?.[made.length - 1];
  if (!made || !pc) {
    return null;
  }
  const all: Record<string, unknown>[] = [];
  (await pc.getStats()).forEach((s: Record<string, unknown>) => all.push(s));
  const byId = new Map(all.map((s) => [s.id as string, s]));
  const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
  const one = (type: string, kind?: string): Record<string, unknown> | undefined =>
    all.find((s) => s.type === type && (kind === undefined || s.kind === kind));
  const out = one('outbound-rtp', 'video');
  const audio = one('inbound-rtp', 'audio');
  const video = one('inbound-rtp', 'video');
  const remoteInbound = all.filter((s) => s.type === 'remote-inbound-rtp' && num(s.roundTripTime) !== null);
  const transport = one('transport');
  const pair = byId.get(transport?.selectedCandidatePairId as string);
  const local = byId.get(pair?.localCandidateId as string);
  const rtcp = remoteInbound.map((s) => num(s.roundTripTime)!);
  return {
    at: Date.now(),
    peerConnections: made.length,
    sentVideo: out
      ? {
          frameHeight: num(out.frameHeight),
          framesPerSecond: num(out.framesPerSecond),
          qualityLimitationReason: (out.qualityLimitationReason as string | undefined) ?? null,
          bytesSent: num(out.bytesSent) ?? 0,
        }
      : null,
    receivedAudio: audio
      ? {
          packetsReceived: num(audio.packetsReceived) ?? 0,
          packetsLost: num(audio.packetsLost) ?? 0,
          concealedSamples: num(audio.concealedSamples) ?? 0,
          totalSamplesReceived: num(audio.totalSamplesReceived) ?? 0,
        }
      : null,
    receivedVideo: video
      ? { framesDecoded: num(video.framesDecoded) ?? 0, frameHeight: num(video.frameHeight) }
      : null,
    rtcpRoundTripMs: rtcp.length > 0 ? Math.round(Math.max(...rtcp) * 1000) : null,
    iceRoundTripMs:
      num(pair?.currentRoundTripTime) === null ? null : Math.round(num(pair?.currentRoundTripTime)! * 1000),
    localAddress: (local?.address as string | undefined) ?? null,
  };
}
