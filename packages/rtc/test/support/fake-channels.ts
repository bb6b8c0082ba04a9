import { FILE_CHANNEL_LABEL } from '@duet/protocol';
import type { ChannelProvider } from '../../src/files/transfer-types.js';
import { ProviderEvents } from './provider-events.js';

/**
 * Data channels without libwebrtc: the test decides when a channel opens, how full its send buffer
 * is, when it drains and when it closes, and sees every frame sent. Enough of RTCDataChannel for
 * the file-transfer engine, so windowing, acks, backpressure and resume can be driven step by step.
 */
export class FakeChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType: BinaryType = 'blob';
  /** Each send adds its size to `bufferedAmount` (a network that never drains by itself). */
  buffering = false;
  /** Text frames sent, parsed. */
  readonly headers: unknown[] = [];
  /** Binary frames sent, copied. */
  readonly chunks: Uint8Array[] = [];

  constructor(readonly label: string = FILE_CHANNEL_LABEL) {
    super();
  }

  get bytesSent(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  }

  send(data: string | ArrayBufferView): void {
    if (this.readyState !== 'open') {
      throw new DOMException('not open', 'InvalidStateError');
    }
    if (typeof data === 'string') {
      this.headers.push(JSON.parse(data));
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.chunks.push(bytes);
    if (this.buffering) {
      this.bufferedAmount += bytes.byteLength;
    }
  }

  close(): void {
    if (this.readyState === 'closed') {
      return;
    }
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
  }

  /** The channel opens (the peer's side exists). */
  open(): void {
    this.readyState = 'open';
    this.dispatchEvent(new Event('open'));
  }

  /** The network took all but `left` bytes; `bufferedamountlow` fires as in a browser. */
  drain(left = 0): void {
    const was = this.bufferedAmount;
    this.bufferedAmount = left;
    if (was > this.bufferedAmountLowThreshold && left <= this.bufferedAmountLowThreshold) {
      this.dispatchEvent(new Event('bufferedamountlow'));
    }
  }

  /** A frame from the peer. */
  receive(data: string | Uint8Array): void {
    const payload = typeof data === 'string' ? data : new Uint8Array(data).buffer;
    this.dispatchEvent(Object.assign(new Event('message'), { data: payload }));
  }
}

/** A ChannelProvider of fake channels; `connected = false` is a connection that is down. */
export class FakeChannels extends ProviderEvents implements ChannelProvider {
  connected = true;
  maxMessage = 256 * 1024;
  /** Channels the engine opened, in order. */
  readonly opened: FakeChannel[] = [];

  open(label: string): RTCDataChannel | null {
    if (!this.connected) {
      return null;
    }
    const channel = new FakeChannel(label);
    this.opened.push(channel);
    return channel as unknown as RTCDataChannel;
  }

  maxMessageSize(): number {
    return this.maxMessage;
  }

  /** The latest channel the engine opened. */
  get last(): FakeChannel {
    const channel = this.opened.at(-1);
    if (!channel) {
      throw new Error('no channel opened');
    }
    return channel;
  }

  /** The peer opens a channel (already open) and it is handed to the engine. */
  fromPeer(label = FILE_CHANNEL_LABEL): FakeChannel {
    const channel = new FakeChannel(label);
    channel.readyState = 'open';
    this.handOver(channel as unknown as RTCDataChannel);
    return channel;
  }

  reconnect(): void {
    this.connected = true;
    this.fireReconnected();
  }
}
