/**
 * A peer connection made ahead of need, for the core's `createPeerConnection`.
 *
 * Why: both sides need an RTCPeerConnection the moment a call is accepted, and making one is slow:
 * the page's first one starts WebRTC's threads, and every one generates its DTLS certificate before
 * it can offer or answer. While a call rings (seconds, usually) nothing else is going on, so one is
 * made then; when the call starts it takes the current ICE servers and policy (`setConfiguration`
 * may change both before the first negotiation) and is used. A call that never starts closes it.
 */
export class PeerConnectionPool {
  private spare: RTCPeerConnection | null = null;

  /** Have a connection ready (a call rings). */
  prepare(): void {
    if (this.spare || typeof RTCPeerConnection === 'undefined') return;
    try {
      // What the core asks for and `setConfiguration` cannot change later (see CallLink).
      this.spare = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    } catch {
      // Made on demand instead, where the failure is reported.
    }
  }

  /** The ringing ended without a call: release it. */
  discard(): void {
    this.spare?.close();
    this.spare = null;
  }

  /** The factory for `DuetClient`: the spare if there is one, else a new connection. */
  readonly create = (configuration: RTCConfiguration): RTCPeerConnection => {
    const spare = this.spare;
    this.spare = null;
    if (spare && spare.signalingState !== 'closed') {
      try {
        spare.setConfiguration({ ...spare.getConfiguration(), ...configuration });
        return spare;
      } catch {
        spare.close();
      }
    }
    return new RTCPeerConnection(configuration);
  };
}
