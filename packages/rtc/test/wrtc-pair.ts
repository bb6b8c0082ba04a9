import wrtc from '@roamhq/wrtc';

/** Two real (libwebrtc) peer connections on loopback, connected, with a negotiated channel pair. */
export async function connectedPair(label = 'duet', id = 0) {
  const a = new wrtc.RTCPeerConnection();
  const b = new wrtc.RTCPeerConnection();
  a.addEventListener('icecandidate', (e) => void (e.candidate && b.addIceCandidate(e.candidate)));
  b.addEventListener('icecandidate', (e) => void (e.candidate && a.addIceCandidate(e.candidate)));
  const channelA = a.createDataChannel(label, { negotiated: true, id });
  const channelB = b.createDataChannel(label, { negotiated: true, id });
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(offer);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  const opened = (c: RTCDataChannel) =>
    c.readyState === 'open'
      ? Promise.resolve()
      : new Promise((r) => c.addEventListener('open', r, { once: true }));
  await Promise.all([opened(channelA), opened(channelB)]);
  return {
    a,
    b,
    channelA,
    channelB,
    close() {
      a.close();
      b.close();
    },
  };
}
