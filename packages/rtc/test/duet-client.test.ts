import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SignalData } from '@duet/protocol';
import { DuetClient } from '../src/client/duet-client.js';
import type { ClientSnapshot, Notice } from '../src/client/client-types.js';
import { IceConfig } from '../src/client/ice-config.js';
import { createModernPeerConnection } from './modern-peer-connection.js';
import { FakeServer, type FakeSignaling } from './support/fake-signaling.js';
import { MemoryStorage } from './support/memory-storage.js';

/**
 * DuetClient against a fake signaling server (in memory, see support/fake-signaling.ts) and, where
 * a call connects, real peer connections (libwebrtc through @roamhq/wrtc). No camera or microphone:
 * the calls run receive-only, which the client allows (a denied camera must not stop a call).
 */

const clients: DuetClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) {
    client.dispose();
  }
});

function person(server: FakeServer, name: string) {
  const signaling = server.connect(name);
  const notices: Notice[] = [];
  const logged: string[] = [];
  const client = new DuetClient({
    signaling,
    storage: new MemoryStorage(),
    isSecureContext: true,
    createPeerConnection: createModernPeerConnection,
    verifiedPeers: new MemoryStorage(),
    log: (message) => logged.push(message),
  });
  client.on('notice', (notice) => notices.push(notice));
  clients.push(client);
  return { client, signaling, notices, logged };
}

/** Resolves with the first snapshot (the current one included) that passes `test`. */
function until(
  client: DuetClient,
  test: (s: ClientSnapshot) => boolean,
  timeoutMs = 15_000,
): Promise<ClientSnapshot> {
  if (test(client.snapshot)) {
    return Promise.resolve(client.snapshot);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out; last snapshot: ${JSON.stringify(client.snapshot.call)}`));
    }, timeoutMs);
    const off = client.on('change', (s) => {
      if (!test(s)) {
        return;
      }
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

const requested = (signaling: FakeSignaling, event: string) =>
  signaling.requests.filter((r) => r.event === event).map((r) => r.payload);

async function twoInARoom() {
  const server = new FakeServer();
  const alice = person(server, 'Alice');
  const bob = person(server, 'Bob');
  await alice.client.join('lobby', 'Alice');
  await bob.client.join('lobby', 'Bob');
  await until(alice.client, (s) => s.room?.users.length === 2);
  return { server, alice, bob };
}

describe('DuetClient with a fake signaling server', () => {
  it('keeps the room from presence events and tells who came and went, not state updates', async () => {
    const { server, alice, bob } = await twoInARoom();
    expect(alice.client.snapshot.room?.users.map((u) => u.name)).toEqual(['Alice', 'Bob']);
    expect(alice.client.snapshot.self?.name).toBe('Alice');
    expect(alice.notices).toContainEqual({
      kind: 'presence',
      change: 'joined',
      userId: bob.signaling.userId,
      name: 'Bob',
    });

    const carol = person(server, 'Carol');
    await carol.client.join('lobby', 'Carol');
    await until(alice.client, (s) => s.room?.users.length === 3);
    await carol.client.leave();
    await until(alice.client, (s) => s.room?.users.length === 2);
    const changes = alice.notices.filter((n) => n.kind === 'presence').map((n) => `${n.change} ${n.name}`);
    expect(changes).toEqual(['joined Bob', 'joined Carol', 'left Carol']);
  });

  it('rings with a deadline; a decline goes to the server and ends the call on both sides', async () => {
    const { alice, bob } = await twoInARoom();
    const before = Date.now();
    await alice.client.call(bob.signaling.userId, { video: false });
    const ringing = await until(bob.client, (s) => s.call?.phase === 'incoming');
    expect(ringing.call?.peer.name).toBe('Alice');
    expect(ringing.call?.ringsUntil).toBeGreaterThanOrEqual(before + 30_000);
    expect(alice.client.snapshot.call?.phase).toBe('outgoing');
    expect(alice.client.snapshot.call?.ringsUntil).toBeGreaterThanOrEqual(before + 30_000);

    await bob.client.decline();
    expect(requested(bob.signaling, 'call:decline')).toEqual([{ callId: ringing.call?.id }]);
    await until(alice.client, (s) => s.call?.phase === 'ended');
    expect(alice.client.snapshot.call?.outcome).toBe('declined');
    expect(alice.notices).toContainEqual(
      expect.objectContaining({ kind: 'call-ended', outcome: 'declined', endedBy: 'remote' }),
    );
    expect(bob.notices).toContainEqual(
      expect.objectContaining({ kind: 'call-ended', outcome: 'declined', endedBy: 'self' }),
    );
  });

  it('refuses to call someone who is not in the room, and chat or files without a call', async () => {
    const { alice } = await twoInARoom();
    await expect(alice.client.call('nobody'.padEnd(22, 'x'))).rejects.toMatchObject({
      reason: 'user_not_found',
    });
    expect(() => alice.client.chat.send('hi')).toThrow(expect.objectContaining({ reason: 'not_in_call' }));
    expect(() => alice.client.files.send(new Blob(['x']), 'x.txt')).toThrow(
      expect.objectContaining({ reason: 'not_in_call' }),
    );
    expect(requested(alice.signaling, 'call:invite')).toEqual([]);
  });

  it('a call connects peer to peer; chat and the hang-up still reach the peer with the server down', async () => {
    const { alice, bob } = await twoInARoom();
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    const before = Date.now();
    await bob.client.accept();
    const [a, b] = await Promise.all([
      until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
      until(bob.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
    ]);
    expect(a.call?.connectedAt).toBeGreaterThanOrEqual(before);
    expect(b.call?.role).toBe('callee');
    // The peer's media as the call was placed (a video call), until it says otherwise.
    expect(b.call?.remoteMedia).toEqual({ microphone: true, camera: true, screen: false });

    alice.client.chat.send('hello Bob');
    await until(bob.client, (s) => s.chat.some((m) => m.text === 'hello Bob' && m.from === 'peer'));
    expect(bob.client.snapshot.unreadChat).toBe(1);
    bob.client.chat.markRead();
    expect(bob.client.snapshot.unreadChat).toBe(0);

    // The server goes away: nothing more is relayed by it, and the call carries on.
    alice.signaling.down = true;
    bob.signaling.down = true;
    const signalsBefore = requested(bob.signaling, 'signal').length;
    bob.client.chat.send('still here');
    await until(alice.client, (s) => s.chat.some((m) => m.text === 'still here' && m.from === 'peer'));
    expect(requested(bob.signaling, 'signal').length).toBe(signalsBefore);
    // Our side's media state went peer to peer too (never through the server).
    expect(
      requested(alice.signaling, 'signal').some(
        (p) => (p as { data: { kind: string } }).data.kind === 'media',
      ),
    ).toBe(false);

    await alice.client.hangup();
    await until(bob.client, (s) => s.call?.phase === 'ended');
    expect(bob.client.snapshot.call?.outcome).toBe('hangup');
    expect(alice.client.snapshot.call?.outcome).toBe('hangup');
  }, 30_000);

  it('tells the peer, peer to peer, while we record; the mark goes when recording stops and with the call', async () => {
    const { alice, bob } = await twoInARoom();
    expect(() => alice.client.setRecording(true)).toThrow(expect.objectContaining({ reason: 'not_in_call' }));
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    await bob.client.accept();
    await until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen);
    await until(bob.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen);
    expect(bob.client.snapshot.call?.peerRecording).toBe(false);

    // With the server down, so the news can only have come over the data channel.
    alice.signaling.down = true;
    bob.signaling.down = true;
    alice.client.setRecording(true);
    expect(alice.client.snapshot.call?.recording).toBe(true);
    await until(bob.client, (s) => s.call?.peerRecording === true);
    expect(alice.client.snapshot.call?.peerRecording).toBe(false);
    expect(bob.client.snapshot.call?.recording).toBe(false);

    alice.client.setRecording(false);
    await until(bob.client, (s) => s.call?.peerRecording === false);

    // Recording again, then the call ends: nothing of it is left for the next call.
    alice.client.setRecording(true);
    await until(bob.client, (s) => s.call?.peerRecording === true);
    alice.signaling.down = false;
    bob.signaling.down = false;
    await alice.client.hangup();
    await until(bob.client, (s) => s.call?.phase === 'ended');
    expect(bob.client.snapshot.call?.peerRecording).toBe(false);
    expect(alice.client.snapshot.call?.recording).toBe(false);
    // Stopping without a call is no error (the recorder stops after the hang-up).
    expect(() => alice.client.setRecording(false)).not.toThrow();
  }, 30_000);

  it("the caller's offer reaches the ringing callee, which sends nothing until Accept and then answers at once", async () => {
    const { server, alice, bob } = await twoInARoom();
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    // The offer (and candidates) went out while it rang, and Bob's connection applied it.
    await vi.waitFor(() => expect(bob.logged.some((line) => line.includes('offer applied'))).toBe(true), {
      timeout: 5000,
    });
    const offers = requested(alice.signaling, 'signal').filter(
      (p) => (p as { data: SignalData }).data.kind === 'description',
    );
    expect(offers).toHaveLength(1);
    // Give Bob's side time to say something if it would: it must not (not even to a server that refuses).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requested(bob.signaling, 'signal')).toEqual([]);
    expect(server.refused).toEqual([]);

    await bob.client.accept();
    await Promise.all([
      until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
      until(bob.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
    ]);
    // Bob answered the offer he held; nobody had to make a second one, and the server refused nothing.
    const bobsDescriptions = requested(bob.signaling, 'signal').filter(
      (p) => (p as { data: SignalData }).data.kind === 'description',
    );
    expect(
      bobsDescriptions.map((p) => (p as { data: { description: { type: string } } }).data.description.type),
    ).toEqual(['answer']);
    expect(server.refused).toEqual([]);
  }, 30_000);

  it('a ringing callee that never got the offer asks for one once accepted, and the call connects', async () => {
    const { alice, bob } = await twoInARoom();
    // Bob's connection to the server drops the offer (as if his page had reloaded while it rang).
    bob.signaling.dropSignals = true;
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    await new Promise((resolve) => setTimeout(resolve, 300));
    bob.signaling.dropSignals = false;
    await bob.client.accept();
    await Promise.all([
      until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
      until(bob.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen),
    ]);
    expect(requested(bob.signaling, 'signal').map((p) => (p as { data: SignalData }).data.kind)).toContain(
      'reconnect',
    );
  }, 30_000);

  it('diagnostics() names the call and its connection and keeps the core log without a sink', async () => {
    const { server, alice, bob } = await twoInARoom();
    server.iceServers = [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'very-secret' }];
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    await bob.client.accept();
    await until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen);
    alice.client.dropConnection();
    await until(alice.client, (s) => s.call?.phase === 'connected' && s.dataChannelOpen);

    const report = alice.client.diagnostics();
    expect(report.connection).toBe('connected');
    expect(report.room).toEqual({ name: 'lobby', people: 2 });
    expect(report.call).toMatchObject({ phase: 'connected', role: 'caller', dataChannelOpen: true });
    expect(report.call?.epoch).toMatch(/^[\w-]{16}$/);
    expect(report.log.some((line) => line.includes('rebuilding the connection'))).toBe(true);
    expect(alice.logged.some((line) => line.includes('rebuilding the connection'))).toBe(true);
    expect(JSON.stringify(report)).not.toContain('very-secret');
  }, 30_000);

  it('a ringing call the restarted server no longer knows is over', async () => {
    const { alice, bob } = await twoInARoom();
    await alice.client.call(bob.signaling.userId);
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    // The server restarted and the client joined again: its session has no call.
    await bob.client.join('lobby', 'Bob');
    const ended = await until(bob.client, (s) => s.call?.phase === 'ended');
    expect(ended.call?.outcome).toBe('peer_left');
  });
});

describe('IceConfig', () => {
  it('refreshes TURN credentials at 80 % of their lifetime, retries a failed refresh, and bundles', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const changes: RTCIceServer[][] = [];
      let fail = false;
      let refreshes = 0;
      const ice = new IceConfig({
        refresh: async () => {
          refreshes++;
          if (fail) {
            throw new Error('server unreachable');
          }
          return { iceServers: [{ urls: `turn:t${refreshes}` }], iceServersExpireAt: Date.now() + 100_000 };
        },
        onChange: (servers) => changes.push(servers),
        log: () => undefined,
      });
      ice.adopt([{ urls: 'turn:t0' }], Date.now() + 100_000, 'relay');
      expect(ice.configuration()).toEqual({
        bundlePolicy: 'max-bundle',
        iceServers: [{ urls: 'turn:t0' }],
        iceTransportPolicy: 'relay',
      });
      await vi.advanceTimersByTimeAsync(79_999);
      expect(refreshes).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(refreshes).toBe(1);
      expect(changes.at(-1)).toEqual([{ urls: 'turn:t1' }]);
      fail = true;
      await vi.advanceTimersByTimeAsync(80_000);
      expect(refreshes).toBe(2);
      // Kept the old servers, and tries again within a minute.
      expect(ice.configuration().iceServers).toEqual([{ urls: 'turn:t1' }]);
      fail = false;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(refreshes).toBe(3);
      expect(ice.configuration().iceServers).toEqual([{ urls: 'turn:t3' }]);
      ice.stop();
      await vi.advanceTimersByTimeAsync(1_000_000);
      expect(refreshes).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('DuetClient: verified calls', () => {
  const symbolsOf = (s: ClientSnapshot) => s.verification?.symbols?.map((symbol) => symbol.en).join(' ');

  async function connectedCall() {
    const { alice, bob } = await twoInARoom();
    await alice.client.call(bob.signaling.userId, { video: false });
    await until(bob.client, (s) => s.call?.phase === 'incoming');
    await bob.client.accept();
    const a = await until(alice.client, (s) => s.verification?.status === 'unverified');
    const b = await until(bob.client, (s) => s.verification?.status === 'unverified');
    return { alice, bob, a, b };
  }

  it('shows both sides the same six symbols; each side’s verdict is its own', async () => {
    const { alice, bob, a, b } = await connectedCall();
    expect(a.verification?.symbols).toHaveLength(6);
    expect(symbolsOf(b)).toBe(symbolsOf(a));
    alice.client.verification.confirm(true);
    expect(alice.client.snapshot.verification).toMatchObject({ status: 'verified', verifiedBefore: false });
    expect(bob.client.snapshot.verification?.status).toBe('unverified');
    bob.client.verification.confirm(false);
    expect(bob.client.snapshot.verification?.status).toBe('mismatch');
  });

  it('derives the string anew for a rebuilt connection: a new certificate takes the mark away, and says so', async () => {
    // No kept certificate here (Node's WebRTC makes one per connection), as in a browser without IndexedDB.
    const { alice, bob, a } = await connectedCall();
    alice.client.verification.confirm(true);
    bob.client.verification.confirm(true);
    alice.client.dropConnection();
    const after = await until(alice.client, (s) => s.verification?.status === 'changed');
    await until(bob.client, (s) => s.verification?.status === 'changed' && symbolsOf(s) === symbolsOf(after));
    expect(symbolsOf(after)).not.toBe(symbolsOf(a));
    for (const side of [alice, bob]) {
      expect(side.notices).toContainEqual({
        kind: 'verification-changed',
        peerName: side === alice ? 'Bob' : 'Alice',
      });
    }
    alice.client.verification.confirm(true);
    expect(alice.client.snapshot.verification?.status).toBe('verified');
  });

  it('has nothing to verify outside a call', async () => {
    const { alice } = await twoInARoom();
    expect(alice.client.snapshot.verification).toBeNull();
    expect(() => alice.client.verification.confirm(true)).toThrow(/call/);
  });
});
