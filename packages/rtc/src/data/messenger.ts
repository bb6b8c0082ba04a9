import {
  BodySchema,
  DATA_PROTOCOL_VERSION,
  LooseEnvelopeSchema,
  MAX_ENVELOPE_BYTES,
  type Body,
  type Envelope,
  type LooseEnvelope,
} from '@duet/protocol';
import { Emitter } from '../emitter.js';

import type { ControlLink } from '../files/transfer-types.js';

/** What survives a page reload (kept in sessionStorage by the client). */
export interface MessengerState {
  /** The next sequence number we will give a message. */
  nextSeq: number;
  /** The next sequence number we expect from the peer. */
  expected: number;
  /** Sent and not yet acknowledged, in order. */
  unacked: Array<{ seq: number; body: Body }>;
}

export interface MessengerStats {
  /** Frames that failed their schema or were too large: dropped. */
  malformed: number;
  /** Messages we had already delivered (resent after a reconnect): dropped. */
  duplicates: number;
  /** Messages we sent again after a reconnect. */
  resent: number;
}

export interface MessengerEvents extends Record<string, unknown> {
  /** Everything up to and including this sequence number reached the peer. */
  acked: number;
  /** Unacknowledged messages changed (for persistence). */
  state: MessengerState;
  /** `connected` changed: the peer's hello arrived (true) or the channel closed (false). */
  sync: boolean;
  /** The attached channel opened (before the hellos are exchanged). */
  open: RTCDataChannel;
  /** The attached channel closed: its connection, or the peer's page, is gone. */
  close: RTCDataChannel;
}

/** Acknowledge after this many messages, or after this long, whichever comes first. */
const ACK_EVERY = 32;
const ACK_DELAY_MS = 20;

/**
 * A reliable, ordered message link over whichever `duet` data channel the call currently has.
 *
 * SCTP is reliable only for as long as its association lives; when the peer connection is rebuilt
 * (or a page reloads) whatever was in flight is gone. So each message carries a sequence number,
 * the receiver acknowledges cumulatively, and every newly opened channel starts with `hello` naming
 * the next number expected: the sender drops what was acknowledged and resends the rest in order,
 * and the receiver drops anything it already delivered. Nothing lost, nothing twice.
 */
export class Messenger extends Emitter<MessengerEvents> implements ControlLink {
  private channel: RTCDataChannel | null = null;
  /** True once the peer's hello arrived on the current channel: new sends may go straight out. */
  private synced = false;
  private nextSeq: number;
  private expected: number;
  private unacked: Array<{ seq: number; body: Body }>;
  private pendingAck = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly bodyListeners = new Set<(body: Body) => void>();
  readonly stats: MessengerStats = { malformed: 0, duplicates: 0, resent: 0 };

  constructor(initial?: MessengerState) {
    super();
    this.nextSeq = initial?.nextSeq ?? 1;
    this.expected = initial?.expected ?? 1;
    this.unacked = initial ? [...initial.unacked] : [];
  }

  /** Send a body; it goes out now if the link is up, or as soon as it is. */
  send(body: Body): number {
    const seq = this.nextSeq++;
    this.unacked.push({ seq, body });
    if (this.synced) {
      this.write({ v: DATA_PROTOCOL_VERSION, t: 'msg', seq, body });
    }
    this.emitState();
    return seq;
  }

  onBody(listener: (body: Body) => void): () => void {
    this.bodyListeners.add(listener);
    return () => this.bodyListeners.delete(listener);
  }

  get state(): MessengerState {
    return { nextSeq: this.nextSeq, expected: this.expected, unacked: [...this.unacked] };
  }

  /**
   * Resolves once what was sent has left this side (the channel's buffer is empty), or after
   * `timeoutMs`, or at once without an open channel: e.g. a goodbye before the connection closes.
   */
  drain(timeoutMs: number): Promise<void> {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open' || channel.bufferedAmount === 0) {
      return Promise.resolve();
    }
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const wait = (): void => {
        if (channel.bufferedAmount === 0 || channel.readyState !== 'open' || Date.now() > deadline) {
          resolve();
        } else {
          setTimeout(wait, 20);
        }
      };
      setTimeout(wait, 20);
    });
  }

  /** Whether the current channel is open and both sides said hello. */
  get connected(): boolean {
    return this.synced;
  }

  /** Use this channel from now on (the previous one, if any, is forgotten). */
  attach(channel: RTCDataChannel | null): void {
    if (this.channel) {
      this.detach(this.channel);
    }
    this.channel = channel;
    this.synced = false;
    if (!channel) {
      return;
    }
    channel.addEventListener('open', this.onOpen);
    channel.addEventListener('message', this.onMessage);
    channel.addEventListener('close', this.onClose);
    if (channel.readyState === 'open') {
      this.onOpen();
    }
  }

  dispose(): void {
    clearTimeout(this.ackTimer);
    this.attach(null);
    this.bodyListeners.clear();
    this.removeAllListeners();
  }

  private detach(channel: RTCDataChannel): void {
    channel.removeEventListener('open', this.onOpen);
    channel.removeEventListener('message', this.onMessage);
    channel.removeEventListener('close', this.onClose);
  }

  private readonly onOpen = (): void => {
    this.write({ v: DATA_PROTOCOL_VERSION, t: 'hello', next: this.expected });
    if (this.channel) {
      this.emit('open', this.channel);
    }
  };

  private readonly onClose = (): void => {
    this.setSynced(false);
    if (this.channel) {
      this.emit('close', this.channel);
    }
  };

  private readonly onMessage = (event: MessageEvent): void => {
    const envelope = this.parse(event.data);
    if (!envelope) {
      return;
    }
    switch (envelope.t) {
      case 'hello':
        this.onHello(envelope.next);
        break;
      case 'ack':
        this.onAck(envelope.upTo);
        break;
      case 'msg': {
        const body = BodySchema.safeParse(envelope.body);
        // An unknown or malformed body still takes its place in the sequence (acknowledged, skipped).
        this.onMsg(envelope.seq, body.success ? body.data : null);
        break;
      }
    }
  };

  private onHello(next: number): void {
    // The peer has everything below `next`: forget it, resend the rest in order.
    this.onAck(next - 1);
    this.synced = true;
    for (const { seq, body } of this.unacked) {
      this.stats.resent++;
      this.write({ v: DATA_PROTOCOL_VERSION, t: 'msg', seq, body });
    }
    // Announced after the resends, so a listener that sends at once queues behind them.
    this.emit('sync', true);
  }

  private setSynced(synced: boolean): void {
    if (this.synced === synced) {
      return;
    }
    this.synced = synced;
    this.emit('sync', synced);
  }

  private onAck(upTo: number): void {
    const before = this.unacked.length;
    this.unacked = this.unacked.filter((m) => m.seq > upTo);
    if (this.unacked.length !== before) {
      this.emit('acked', upTo);
      this.emitState();
    }
  }

  private onMsg(seq: number, body: Body | null): void {
    if (seq < this.expected) {
      this.stats.duplicates++;
      this.scheduleAck(true);
      return;
    }
    if (seq > this.expected) {
      // A gap cannot happen on one ordered channel; if a broken peer makes one, wait for its resend.
      this.stats.malformed++;
      return;
    }
    this.expected++;
    this.scheduleAck(false);
    this.emitState();
    if (body === null) {
      this.stats.malformed++;
      return;
    }
    for (const listener of [...this.bodyListeners]) {
      try {
        listener(body);
      } catch (error) {
        this.onListenerError(error, 'acked');
      }
    }
  }

  private scheduleAck(now: boolean): void {
    this.pendingAck++;
    if (now || this.pendingAck >= ACK_EVERY) {
      this.flushAck();
      return;
    }
    this.ackTimer ??= setTimeout(() => this.flushAck(), ACK_DELAY_MS);
  }

  private flushAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.pendingAck = 0;
    this.write({ v: DATA_PROTOCOL_VERSION, t: 'ack', upTo: this.expected - 1 });
  }

  private parse(data: unknown): LooseEnvelope | null {
    if (typeof data !== 'string' || data.length > MAX_ENVELOPE_BYTES) {
      this.stats.malformed++;
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.stats.malformed++;
      return null;
    }
    const parsed = LooseEnvelopeSchema.safeParse(json);
    if (!parsed.success) {
      this.stats.malformed++;
      return null;
    }
    return parsed.data;
  }

  private write(envelope: Envelope): void {
    const channel = this.channel;
    if (channel?.readyState !== 'open') {
      return;
    }
    try {
      channel.send(JSON.stringify(envelope));
    } catch {
      // The channel died under us; its close event follows and the next hello resends.
      this.setSynced(false);
    }
  }

  private emitState(): void {
    this.emit('state', this.state);
  }
}
