/**
 * A peer connection made ahead of need, for the core's `createPeerConnection`.
 *
 * Why: both sides need an RTCPeerConnection the moment a call is accepted, and making one is slow:
 * the page's first one starts WebRTC's threads, and every one generates its DTLS certificate before
 * it can offer or answer. While a call rings (seconds, usually) nothing else is going on, so one is
 * made then, with the configuration the call will ask for, and used if the call asks for exactly
 * that. Not `setConfiguration` on a connection made without ICE servers: Chromium then gathered no
 * relay candidates from TURN servers added that way, and calls that need TURN never connected.
 * A call that never starts closes the spare.
 */
export class PeerConnectionPool {
  private spare: { connection: RTCPeerConnection; configuration: string } | null = null;

  /** Have a connection ready for `configuration` (a call rings). */
  prepare(configuration: RTCConfiguration): void {
    const key = JSON.stringify(configuration);
    if (this.spare?.configuration === key || typeof RTCPeerConnection === 'undefined') return;
    this.discard();
    try {
      this.spare = { connection: new RTCPeerConnection(configuration), configuration: key };
    } catch {
      // Made on demand instead, where the failure is reported.
    }
  }

  /** The ringing ended without a call: release it. */
  discard(): void {
    this.spare?.connection.close();
    this.spare = null;
  }

  /** The factory for `DuetClient`: the spare if it was made for this configuration, else a new one. */
  readonly create = (configuration: RTCConfiguration): RTCPeerConnection => {
    const spare = this.spare;
    this.spare = null;
    if (
      spare &&
      spare.configuration === JSON.stringify(configuration) &&
      spare.connection.signalingState !== 'closed'
    ) {
      return spare.connection;
    }
    spare?.connection.close();
    return new RTCPeerConnection(configuration);
  };
}
