import { describe, expect, it } from 'vitest';
import type { CallInfo } from '@duet/protocol';
import type { CallState } from '../src/call/call-state.js';
import { reconcile } from '../src/client/reconcile.js';

/** What a session's view of our call makes this tab do, one row per case (see reconcile.ts). */

const peer = { id: 'p'.repeat(22), name: 'Bob', state: 'in-call' as const };
const media = { audio: true, video: true };
const callId = 'c'.repeat(22);
const idle: CallState = { phase: 'idle' };
const ringingOut: CallState = { callId, peer, media, role: 'caller', phase: 'outgoing' };
const connected: CallState = { callId, peer, media, role: 'caller', phase: 'connected', polite: false };
const serverRinging = (role: 'caller' | 'callee'): CallInfo => ({
  callId,
  peer,
  media,
  role,
  state: 'ringing',
  polite: role === 'callee',
});
const serverActive: CallInfo = { ...serverRinging('callee'), state: 'active' };
const tab = (hasConnection: boolean, choice: { microphone: boolean; camera: boolean } | null = null) => ({
  hasConnection,
  choice: () => choice,
});

describe('reconcile a session with the call this tab knows', () => {
  it.each([
    [
      'the server forgot a ringing call: it is over',
      null,
      ringingOut,
      tab(false),
      { events: [{ type: 'remote-ended', callId, reason: 'peer_left' }], media: null, restore: false },
    ],
    [
      'the server forgot a running call: claim it back',
      null,
      connected,
      tab(true),
      { events: [], media: null, restore: true },
    ],
    ['nothing on either side', null, idle, tab(false), { events: [], media: null, restore: false }],
    [
      'the same call on both sides',
      serverActive,
      connected,
      tab(true),
      { events: [], media: null, restore: false },
    ],
    [
      'reloaded while calling out: keep calling, camera and microphone back',
      serverRinging('caller'),
      idle,
      tab(false),
      { events: [{ type: 'dial', callId, peer, media }], media, restore: false },
    ],
    [
      'reloaded while ringing in: ring again (asking for a new offer once accepted), devices only on accept',
      serverRinging('callee'),
      idle,
      tab(false),
      { events: [{ type: 'ring', callId, peer, media, rejoin: true }], media: null, restore: false },
    ],
    [
      'reloaded mid-call muted with the camera off: rejoin, and open only what was on',
      serverActive,
      idle,
      tab(false, { microphone: false, camera: false }),
      {
        events: [{ type: 'rejoin', callId, peer, media, role: 'callee', polite: true }],
        media: { audio: false, video: false },
        restore: false,
      },
    ],
  ] as const)('%s', (_name, server, ours, tabState, expected) => {
    expect(reconcile(server, ours, tabState)).toEqual(expected);
  });
});
