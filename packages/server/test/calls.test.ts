import { describe, expect, it } from 'vitest';
import { connectClient, serverPerTest } from './support.js';

describe('call control', () => {
  const fixture = serverPerTest({ ringTimeoutMs: 300, reconnectGraceMs: 300, roomCapacity: 3 });
  const { clients, open, call } = fixture;

  it('rings the callee and connects both on accept, the callee polite', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    const invite = await alice.client.request('call:invite', {
      to: bob.id,
      media: { audio: true, video: false },
    });
    expect(invite).toEqual({
      ok: true,
      callId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      ringTimeoutMs: 300,
    });
    const callId = invite.ok ? invite.callId : '';

    expect(await bob.client.next('call:incoming')).toEqual({
      callId,
      from: { id: alice.id, name: 'Alice', state: 'in-call' },
      media: { audio: true, video: false },
      ringTimeoutMs: 300,
    });
    // Both show as in a call to everyone in the room from the moment it rings.
    const updates = [await bob.client.next('presence'), await bob.client.next('presence')];
    expect(updates.map((u) => [u.user.name, u.user.state])).toEqual([
      ['Alice', 'in-call'],
      ['Bob', 'in-call'],
    ]);

    expect(await bob.client.request('call:accept', { callId })).toEqual({ ok: true, callId });
    expect(await alice.client.next('call:accepted')).toEqual({
      callId,
      peer: { id: bob.id, name: 'Bob', state: 'in-call' },
      polite: false,
    });
    expect(await bob.client.next('call:accepted')).toMatchObject({
      callId,
      peer: { id: alice.id },
      polite: true,
    });
  });

  it('ends with declined when the callee declines', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    const invite = await alice.client.request('call:invite', { to: bob.id });
    const { callId } = await bob.client.next('call:incoming');
    expect(invite).toMatchObject({ callId });
    expect(await bob.client.request('call:decline', { callId })).toEqual({ ok: true, callId });
    const ended = { callId, reason: 'declined', by: bob.id };
    expect(await alice.client.next('call:ended')).toEqual(ended);
    expect(await bob.client.next('call:ended')).toEqual(ended);
    expect(
      await alice.client.next('presence', (p) => p.user.id === alice.id && p.user.state === 'free'),
    ).toBeTruthy();
  });

  it('ends with cancelled when the caller hangs up while ringing', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    await alice.client.request('call:invite', { to: bob.id });
    const { callId } = await bob.client.next('call:incoming');
    expect(await alice.client.request('call:hangup', { callId })).toEqual({ ok: true, callId });
    expect(await bob.client.next('call:ended')).toEqual({ callId, reason: 'cancelled', by: alice.id });
  });

  it('refuses to ring someone who is in a call with busy, and a caller in a call with already_in_call', async () => {
    const { a, bId } = await call();
    const carol = await open('r', 'Carol');
    expect(await carol.client.request('call:invite', { to: bId })).toMatchObject({
      ok: false,
      error: { code: 'busy', message: 'Bob is in another call.' },
    });
    expect(await a.request('call:invite', { to: carol.id })).toMatchObject({
      error: { code: 'already_in_call' },
    });
  });

  it('treats a ringing callee as busy for a second caller', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    const carol = await open('r', 'Carol');
    await alice.client.request('call:invite', { to: bob.id });
    expect(await carol.client.request('call:invite', { to: bob.id })).toMatchObject({
      error: { code: 'busy' },
    });
  });

  it('ends with timeout when nobody answers, and a late accept is refused', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    await alice.client.request('call:invite', { to: bob.id });
    const { callId } = await bob.client.next('call:incoming');
    expect(await alice.client.next('call:ended')).toEqual({ callId, reason: 'timeout' });
    expect(await bob.client.next('call:ended')).toEqual({ callId, reason: 'timeout' });
    expect(await bob.client.request('call:accept', { callId })).toMatchObject({
      error: { code: 'call_not_found' },
    });
    // Both are free to call again.
    expect(await bob.client.request('call:invite', { to: alice.id })).toMatchObject({ ok: true });
  });

  it('ends an active call with hangup from either side', async () => {
    for (const side of ['a', 'b'] as const) {
      const c = await call(`room-${side}`);
      const hanger = c[side];
      const byId = side === 'a' ? c.aId : c.bId;
      expect(await hanger.request('call:hangup', { callId: c.callId })).toEqual({
        ok: true,
        callId: c.callId,
      });
      const ended = { callId: c.callId, reason: 'hangup', by: byId };
      expect(await c.a.next('call:ended')).toEqual(ended);
      expect(await c.b.next('call:ended')).toEqual(ended);
    }
  });

  it('ends an active call with peer_left when a party leaves the room', async () => {
    const { a, b, aId, callId } = await call();
    await a.request('room:leave', {});
    expect(await b.next('call:ended')).toEqual({ callId, reason: 'peer_left', by: aId });
    expect(await b.next('presence', (p) => p.change === 'left')).toMatchObject({ user: { id: aId } });
  });

  it('ends an active call with peer_left when a party disconnects and does not come back', async () => {
    const { a, b, aId, callId } = await call();
    a.socket.io.engine.close();
    expect(await b.next('call:ended', () => true, 3000)).toEqual({ callId, reason: 'peer_left', by: aId });
  });

  it('keeps the call when a party reloads within the grace period, and resumes it', async () => {
    const { a, b, aId, bId, callId, bSession } = await call();
    b.socket.io.engine.close(); // Bob's page reloads: its connection drops without a goodbye

    const reloaded = await connectClient(fixture.server);
    clients.push(reloaded);
    const resumed = await reloaded.request('session:resume', { sessionToken: bSession.sessionToken });
    expect(resumed).toMatchObject({
      ok: true,
      self: { id: bId, state: 'in-call' },
      call: { callId, state: 'active', role: 'callee', polite: true, peer: { id: aId } },
    });
    // Relay reaches the resumed connection.
    const endOfCandidates = { kind: 'candidate' as const, candidate: null };
    await a.request('signal', { callId, to: bId, data: endOfCandidates });
    expect(await reloaded.next('signal')).toEqual({ callId, from: aId, data: endOfCandidates });
    // Well past the grace period, the call is still up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(a.pending('call:ended')).toEqual([]);
  });

  it('refuses a resume on a connection that already speaks for a user', async () => {
    const { a } = await call();
    expect(await a.request('session:resume', { sessionToken: 'x'.repeat(43) })).toMatchObject({
      error: { code: 'already_in_room' },
    });
  });

  it('refuses accept, decline and hangup of calls the sender is not party to', async () => {
    const { callId } = await call();
    const mallory = await open('r', 'Mallory');
    for (const event of ['call:accept', 'call:decline', 'call:hangup'] as const) {
      expect(await mallory.client.request(event, { callId })).toMatchObject({
        error: { code: 'call_not_found' },
      });
    }
  });

  it('refuses the caller accepting its own call, accepting twice, and declining an active call', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    await alice.client.request('call:invite', { to: bob.id });
    const { callId } = await bob.client.next('call:incoming');
    expect(await alice.client.request('call:accept', { callId })).toMatchObject({
      error: { code: 'invalid_call_state' },
    });
    expect(await alice.client.request('call:decline', { callId })).toMatchObject({
      error: { code: 'invalid_call_state' },
    });
    await bob.client.request('call:accept', { callId });
    expect(await bob.client.request('call:accept', { callId })).toMatchObject({
      error: { code: 'invalid_call_state' },
    });
    expect(await bob.client.request('call:decline', { callId })).toMatchObject({
      error: { code: 'invalid_call_state' },
    });
  });

  it('refuses calling yourself', async () => {
    const alice = await open('r', 'Alice');
    expect(await alice.client.request('call:invite', { to: alice.id })).toMatchObject({
      error: { code: 'cannot_call_self' },
    });
  });
});
