import { FILE_CHANNEL_LABEL } from '@duet/protocol';
import { PeerConnection, type RtcConfig } from 'node-datachannel';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import type { PeerConnectionFactory } from '@duet/rtc';
import { youngGarbage } from './young-garbage.js';

/*
 * node-datachannel's W3C polyfill differs from a browser's RTCPeerConnection in the few places the
 * core relies on; this subclass closes those gaps so the core runs unchanged:
 *
 * - By default libdatachannel negotiates by itself (an offer as soon as a channel exists, an answer
 *   as soon as an offer is applied) and the polyfill's `setLocalDescription()` with no argument
 *   does nothing. That raced the core's perfect negotiation (measured: about one call in three had
 *   its first connection torn down by "remote candidate without ICE transport"). So the native
 *   connection is made here with auto-negotiation off, and `setLocalDescription()` does what the
 *   W3C says: an answer when the peer's offer is applied, an offer otherwise.
 * - `localDescription` / `remoteDescription` are never null in the polyfill (an empty description
 *   instead); the core asks "has the peer's description come?" with a null check.
 * - `restartIce()` throws "Not implemented". An ICE restart is an optimisation: when a connection
 *   fails, the call link builds a new one anyway (a new epoch). So here it does nothing.
 * - Every received binary message is a fresh ArrayBuffer that V8 is slow to free: the bytes are
 *   counted for young-garbage.ts, which collects them every few MiB.
 */

/** Largest data-channel message we accept: Chromium's, so chunks are sized alike both ways. */
const MAX_MESSAGE_SIZE = 256 * 1024;
/** Bound on waiting for libdatachannel to publish a description it was asked for. */
const DESCRIPTION_WAIT_MS = 5000;

/**
 * ICE servers as libdatachannel takes them: `stun:host:port` or `turn:user:pass@host:port`. The
 * credentials are URL-encoded (TURN REST passwords are base64, with `/`, `+`, `=`).
 */
export function nativeIceServers(servers: readonly RTCIceServer[] = []): string[] {
  return servers.flatMap((server) => {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    return urls.map((url) => {
      const { username, credential } = server;
      if (!username || typeof credential !== 'string') {
        return url;
      }
      const [scheme, rest] = url.split(/:(.*)/s);
      return `${scheme}:${encodeURIComponent(username)}:${encodeURIComponent(credential)}@${rest ?? ''}`;
    });
  });
}

let counter = 0;

/**
 * File bytes this process handed to data channels, resends included: with the file sizes, what
 * shows how much a resumed transfer sent twice (reported in `duet send`'s last event).
 */
export const wireCounters = { fileBytesSent: 0 };

/** A received message's bytes, for young-garbage.ts. */
function countReceived(event: MessageEvent): void {
  const data: unknown = event.data;
  if (data instanceof ArrayBuffer) {
    youngGarbage.received(data.byteLength);
  }
}

/** The core's view of an RTCPeerConnection, backed by libdatachannel. */
export class NodePeerConnection extends PolyfillPeerConnection {
  private readonly native: PeerConnection;

  constructor(configuration: RTCConfiguration = {}) {
    const config: RtcConfig = {
      iceServers: nativeIceServers(configuration.iceServers),
      iceTransportPolicy: configuration.iceTransportPolicy ?? 'all',
      disableAutoNegotiation: true,
      maxMessageSize: MAX_MESSAGE_SIZE,
    };
    const native = new PeerConnection(`duet-${++counter}`, config);
    super({ iceServers: [], peerConnection: native });
    this.native = native;
    this.addEventListener('datachannel', (event) => {
      (event as RTCDataChannelEvent).channel.addEventListener('message', countReceived);
    });
  }

  override get localDescription(): RTCSessionDescription {
    // The DOM type says non-null; the core null-checks it, as a browser returns null.
    return this.native.localDescription() as RTCSessionDescription;
  }

  override get remoteDescription(): RTCSessionDescription {
    return this.native.remoteDescription() as RTCSessionDescription;
  }

  override get currentLocalDescription(): RTCSessionDescription {
    return this.localDescription;
  }

  override get currentRemoteDescription(): RTCSessionDescription {
    return this.remoteDescription;
  }

  override async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    const answering = description?.type === 'answer' || this.signalingState === 'have-remote-offer';
    const type = answering ? 'answer' : 'offer';
    this.native.setLocalDescription(type);
    await this.described(type);
  }

  override createDataChannel(
    label: string,
    init?: RTCDataChannelInit,
  ): ReturnType<PolyfillPeerConnection['createDataChannel']> {
    const channel = super.createDataChannel(label, init);
    if (label === FILE_CHANNEL_LABEL) {
      // Count on the way out, then send as the polyfill does (an own property shadows its method).
      const send = channel.send.bind(channel);
      channel.send = (data: string | Blob | ArrayBuffer | ArrayBufferView): void => {
        if (typeof data !== 'string' && !(data instanceof Blob)) {
          wireCounters.fileBytesSent += data.byteLength;
        }
        send(data);
      };
    }
    return channel;
  }

  override restartIce(): Promise<void> {
    // See the top of this file: the call link rebuilds a failed connection instead.
    return Promise.resolve();
  }

  /** libdatachannel sets the description on its own thread: wait (bounded) until it is there. */
  private async described(type: 'offer' | 'answer'): Promise<void> {
    const deadline = Date.now() + DESCRIPTION_WAIT_MS;
    while (this.native.localDescription()?.type !== type) {
      if (this.connectionState === 'closed' || Date.now() > deadline) {
        throw new Error(`no local ${type} from libdatachannel`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

/** The core's `createPeerConnection`, for DuetClient or CallSession. */
export const createNodePeerConnection: PeerConnectionFactory = (configuration) =>
  new NodePeerConnection(configuration) as unknown as RTCPeerConnection;
