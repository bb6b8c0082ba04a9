import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalData } from '@duet/protocol';
import { CallSession } from '../src/call/call-session.js';
import { createModernPeerConnection } from './modern-peer-connection.js';

/**
 * Perfect negotiation with a real WebRTC stack (libwebrtc through @roamhq/wrtc) in Node: two
 * CallSessions joined by an in-memory relay that, like the signaling server, delivers each side's
 * messages in order but asynchronously (and can hold them to force races).
 */

type Side = 'caller' | 'callee';

class Relay {
  private held = false;
  private readonly queue: Array<() => void> = [];
  readonly sessions = new Map<Side, CallSession>();
  readonly sent: Record<Side, SignalData[]> = { caller: [], callee: [] };

  send(from: Side, data: SignalData): void {
    this.sent[from].push(data);
    const to: Side = from === 'caller' ? 'callee' : 'caller';
    const deliver = () => void this.sessions.get(to)?.handleSignal(data);
    if (this.held) {
      this.queue.push(deliver);
    } else {
      setTimeout(deliver, 1);
    }
  }

  hold(): void {
    this.held = true;
  }

  /** Deliver everything held, optionally in a different order. */
  release(order: (queue: Array<() => void>) => Array<() => void> = (q) => q): void {
    this.held = false;
    for (const deliver of order(this.queue.splice(0))) {
      deliver();
    }
  }
}

const sessions: CallSession[] = [];
/** Each session's peer connection (private to the session), for what the tests inspect. */
const connections = new Map<CallSession, RTCPeerConnection>();
const pcOf = (session: CallSession): RTCPeerConnection => connections.get(session)!;

function pair(relay = new Relay()) {
  const make = (side: Side) => {
    let made: RTCPeerConnection | null = null;
    const session = new CallSession({
      polite: side === 'callee',
      initiator: side === 'caller',
      createPeerConnection: (configuration) => (made = createModernPeerConnection(configuration)),
      configuration: { iceServers: [] },
      sendSignal: (data) => relay.send(side, data),
      restartTimeoutMs: 4000,
      dataChannels: [{ label: 'probe', id: 7 }],
    });
    relay.sessions.set(side, session);
    sessions.push(session);
    connections.set(session, made!);
    return session;
  };
  const caller = make('caller');
  const callee = make('callee');
  // A negotiated channel, as the chat uses: it proves data flows after each negotiation.
  const channels = () => [caller, callee].map((s) => s.channel('probe')!);
  return { relay, caller, callee, channels };
}

const connected = (session: CallSession) =>
  pcOf(session).connectionState === 'connected'
    ? Promise.resolve()
    : session.waitFor('state', (s) => s === 'connected').then(() => undefined);

async function exchange(a: RTCDataChannel, b: RTCDataChannel, text: string): Promise<string> {
  const opened = (c: RTCDataChannel) =>
    c.readyState === 'open'
      ? Promise.resolve()
      : new Promise((r) => c.addEventListener('open', r, { once: true }));
  await Promise.all([opened(a), opened(b)]);
  const received = new Promise<string>((resolve) =>
    b.addEventListener('message', (e) => resolve(String(e.data)), { once: true }),
  );
  a.send(text);
  return received;
}

const descriptionTypes = (sent: SignalData[]) =>
  sent.flatMap((d) => (d.kind === 'description' ? [d.description.type] : []));

afterEach(() => {
  for (const session of sessions.splice(0)) {
    session.close();
  }
});

describe('CallSession negotiation (real libwebrtc)', () => {
  it('connects: the caller offers audio and video, the callee answers onto the offered transceivers', async () => {
    const { caller, callee, channels, relay } = pair();
    caller.start({ audio: null, video: null });
    callee.start({ audio: null, video: null });
    await Promise.all([connected(caller), connected(callee)]);
    expect(await exchange(channels()[0]!, channels()[1]!, 'hello')).toBe('hello');
    expect(descriptionTypes(relay.sent.caller)).toEqual(['offer']);
    expect(descriptionTypes(relay.sent.callee)).toEqual(['answer']);
    for (const session of [caller, callee]) {
      const kinds = pcOf(session)
        .getTransceivers()
        .map((t) => [t.receiver.track.kind, t.currentDirection]);
      expect(kinds).toEqual([
        ['audio', 'sendrecv'],
        ['video', 'sendrecv'],
      ]);
    }
  });

  it('resolves glare: both offer at once, the polite side yields, one stable session results', async () => {
    const { caller, callee, channels, relay } = pair();
    caller.start({ audio: null, video: null });
    callee.start({ audio: null, video: null });
    await Promise.all([connected(caller), connected(callee)]);

    // Both sides renegotiate at the same moment; neither sees the other's offer before sending its own.
    relay.hold();
    caller.restartIce();
    callee.restartIce();
    await expect.poll(() => relay.sent.callee.filter((d) => d.kind === 'description').length).toBe(2);
    await expect.poll(() => relay.sent.caller.filter((d) => d.kind === 'description').length).toBe(2);
    relay.release();

    await expect
      .poll(() => [pcOf(caller).signalingState, pcOf(callee).signalingState], { timeout: 10_000 })
      .toEqual(['stable', 'stable']);
    await Promise.all([connected(caller), connected(callee)]);
    expect(await exchange(channels()[1]!, channels()[0]!, 'after glare')).toBe('after glare');
  });

  it('queues candidates that arrive before the offer', async () => {
    const relay = new Relay();
    relay.hold();
    const { caller, callee, channels } = pair(relay);
    caller.start({ audio: null, video: null });
    callee.start({ audio: null, video: null });
    await expect.poll(() => relay.sent.caller.some((d) => d.kind === 'candidate')).toBe(true);
    // Candidates first, the offer last: the callee must hold them until it has a remote description.
    relay.release((queue) => [...queue.slice(1), queue[0]!]);
    await Promise.all([connected(caller), connected(callee)]);
    expect(await exchange(channels()[0]!, channels()[1]!, 'late offer')).toBe('late offer');
  });

  it('restarts ICE with new credentials and stays connected', async () => {
    const { caller, callee, relay } = pair();
    caller.start({ audio: null, video: null });
    callee.start({ audio: null, video: null });
    await Promise.all([connected(caller), connected(callee)]);
    const ufrag = (sdp: string | undefined) => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1];
    const before = ufrag(pcOf(caller).localDescription?.sdp);
    caller.restartIce();
    await expect.poll(() => relay.sent.caller.filter((d) => d.kind === 'description').length).toBe(2);
    await expect.poll(() => pcOf(caller).signalingState, { timeout: 10_000 }).toBe('stable');
    expect(ufrag(pcOf(caller).localDescription?.sdp)).not.toBe(before);
    await connected(caller);
  });

  it('swaps what a sender sends without renegotiation (replaceTrack)', async () => {
    const { caller, callee, relay } = pair();
    caller.start({ audio: null, video: null });
    callee.start({ audio: null, video: null });
    await Promise.all([connected(caller), connected(callee)]);
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    const offers = relay.sent.caller.length;
    await caller.replaceTrack('audio', track);
    const sender = pcOf(caller)
      .getTransceivers()
      .find((t) => t.receiver.track.kind === 'audio')!.sender;
    expect(sender.track).toBe(track);
    await caller.replaceTrack('audio', null);
    expect(sender.track).toBeNull();
    expect(relay.sent.caller.slice(offers).some((d) => d.kind === 'description')).toBe(false);
    track.stop();
  });
});
