import type { CallInfo, CallMedia } from '@duet/protocol';
import type { CallEvent, CallState } from '../call/call-state.js';
import type { MediaChoice } from './media-choice.js';

/*
 * What to do when a session (a join, a resume, a re-join after the server restarted) says what the
 * server knows of our call and it differs from what this tab knows: after a reload the tab knows
 * nothing, after a server restart the server knows nothing. A pure function from the two views to
 * the call events and the media to open, so each case is a test row and not a branch in the client.
 */

export interface Reconciliation {
  /** Call events to dispatch, in order. */
  events: CallEvent[];
  /** Open the camera and microphone for the call (with the user's earlier choice), if set. */
  media: CallMedia | null;
  /** Claim a running call back from a server that forgot it (it needs the call's shared key). */
  restore: boolean;
}

export function reconcile(
  server: CallInfo | null,
  ours: CallState,
  tab: { hasConnection: boolean; choice: (callId: string) => MediaChoice | null },
): Reconciliation {
  const live = ours.phase !== 'idle' && ours.phase !== 'ended';
  if (server === null) {
    // The server forgot a call that has no media yet (it restarted while ringing): it is over.
    if (live && !tab.hasConnection) {
      return {
        events: [{ type: 'remote-ended', callId: ours.callId, reason: 'peer_left' }],
        media: null,
        restore: false,
      };
    }
    // A running call it forgot: the peer connection carries on, and we claim the call back.
    const running =
      ours.phase === 'connecting' || ours.phase === 'connected' || ours.phase === 'reconnecting';
    return { events: [], media: null, restore: running && tab.hasConnection };
  }
  if ('callId' in ours && ours.callId === server.callId && ours.phase !== 'ended') {
    return { events: [], media: null, restore: false };
  }
  if (server.state === 'ringing') {
    // A reloaded tab's call rings again (or keeps calling). The caller's camera and microphone went
    // with the page; the callee's start when it accepts. The caller makes a new offer; the one it
    // made for the callee went to the page that is gone, so the callee asks for one once accepted.
    const { callId, peer, media } = server;
    const event: CallEvent =
      server.role === 'caller'
        ? { type: 'dial', callId, peer, media }
        : { type: 'ring', callId, peer, media, rejoin: true };
    return {
      events: [event],
      media: server.role === 'caller' ? server.media : null,
      restore: false,
    };
  }
  // An active call: our peer connection and our camera and microphone died with the page. Build a
  // new connection (a new epoch) at once and open the devices meanwhile: the tracks join the
  // connection when they are ready, with the mute and camera choice the user had before the reload.
  const choice = tab.choice(server.callId);
  return {
    events: [
      {
        type: 'rejoin',
        callId: server.callId,
        peer: server.peer,
        media: server.media,
        role: server.role,
        polite: server.polite,
      },
    ],
    media: {
      audio: server.media.audio && (choice?.microphone ?? true),
      video: server.media.video && (choice?.camera ?? true),
    },
    restore: false,
  };
}
