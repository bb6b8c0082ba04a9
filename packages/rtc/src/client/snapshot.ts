import type { RoomSnapshot } from '@duet/protocol';
import type { CallState } from '../call/call-state.js';
import type { CallView } from './client-types.js';

/*
 * What the UI sees of the call: the call state machine's state, shown. Pure, so the rules of what
 * a phase looks like (an answering callee is "connecting", the ring deadline only while ringing,
 * the peer's name as the room knows it now) sit in one place and not in the client's plumbing.
 */

export function viewOfCall(call: CallState, room: RoomSnapshot | null, recording = false): CallView | null {
  if (call.phase === 'idle') {
    return null;
  }
  const phase = call.phase === 'answering' ? 'connecting' : call.phase;
  const live = call.phase === 'connecting' || call.phase === 'connected' || call.phase === 'reconnecting';
  const ringing = call.phase === 'outgoing' || call.phase === 'incoming';
  return {
    id: call.callId,
    phase,
    role: call.role,
    peer: room?.users.find((u) => u.id === call.peer.id) ?? call.peer,
    media: call.media,
    // Until the peer says otherwise, expect what the call was placed for (no camera on audio calls).
    remoteMedia: (live ? call.remoteMedia : undefined) ?? {
      microphone: true,
      camera: call.media.video,
      screen: false,
    },
    remoteStream: (live ? call.remoteStream : undefined) ?? null,
    peerRecording: (live ? call.remoteRecording : undefined) ?? false,
    recording: live && recording,
    connectedAt: (live ? call.connectedAt : undefined) ?? null,
    ringsUntil: (ringing ? call.ringsUntil : undefined) ?? null,
    outcome: call.phase === 'ended' ? call.outcome : null,
  };
}
