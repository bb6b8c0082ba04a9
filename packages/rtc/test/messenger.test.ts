import { afterEach, describe, expect, it } from 'vitest';
import type { Body } from '@duet/protocol';
import { Chat } from '../src/data/chat.js';
import { Messenger } from '../src/data/messenger.js';
import { connectedPair } from './wrtc-pair.js';

/** The reliable messenger over real libwebrtc data channels, including a connection torn down mid-burst. */

const pairs: Array<{ close(): void }> = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) {
    pair.close();
  }
});

const chat = (i: number): Body => ({
  kind: 'chat',
  id: `message-${String(i).padStart(6, '0')}`,
  text: `#${i}`,
  sentAt: 0,
});

function collect(messenger: Messenger): string[] {
  const seen: string[] = [];
  messenger.onBody((body) => {
    if (body.kind === 'chat') {
      seen.push(body.text);
    }
  });
  return seen;
}

/** `messenger` sends chat(from) … chat(to - 1). */
function sendChats(messenger: Messenger, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    messenger.send(chat(i));
  }
}

/** The texts of chat(from) … chat(to - 1), as `collect` sees them. */
const texts = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `#${from + i}`);

/** Bob got chat(0) … chat(count - 1) exactly once and in order, and Alice has every ack. */
async function expectAllDelivered(alice: Messenger, received: string[], count: number) {
  await expect.poll(() => received.length, { timeout: 10_000 }).toBe(count);
  expect(received).toEqual(texts(0, count));
  await expect.poll(() => alice.state.unacked.length).toBe(0);
}

/** A fresh real connection between two messengers (closed after the test). */
async function connect(alice: Messenger, bob: Messenger) {
  const pair = await connectedPair();
  pairs.push(pair);
  alice.attach(pair.channelA);
  bob.attach(pair.channelB);
  return pair;
}

/** Alice and Bob connected, with the texts Bob's messenger hands on collected in `received`. */
async function connected() {
  const [alice, bob] = [new Messenger(), new Messenger()];
  const pair = await connect(alice, bob);
  return { alice, bob, pair, received: collect(bob) };
}

describe('Messenger', () => {
  it('delivers 1000 messages sent in a burst exactly once and in order, and acknowledges them', async () => {
    const { alice, received } = await connected();
    sendChats(alice, 0, 1000);
    await expectAllDelivered(alice, received, 1000);
  });

  it('queues while disconnected and resends after a new connection, dropping duplicates', async () => {
    const { alice, bob, pair: first, received } = await connected();
    sendChats(alice, 0, 300);
    // The connection dies with messages in flight (some delivered, some not, acks partly lost).
    await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThan(0);
    first.close();
    sendChats(alice, 300, 500);

    await connect(alice, bob);
    await expectAllDelivered(alice, received, 500);
  });

  it('survives a page reload on either side: state restored, nothing lost or doubled', async () => {
    const { alice, bob, pair: first, received: before } = await connected();
    sendChats(alice, 0, 50);
    await expect.poll(() => before.length).toBe(50);
    first.close();
    // Alice reloads: a new Messenger from her saved state, with a few messages never sent.
    const saved = alice.state;
    const reloaded = new Messenger(saved);
    sendChats(reloaded, 50, 60);
    const bobAgain = new Messenger(bob.state);
    const after = collect(bobAgain);
    await connect(reloaded, bobAgain);
    await expect.poll(() => after.length).toBe(10);
    expect(after).toEqual(texts(50, 60));
  });

  it('drops and counts malformed frames without throwing', async () => {
    const pair = await connectedPair();
    pairs.push(pair);
    const bob = new Messenger();
    bob.attach(pair.channelB);
    const received = collect(bob);
    // Not envelopes at all: dropped without taking a place in the sequence.
    for (const junk of ['not json', '{"v":2,"t":"msg"}', '{"v":1,"t":"msg","seq":0}', 'x'.repeat(70_000)]) {
      pair.channelA.send(junk);
    }
    pair.channelA.send(JSON.stringify({ v: 1, t: 'msg', seq: 1, body: chat(1) }));
    // A well-sequenced message with an invalid body, or one this version does not know (a newer
    // peer's), takes its place and is skipped: no stall for what follows.
    pair.channelA.send(JSON.stringify({ v: 1, t: 'msg', seq: 2, body: { kind: 'chat', id: 'x', text: '' } }));
    pair.channelA.send(JSON.stringify({ v: 1, t: 'msg', seq: 3, body: { kind: 'from-the-future' } }));
    pair.channelA.send(JSON.stringify({ v: 1, t: 'msg', seq: 4, body: chat(4) }));
    await expect.poll(() => received).toEqual(['#1', '#4']);
    expect(bob.state.expected).toBe(5);
    expect(bob.stats.malformed).toBe(6);
  });
});

describe('Chat', () => {
  it('shows our messages as sending, then delivered; theirs once; refuses empty and over-long text', async () => {
    const [ma, mb] = [new Messenger(), new Messenger()];
    const [alice, bob] = [new Chat(ma), new Chat(mb)];
    await connect(ma, mb);
    const sent = alice.send('  hello <b>Bob</b>  ');
    expect(sent).toMatchObject({ from: 'self', text: 'hello <b>Bob</b>', status: 'sending' });
    await expect
      .poll(() => bob.list.map((m) => [m.from, m.text, m.status]))
      .toEqual([['peer', 'hello <b>Bob</b>', 'received']]);
    await expect.poll(() => alice.list[0]?.status).toBe('delivered');
    expect(() => alice.send('   ')).toThrow(/empty/);
    expect(() => alice.send('x'.repeat(4001))).toThrow(/4000/);
  });
});
