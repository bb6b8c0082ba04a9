import { describe, expect, it } from 'vitest';
import { transition, type CallEvent, type CallState } from '../src/call/call-state.js';

const peer = { id: 'p'.repeat(22), name: 'Bob', state: 'free' as const };
const media = { audio: true, video: true };
const callId = 'c'.repeat(22);
const base = { callId, peer, media };

const idle: CallState = { phase: 'idle' };
const outgoing: CallState = { ...base, role: 'caller', phase: 'outgoing' };
const incoming: CallState = { ...base, role: 'callee', phase: 'incoming' };
const answering: CallState = { ...base, role: 'callee', phase: 'answering' };
const connecting: CallState = { ...base, role: 'caller', phase: 'connecting', polite: false };
const connected: CallState = { ...connecting, phase: 'connected' };
const reconnecting: CallState = { ...connecting, phase: 'reconnecting' };
type Role = 'caller' | 'callee';
const endedBy = (outcome: string, role: Role = 'caller'): CallState =>
  ({ ...base, role, phase: 'ended', outcome }) as CallState;

const callerSession = { type: 'start-session', callId, polite: false, role: 'caller', rejoin: false };
const calleeSession = { type: 'start-session', callId, polite: true, role: 'callee', rejoin: false };
const stop = { type: 'stop-session', endedBy: 'remote' };
const stopBySelf = { type: 'stop-session', endedBy: 'self' };
const announce = (outcome: string, role = 'caller', endedBy = 'remote') => ({
  type: 'announce-end',
  callId,
  outcome,
  peer,
  role,
  endedBy,
});

type Row = [string, CallState, CallEvent, CallState, unknown[]];

/** We hang up in `from`: the server is told, our session stops, and the call ends as `outcome`. */
const weHangUp = (name: string, from: CallState, outcome: string, role: Role = 'caller'): Row => [
  name,
  from,
  { type: 'hangup' },
  endedBy(outcome, role),
  [{ type: 'send-hangup', callId }, stopBySelf, announce(outcome, role, 'self')],
];

/** The server ends our call in `from` for `reason`: the session stops and the call ends with that reason. */
const endedRemotely = (name: string, from: CallState, reason: string, role: Role = 'caller'): Row => [
  name,
  from,
  { type: 'remote-ended', callId, reason } as CallEvent,
  endedBy(reason, role),
  [stop, announce(reason, role)],
];

/** The media of the call in `from` fails for good: we hang up, and the call ends as `failed`. */
const mediaFails = (name: string, from: CallState): Row => [
  name,
  from,
  { type: 'media-failed' },
  endedBy('failed'),
  [{ type: 'send-hangup', callId }, stop, announce('failed')],
];

const rows: Row[] = [
  [
    'rejoin an active call after a reload',
    idle,
    { type: 'rejoin', ...base, role: 'callee', polite: true },
    { ...base, role: 'callee', phase: 'connecting', polite: true },
    [{ type: 'start-session', callId, polite: true, role: 'callee', rejoin: true }],
  ],
  [
    'rejoin while in another call is ignored',
    connected,
    { type: 'rejoin', ...base, role: 'callee', polite: true },
    connected,
    [],
  ],
  [
    'dial from idle: the offer is made as it rings',
    idle,
    { type: 'dial', ...base },
    outgoing,
    [callerSession],
  ],
  [
    'ring from idle: the offer is applied as it rings',
    idle,
    { type: 'ring', ...base },
    incoming,
    [calleeSession],
  ],
  ['ring after an ended call', endedBy('hangup'), { type: 'ring', ...base }, incoming, [calleeSession]],
  [
    'ring again after this tab reloaded: the offer went to the page that is gone',
    idle,
    { type: 'ring', ...base, rejoin: true },
    incoming,
    [{ ...calleeSession, rejoin: true }],
  ],
  [
    'a second ring while in a call is ignored',
    connected,
    { type: 'ring', ...base, callId: 'x'.repeat(22) },
    connected,
    [],
  ],
  [
    'answer: accept on the server, and answer the offer',
    incoming,
    { type: 'answer' },
    answering,
    [{ type: 'send-accept', callId }, { type: 'answer-offer' }],
  ],
  ['answer when not ringing is ignored', outgoing, { type: 'answer' }, outgoing, []],
  [
    'decline',
    incoming,
    { type: 'decline' },
    endedBy('declined', 'callee'),
    [{ type: 'send-decline', callId }, stopBySelf, announce('declined', 'callee', 'self')],
  ],
  weHangUp('cancel (hang up while calling)', outgoing, 'cancelled'),
  weHangUp('hang up while ringing in is a decline', incoming, 'declined', 'callee'),
  weHangUp('hang up a connected call', connected, 'hangup'),
  weHangUp('hang up while reconnecting', reconnecting, 'hangup'),
  ['hang up when idle is ignored', idle, { type: 'hangup' }, idle, []],
  [
    "accepted: the caller's session (started as it rang) may go on",
    outgoing,
    { type: 'accepted', callId, polite: false },
    connecting,
    [{ type: 'session-accepted', callId }],
  ],
  [
    "accepted: the callee's held answer and candidates may go out",
    answering,
    { type: 'accepted', callId, polite: true },
    { ...base, role: 'callee', phase: 'connecting', polite: true },
    [{ type: 'session-accepted', callId }],
  ],
  [
    'accepted for another call is ignored',
    outgoing,
    { type: 'accepted', callId: 'x'.repeat(22), polite: false },
    outgoing,
    [],
  ],
  ['accepted twice is ignored', connecting, { type: 'accepted', callId, polite: false }, connecting, []],
  endedRemotely('remote decline', outgoing, 'declined'),
  endedRemotely('ring timeout (caller: no answer)', outgoing, 'timeout'),
  endedRemotely('ring timeout (callee: missed)', incoming, 'timeout', 'callee'),
  endedRemotely('remote cancel while ringing in', incoming, 'cancelled', 'callee'),
  endedRemotely('remote hangup', connected, 'hangup'),
  endedRemotely('peer left mid-call', reconnecting, 'peer_left'),
  [
    'an end for another call is ignored',
    connected,
    { type: 'remote-ended', callId: 'x'.repeat(22), reason: 'hangup' },
    connected,
    [],
  ],
  [
    'our own end echoed back by the server is ignored',
    endedBy('hangup'),
    { type: 'remote-ended', callId, reason: 'hangup' },
    endedBy('hangup'),
    [],
  ],
  ['media connects', connecting, { type: 'media-connected' }, connected, []],
  ['media interrupted', connected, { type: 'media-interrupted' }, reconnecting, []],
  ['media back after a restart', reconnecting, { type: 'media-connected' }, connected, []],
  [
    'media interrupted before first connect stays connecting',
    connecting,
    { type: 'media-interrupted' },
    connecting,
    [],
  ],
  mediaFails('media fails for good', reconnecting),
  mediaFails('media fails while connecting', connecting),
  ['dismiss an ended call', endedBy('hangup'), { type: 'dismiss' }, idle, []],
  ['dismiss a live call is ignored', connected, { type: 'dismiss' }, connected, []],
];

describe('call state machine', () => {
  it.each(rows)('%s', (_name, from, event, to, effects) => {
    expect(transition(from, event)).toEqual({ state: to, effects });
  });

  it('never changes the state it was given', () => {
    const frozen = Object.freeze({ ...incoming });
    expect(() => transition(frozen, { type: 'answer' })).not.toThrow();
    expect(frozen.phase).toBe('incoming');
  });
});

describe('the facts of a call kept in its state', () => {
  const stream = {} as MediaStream;
  const muted = { microphone: false, camera: true, screen: false };

  it('keeps the ring deadline while ringing, and drops it once the call is answered', () => {
    const ringing = transition(idle, { type: 'dial', ...base, ringsUntil: 5000 }).state;
    expect(ringing).toEqual({ ...outgoing, ringsUntil: 5000 });
    const incomingWithDeadline = transition(idle, { type: 'ring', ...base, ringsUntil: 7000 }).state;
    expect(transition(incomingWithDeadline, { type: 'answer' }).state).toEqual(answering);
    expect(transition(ringing, { type: 'accepted', callId, polite: false }).state).toEqual(connecting);
  });

  it('notes when the media first connected, and keeps it through a reconnect', () => {
    const up = transition(connecting, { type: 'media-connected', at: 1000 }).state;
    expect(up).toEqual({ ...connected, connectedAt: 1000 });
    const down = transition(up, { type: 'media-interrupted' }).state;
    expect(transition(down, { type: 'media-connected', at: 9000 }).state).toEqual({
      ...connected,
      connectedAt: 1000,
    });
  });

  it("holds the peer's media state and stream while the call is live, and forgets them when it ends", () => {
    const told = transition(connected, { type: 'remote-media', state: muted }).state;
    const withStream = transition(told, { type: 'remote-stream', stream }).state;
    expect(withStream).toEqual({ ...connected, remoteMedia: muted, remoteStream: stream });
    expect(transition(outgoing, { type: 'remote-media', state: muted })).toEqual({
      state: outgoing,
      effects: [],
    });
    const ended = transition(withStream, { type: 'remote-ended', callId, reason: 'hangup' }).state;
    expect(ended).toEqual(endedBy('hangup'));
  });

  it('holds whether the peer records while the call is live (through a reconnect), and not after', () => {
    const recording = transition(connected, { type: 'remote-recording', active: true }).state;
    expect(recording).toEqual({ ...connected, remoteRecording: true });
    const down = transition(recording, { type: 'media-interrupted' }).state;
    expect(down).toMatchObject({ phase: 'reconnecting', remoteRecording: true });
    expect(transition(down, { type: 'remote-recording', active: false }).state).toEqual({
      ...down,
      remoteRecording: false,
    });
    // Not before the call is accepted (nothing of the peer is shown then), nor after it ended.
    expect(transition(outgoing, { type: 'remote-recording', active: true })).toEqual({
      state: outgoing,
      effects: [],
    });
    const ended = transition(recording, { type: 'remote-ended', callId, reason: 'hangup' }).state;
    expect(ended).toEqual(endedBy('hangup'));
    expect(transition(ended, { type: 'remote-recording', active: true }).state).toBe(ended);
  });
});
