import { describe, expect, it } from 'vitest';
import { expectCallRestored, serverPerTest } from './support.js';

/**
 * After a server restart the two parties of a running peer-to-peer call join again (new ids) and
 * claim the call with the key they share; the server makes it an active call again.
 */
describe('call:restore', () => {
  const CALL = 'q3Vb0c2VhR1iYQ9kZ8xT4w';
  const KEY = 'k'.repeat(32);
  const { open } = serverPerTest({ roomCapacity: 3 });

  it('makes the call active again when both parties claim it with the same key', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    await expectCallRestored({ ...alice, name: 'Alice' }, bob, CALL, KEY);
    expect(await alice.client.next('call:restored')).toEqual({
      callId: CALL,
      peer: { id: bob.id, name: 'Bob', state: 'in-call' },
    });
    // Relay works again, and both show as busy to the room.
    const data = { kind: 'candidate' as const, candidate: null };
    expect(await alice.client.request('signal', { callId: CALL, to: bob.id, data })).toEqual({ ok: true });
    expect(await bob.client.next('signal')).toEqual({ callId: CALL, from: alice.id, data });
    const carol = await open('r', 'Carol');
    expect(await carol.client.request('call:invite', { to: bob.id })).toMatchObject({
      error: { code: 'busy' },
    });
    expect(await bob.client.request('call:hangup', { callId: CALL })).toEqual({ ok: true, callId: CALL });
  });

  it('refuses a wrong key, another room, the same role twice, and a claimant already in a call', async () => {
    const alice = await open('r', 'Alice');
    const bob = await open('r', 'Bob');
    const mallory = await open('other', 'Mallory');
    await alice.client.request('call:restore', { callId: CALL, key: KEY, role: 'caller' });
    expect(
      await bob.client.request('call:restore', { callId: CALL, key: 'x'.repeat(32), role: 'callee' }),
    ).toMatchObject({
      error: { code: 'call_not_found' },
    });
    expect(
      await mallory.client.request('call:restore', { callId: CALL, key: KEY, role: 'callee' }),
    ).toMatchObject({
      error: { code: 'call_not_found' },
    });
    expect(
      await bob.client.request('call:restore', { callId: CALL, key: KEY, role: 'caller' }),
    ).toMatchObject({
      error: { code: 'call_not_found' },
    });
    // Bob is busy in a fresh call: he cannot claim another.
    const carol = await open('r', 'Carol');
    await bob.client.request('call:invite', { to: carol.id });
    expect(
      await bob.client.request('call:restore', { callId: CALL, key: KEY, role: 'callee' }),
    ).toMatchObject({
      error: { code: 'already_in_call' },
    });
    expect(alice.client.pending('call:restored')).toEqual([]);
  });
});
