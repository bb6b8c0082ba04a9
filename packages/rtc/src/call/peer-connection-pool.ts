import type { PeerConnectionFactory } from './call-session.js';

/*
 * A peer connection made ahead of need. Why: a call makes its RTCPeerConnection the moment it is
 * dialled or rings (the caller's offer goes out while it rings), and making one is slow: the page's
 * first one starts WebRTC's threads, and every one generates its DTLS certificate before it can
 * offer or answer. While its user is free in a room, the client keeps one made with the
 * configuration the next call will ask for, and the call uses it if it asks for exactly that. Not
 * `setConfiguration` on a connection made without ICE servers: Chromium then gathered no relay
 * candidates from TURN servers added that way, and calls that need TURN never connected. Leaving
 * the room closes the spare.
 */

export class PeerConnectionPool {
  private spare: { connection: RTCPeerConnection; configuration: RTCConfiguration } | null = null;

  constructor(private readonly make: PeerConnectionFactory) {}

  /** Have a connection ready for `configuration` (the next call's). */
  prepare(configuration: RTCConfiguration): void {
    if (this.spare && sameConfiguration(this.spare.configuration, configuration)) {
      return;
    }
    this.discard();
    try {
      this.spare = { connection: this.make(configuration), configuration };
    } catch {
      // Made on demand instead, where the failure is reported.
    }
  }

  /** No call is coming (we left the room): release it. */
  discard(): void {
    this.spare?.connection.close();
    this.spare = null;
  }

  /** Whether a spare is waiting (for diagnostics). */
  get ready(): boolean {
    return this.spare !== null;
  }

  /** The factory for the call: the spare if it was made for this configuration, else a new one. */
  readonly create = (configuration: RTCConfiguration): RTCPeerConnection => {
    const spare = this.spare;
    this.spare = null;
    if (
      spare &&
      sameConfiguration(spare.configuration, configuration) &&
      spare.connection.signalingState !== 'closed'
    ) {
      return spare.connection;
    }
    spare?.connection.close();
    return this.make(configuration);
  };
}

/**
 * The same ICE servers (in order), policies, bundling and certificates: a connection made for one
 * fits the other. (A spare made before this browser's kept certificate was loaded would present a
 * fresh one, and the peer would take us for another device.)
 */
export function sameConfiguration(a: RTCConfiguration, b: RTCConfiguration): boolean {
  const servers = (c: RTCConfiguration) => c.iceServers ?? [];
  const urls = (s: RTCIceServer) => (Array.isArray(s.urls) ? s.urls : [s.urls]);
  const sa = servers(a);
  const sb = servers(b);
  return (
    a.bundlePolicy === b.bundlePolicy &&
    a.iceTransportPolicy === b.iceTransportPolicy &&
    sameCertificates(a.certificates, b.certificates) &&
    sa.length === sb.length &&
    sa.every((s, i) => {
      const t = sb[i];
      if (!t || s.username !== t.username || s.credential !== t.credential) {
        return false;
      }
      const su = urls(s);
      const tu = urls(t);
      return su.length === tu.length && su.every((u, j) => u === tu[j]);
    })
  );
}

function sameCertificates(a: RTCCertificate[] | undefined, b: RTCCertificate[] | undefined): boolean {
  const ca = a ?? [];
  const cb = b ?? [];
  return ca.length === cb.length && ca.every((certificate, i) => certificate === cb[i]);
}
