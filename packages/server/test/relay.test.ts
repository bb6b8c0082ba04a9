import { describe, expect, it } from 'vitest';
import type { SignalData } from '@duet/protocol';
import { joinedClient, serverPerTest } from './support.js';

const OFFER: SignalData = {
  kind: 'description',
  description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
};
const CANDIDATE: SignalData = {
  kind: 'candidate',
  candidate: {
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
    sdpMid: '0',
    sdpMLineIndex: 0,
  },
};

describe('relay of SDP and ICE', () => {
  const fixture = serverPerTest({ roomCapacity: 3 });
  const { clients, call } = fixture;

  it('relays descriptions, candidates and media state both ways, stamped with the sender, in order', async () => {
    const { a, b, aId, bId, callId } = await call();
    const MEDIA: SignalData = { kind: 'media', state: { microphone: false, camera: true, screen: false } };
    for (const data of [OFFER, CANDIDATE, { kind: 'candidate', candidate: null } as const, MEDIA]) {
      a.raw('signal', { callId, to: bId, data }); // fire and forget, as ICE candidates are sent
    }
    for (const data of [OFFER, CANDIDATE, { kind: 'candidate', candidate: null }, MEDIA]) {
      expect(await b.next('signal')).toEqual({ callId, from: aId, data });
    }
    const answer: SignalData = { kind: 'description', description: { type: 'answer', sdp: 'v=0\r\n' } };
    expect(await b.request('signal', { callId, to: aId, data: answer })).toEqual({ ok: true });
    expect(await a.next('signal')).toEqual({ callId, from: bId, data: answer });
    const relayed = await fixture.server.metrics.registry.getSingleMetricAsString(
      'duet_relayed_messages_total',
    );
    expect(relayed).toContain('duet_relayed_messages_total{kind="description"} 2');
  });

  it('refuses a forged from', async () => {
    const { a, b, bId, callId } = await call();
    const result = await a.request('signal', { callId, to: bId, from: bId, data: OFFER });
    expect(result).toMatchObject({ ok: false, error: { code: 'forged_sender' } });
    expect(b.pending('signal')).toEqual([]);
  });

  it('refuses relay to a user in another room', async () => {
    const { a, callId } = await call('one');
    const { client: other, session } = await joinedClient(fixture.server, 'two', 'Zed');
    clients.push(other);
    expect(await a.request('signal', { callId, to: session.self.id, data: OFFER })).toMatchObject({
      error: { code: 'not_in_call' },
    });
    expect(other.pending('signal')).toEqual([]);
  });

  it('refuses relay to a user in the same room who is not in a call with the sender', async () => {
    const { a, aId, callId } = await call();
    const { client: carol, session } = await joinedClient(fixture.server, 'r', 'Carol');
    clients.push(carol);
    expect(await a.request('signal', { callId, to: session.self.id, data: OFFER })).toMatchObject({
      error: { code: 'not_in_call' },
    });
    // Carol cannot inject into the call either, even knowing its id and a party's id.
    expect(await carol.request('signal', { callId, to: aId, data: OFFER })).toMatchObject({
      error: { code: 'not_in_call' },
    });
    expect(a.pending('signal')).toEqual([]);
  });

  it("relays only the caller's offer and candidates while the call rings, nothing of the callee", async () => {
    const { client: a, session: sa } = await joinedClient(fixture.server, 'r', 'A');
    const { client: b, session: sb } = await joinedClient(fixture.server, 'r', 'B');
    clients.push(a, b);
    const invite = await a.request('call:invite', { to: sb.self.id });
    const callId = invite.ok ? invite.callId : '';
    await b.next('call:incoming');
    for (const data of [OFFER, CANDIDATE]) {
      expect(await a.request('signal', { callId, to: sb.self.id, data })).toEqual({ ok: true });
      expect(await b.next('signal')).toEqual({ callId, from: sa.self.id, data });
    }
    // The caller's own media state and a reconnect request wait for the call to be active.
    const MEDIA: SignalData = { kind: 'media', state: { microphone: true, camera: true, screen: false } };
    for (const data of [MEDIA, { kind: 'reconnect' } as const]) {
      expect(await a.request('signal', { callId, to: sb.self.id, data })).toMatchObject({
        error: { code: 'not_in_call' },
      });
    }
    // The callee sends nothing before it accepts: not an answer, not a candidate, not an offer.
    const answer: SignalData = { kind: 'description', description: { type: 'answer', sdp: 'v=0\r\n' } };
    for (const data of [answer, CANDIDATE, OFFER, MEDIA]) {
      expect(await b.request('signal', { callId, to: sa.self.id, data })).toMatchObject({
        error: { code: 'not_in_call' },
      });
    }
    expect(a.pending('signal')).toEqual([]);
    // Accepted: both ways.
    b.raw('call:accept', { callId });
    await a.next('call:accepted');
    expect(await b.request('signal', { callId, to: sa.self.id, data: answer })).toEqual({ ok: true });
    expect(await a.next('signal')).toEqual({ callId, from: sb.self.id, data: answer });
  });

  it("refuses the caller's ring-time offer to anyone but the callee", async () => {
    const { client: a } = await joinedClient(fixture.server, 'r', 'A');
    const { client: b, session: sb } = await joinedClient(fixture.server, 'r', 'B');
    const { client: c, session: sc } = await joinedClient(fixture.server, 'r', 'C');
    clients.push(a, b, c);
    const invite = await a.request('call:invite', { to: sb.self.id });
    const callId = invite.ok ? invite.callId : '';
    expect(await a.request('signal', { callId, to: sc.self.id, data: OFFER })).toMatchObject({
      error: { code: 'not_in_call' },
    });
    expect(c.pending('signal')).toEqual([]);
  });

  it('refuses relay with a stale call id after the call ended', async () => {
    const { a, bId, callId } = await call();
    await a.request('call:hangup', { callId });
    expect(await a.request('signal', { callId, to: bId, data: OFFER })).toMatchObject({
      error: { code: 'not_in_call' },
    });
  });

  it('sends a refusal of a fire-and-forget message as protocol:error', async () => {
    const { a, bId, callId } = await call();
    a.raw('signal', { callId, to: bId, from: 'f'.repeat(22), data: OFFER });
    expect(await a.next('protocol:error')).toEqual({
      event: 'signal',
      error: { code: 'forged_sender', message: 'A message may only be sent as yourself.' },
    });
  });
});
