import wrtc from '@roamhq/wrtc';
import { FILE_CHANNEL_LABEL, FileChannelHeaderSchema, type FileChannelHeader } from '@duet/protocol';
import type { ChannelProvider } from '../../src/files/transfer-types.js';
import { ProviderEvents } from './provider-events.js';

/**
 * Two real peer connections (libwebrtc through @roamhq/wrtc) in one process, and for each side a
 * ChannelProvider over its current connection: the test harness the file-transfer engine runs on.
 * It records what the engine does with its channels (bytes and chunk sizes sent, how full the send
 * buffer got, the headers), can tamper with chunks in transit, and can rebuild the connection.
 */

const opened = (channel: RTCDataChannel): Promise<void> =>
  channel.readyState === 'open'
    ? Promise.resolve()
    : new Promise((resolve) => channel.addEventListener('open', () => resolve(), { once: true }));

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const SPACER_LABEL = 'spacer';

export class TestChannels extends ProviderEvents implements ChannelProvider {
  pc: RTCPeerConnection | null = null;
  /** What `maxMessageSize()` reports; default: the connection's SCTP value. */
  maxMessage: number | null = null;
  /** Rewrites a binary chunk before it is sent (the engine's buffer is copied first). */
  tamper: ((chunk: Uint8Array, index: number) => Uint8Array) | null = null;
  /** Rewrites each header before it goes out (e.g. as an older sender would write it). */
  tamperHeader: ((header: FileChannelHeader) => FileChannelHeader) | null = null;
  /** Channels the engine opened, in order. */
  readonly opened: RTCDataChannel[] = [];
  /** Channels the peer opened and this side was given. */
  readonly received: RTCDataChannel[] = [];
  /** Headers sent on opened channels. */
  readonly headers: FileChannelHeader[] = [];
  binaryBytesSent = 0;
  binaryChunks = 0;
  largestChunk = 0;
  /** The largest `bufferedAmount` seen right after a send. */
  maxBufferedAfterSend = 0;
  /** `bufferedamountlow` events fired on opened channels. */
  lowEvents = 0;
  /** The other side, for the `open` adapter below. */
  peer: TestChannels | null = null;
  /** Our channels the peer has not been handed yet, by SCTP stream id. */
  private readonly opening = new Map<number, () => void>();
  /** Closed channels whose stream id a spacer holds, and the connection each was opened on. */
  private readonly spaced = new WeakSet<RTCDataChannel>();
  private readonly openedOn = new WeakMap<RTCDataChannel, RTCPeerConnection>();

  open(label: string): RTCDataChannel | null {
    const pc = this.pc;
    if (!pc || pc.connectionState === 'closed') {
      return null;
    }
    this.holdClosedStreamIds(pc);
    const channel = pc.createDataChannel(label, { ordered: true });
    this.openedOn.set(channel, pc);
    this.instrument(channel);
    this.adaptOpen(channel);
    this.opened.push(channel);
    return channel;
  }

  maxMessageSize(): number {
    return this.maxMessage ?? this.pc?.sctp?.maxMessageSize ?? 65_536;
  }

  /** Use `pc` from now on; channels the peer opens on it are handed to the listeners. */
  attach(pc: RTCPeerConnection): void {
    this.pc = pc;
    pc.addEventListener('datachannel', (event) => {
      const channel = event.channel;
      if (channel.label !== FILE_CHANNEL_LABEL) {
        return;
      }
      this.received.push(channel);
      this.handOver(channel);
      if (channel.id !== null) {
        this.peer?.opening.get(channel.id)?.();
      }
    });
  }

  /**
   * This binding gives a new channel the stream id of one closed a moment ago, while data of the
   * old one can still arrive — and delivers that data into the new channel (a bug several SCTP
   * stacks had; see pion/webrtc#3491, libdatachannel#947). Browsers do not reuse an id before its
   * reset completes. So: keep each closed id taken by an idle "spacer" channel, which the peer's
   * side ignores, and new channels get fresh ids.
   */
  private holdClosedStreamIds(pc: RTCPeerConnection): void {
    for (const old of this.opened) {
      if (old.readyState !== 'closed' || this.spaced.has(old) || this.openedOn.get(old) !== pc) {
        continue;
      }
      this.spaced.add(old);
      pc.createDataChannel(SPACER_LABEL);
    }
  }

  /**
   * In browsers a new channel is `connecting` until it fires `open`, and what is sent after that
   * arrives in order. This binding often reports `open` at once, fires no `open` event for a
   * channel it created, and lets a message sent before the peer's side of the channel exists
   * overtake the next one. So: report `connecting` until the peer has been handed the channel,
   * then fire `open`.
   */
  private adaptOpen(channel: RTCDataChannel): void {
    const id = channel.id;
    const prototype = Object.getPrototypeOf(channel) as object;
    const native = () => Reflect.get(prototype, 'readyState', channel) as RTCDataChannelState;
    if (id === null) {
      return;
    }
    let ready = false;
    Object.defineProperty(channel, 'readyState', {
      get: () => {
        const state = native();
        return state === 'open' && !ready ? 'connecting' : state;
      },
    });
    this.opening.set(id, () => {
      this.opening.delete(id);
      ready = true;
      channel.dispatchEvent(new Event('open'));
    });
  }

  /**
   * Count what is sent, and add what libwebrtc in Node lacks: it never fires `bufferedamountlow`
   * (browsers do), so poll `bufferedAmount` while it is above the threshold and fire it — like
   * ModernPeerConnection in negotiation.test.ts adds the spec parts that binding predates.
   */
  private instrument(channel: RTCDataChannel): void {
    const send = channel.send.bind(channel) as (data: string | ArrayBufferView) => void;
    let polling: ReturnType<typeof setInterval> | undefined;
    const poll = () => {
      if (channel.readyState !== 'open') {
        clearInterval(polling);
        polling = undefined;
      } else if (channel.bufferedAmount <= channel.bufferedAmountLowThreshold) {
        clearInterval(polling);
        polling = undefined;
        this.lowEvents++;
        channel.dispatchEvent(new Event('bufferedamountlow'));
      }
    };
    channel.send = ((data: string | ArrayBufferView) => {
      if (typeof data === 'string') {
        const header = FileChannelHeaderSchema.safeParse(parseJson(data));
        if (header.success && this.tamperHeader) {
          const sent = this.tamperHeader(header.data);
          this.headers.push(sent);
          send(JSON.stringify(sent));
          return;
        }
        if (header.success) {
          this.headers.push(header.data);
        }
        send(data);
        return;
      }
      let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (this.tamper) {
        bytes = this.tamper(bytes.slice(), this.binaryChunks);
      }
      send(bytes);
      this.binaryChunks++;
      this.binaryBytesSent += bytes.byteLength;
      this.largestChunk = Math.max(this.largestChunk, bytes.byteLength);
      this.maxBufferedAfterSend = Math.max(this.maxBufferedAfterSend, channel.bufferedAmount);
      if (polling === undefined && channel.bufferedAmount > channel.bufferedAmountLowThreshold) {
        polling = setInterval(poll, 1);
      }
    }) as RTCDataChannel['send'];
  }
}

/** Alice's and Bob's connections, rebuilt on demand. */
export class WrtcNet {
  readonly alice = new TestChannels();
  readonly bob = new TestChannels();
  private readonly pcs: RTCPeerConnection[] = [];

  private constructor() {
    this.alice.peer = this.bob;
    this.bob.peer = this.alice;
  }

  static async connect(): Promise<WrtcNet> {
    const net = new WrtcNet();
    await net.connectPair();
    return net;
  }

  /** A new pair of connections replaces the old (which is closed): both sides hear onReconnected. */
  async reconnect(): Promise<void> {
    for (const pc of this.pcs.splice(0)) {
      pc.close();
    }
    await this.connectPair();
    this.alice.fireReconnected();
    this.bob.fireReconnected();
  }

  close(): void {
    for (const pc of this.pcs.splice(0)) {
      pc.close();
    }
  }

  private async connectPair(): Promise<void> {
    const a = new wrtc.RTCPeerConnection({ iceServers: [] });
    const b = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.pcs.push(a, b);
    // Candidates still trickling when a pair is replaced fail to apply; that is expected.
    const relay = (to: RTCPeerConnection) => (event: RTCPeerConnectionIceEvent) => {
      if (event.candidate) {
        to.addIceCandidate(event.candidate).catch(() => undefined);
      }
    };
    a.addEventListener('icecandidate', relay(b));
    b.addEventListener('icecandidate', relay(a));
    // A negotiated channel, as the app's control channel is: it puts SCTP in the first offer, so
    // file channels open later without renegotiation.
    const control = [a, b].map((pc) => pc.createDataChannel('duet', { negotiated: true, id: 0 }));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await Promise.all(control.map(opened));
    this.alice.attach(a);
    this.bob.attach(b);
  }
}
