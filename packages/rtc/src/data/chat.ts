import { LIMITS, type BodyOf } from '@duet/protocol';
import { Emitter } from '../emitter.js';
import { DuetError } from '../errors.js';
import { randomBase64Url } from '../ids.js';
import type { Messenger } from './messenger.js';

export interface ChatMessage {
  id: string;
  from: 'self' | 'peer';
  text: string;
  /** The sender's clock (ms since epoch). */
  sentAt: number;
  /** Ours: `sending` until the peer acknowledged it, then `delivered`. Theirs: `received`. */
  status: 'sending' | 'delivered' | 'received';
}

/** What survives a reload along with the messenger's state. */
export interface ChatState {
  messages: ChatMessage[];
  /** Our message id → the messenger sequence number carrying it, until delivered. */
  pending: Array<[string, number]>;
}

export interface ChatEvents extends Record<string, unknown> {
  change: readonly ChatMessage[];
}

const MAX_KEPT_MESSAGES = 5000;

/** 96 random bits: unique among a call's messages by a wide margin. */
const newMessageId = (): string => randomBase64Url(12);

/**
 * The call's chat: messages both ways over the reliable messenger, with "sending / delivered" for our
 * own. Text is kept as text; rendering it safely is the UI's job (never as HTML).
 */
export class Chat extends Emitter<ChatEvents> {
  private messages: ChatMessage[];
  private readonly pending: Map<string, number>;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly messenger: Messenger,
    initial?: ChatState,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.messages = initial ? [...initial.messages] : [];
    this.pending = new Map(initial?.pending ?? []);
    this.unsubscribe.push(
      messenger.onBody((body) => {
        if (body.kind === 'chat') {
          this.receive(body);
        }
      }),
      messenger.on('acked', (upTo) => this.markDelivered(upTo)),
    );
  }

  get list(): readonly ChatMessage[] {
    return this.messages;
  }

  get state(): ChatState {
    return { messages: this.messages, pending: [...this.pending] };
  }

  /** Send a message; rejects an empty or over-long one with a DuetError. */
  send(text: string): ChatMessage {
    const trimmed = text.trim();
    if (trimmed.length === 0) {
      throw new DuetError('invalid_payload', 'The message is empty.');
    }
    if (trimmed.length > LIMITS.maxChatMessageLength) {
      throw new DuetError(
        'payload_too_large',
        `Messages are limited to ${LIMITS.maxChatMessageLength} characters.`,
      );
    }
    const message: ChatMessage = {
      id: newMessageId(),
      from: 'self',
      text: trimmed,
      sentAt: this.now(),
      status: 'sending',
    };
    const seq = this.messenger.send({
      kind: 'chat',
      id: message.id,
      text: message.text,
      sentAt: message.sentAt,
    });
    this.pending.set(message.id, seq);
    this.append(message);
    return message;
  }

  dispose(): void {
    for (const off of this.unsubscribe) {
      off();
    }
    this.removeAllListeners();
  }

  private receive(body: BodyOf<'chat'>): void {
    // The messenger already drops resends; an id seen before (a peer that reloaded and resent from
    // its own storage) is dropped here too.
    if (this.messages.some((m) => m.id === body.id && m.from === 'peer')) {
      return;
    }
    this.append({ id: body.id, from: 'peer', text: body.text, sentAt: body.sentAt, status: 'received' });
  }

  private markDelivered(upTo: number): void {
    let changed = false;
    for (const [id, seq] of this.pending) {
      if (seq > upTo) {
        continue;
      }
      this.pending.delete(id);
      this.messages = this.messages.map((m) => (m.id === id ? { ...m, status: 'delivered' } : m));
      changed = true;
    }
    if (changed) {
      this.emit('change', this.messages);
    }
  }

  private append(message: ChatMessage): void {
    this.messages = [...this.messages, message].slice(-MAX_KEPT_MESSAGES);
    this.emit('change', this.messages);
  }
}
