import {
  hangupReason,
  type CallEndReason,
  type CallMedia,
  type MediaState,
  type PublicUser,
} from '@duet/protocol';
import type { CallOutcome } from '../client/client-types.js';

/*
 * The call as one party sees it, written as a pure function so every path is a table row in a test.
 *
 *   idle --dial--> outgoing --accepted--> connecting --media-connected--> connected
 *   idle --ring--> incoming --answer--> answering --accepted--> connecting
 *   (dial and ring start the peer connection; answer releases the callee's answer)
 *   idle --rejoin (back from a reload into an active call)--> connecting
 *   connected --media-interrupted--> reconnecting --media-connected--> connected
 *   connecting | reconnecting --media-failed--> ended(failed)
 *   outgoing | incoming | answering | connecting | connected | reconnecting
 *       --hangup (local)--> ended(cancelled | declined | hangup)
 *       --decline (local, incoming only)--> ended(declined)
 *       --remote-ended(reason)--> ended(reason)
 *   ended --dismiss--> idle
 *
 * Effects are what the caller of `transition` must do (send to the server, start or stop the peer
 * connection); the machine itself does nothing.
 *
 * The peer connection starts while the call rings, on both sides: the caller makes its offer at
 * once and the server relays it (and its candidates) to the ringing callee, whose connection applies
 * them but holds its answer. Accepting releases the answer, so the call is up about one signaling
 * round trip sooner than if the offer were made after the accept. Nothing of the callee reaches the
 * caller before that: the server relays nothing of the callee while the call rings, and the client
 * keeps what its connection says after Accept until the server has made the call active.
 *
 * Everything the UI shows about the call lives here too, so it has one owner and ends with the call:
 * when the ring times out, when the media first connected (the call timer), what the peer says
 * about its microphone and camera, and the peer's stream. Times come in with the events (`Date.now()`
 * of whoever dispatches), which keeps the function pure.
 */

export type Role = 'caller' | 'callee';

interface CallBase {
  callId: string;
  peer: PublicUser;
  media: CallMedia;
  role: Role;
}

/** What a live call with a peer connection knows about the media (absent until known). */
interface MediaFacts {
  /** When the media first connected (ms since epoch); kept through reconnects. */
  connectedAt?: number;
  /** The peer's microphone/camera/screen as it told us; until then, what the call was placed for. */
  remoteMedia?: MediaState;
  /** The peer's audio and video, once tracks arrive. */
  remoteStream?: MediaStream;
  /** The peer says it is recording the call (it ends with the call, so a new call starts without it). */
  remoteRecording?: boolean;
}

export type CallState =
  | { phase: 'idle' }
  /** `ringsUntil`: when the ring times out (ms since epoch), when known. */
  | (CallBase & { phase: 'outgoing' | 'incoming'; ringsUntil?: number })
  | (CallBase & { phase: 'answering' })
  | (CallBase & MediaFacts & { phase: 'connecting' | 'connected' | 'reconnecting'; polite: boolean })
  | (CallBase & { phase: 'ended'; outcome: CallOutcome });

export type CallEvent =
  /** Our invite was acknowledged by the server: the peer's phone rings (until `ringsUntil`). */
  | { type: 'dial'; callId: string; peer: PublicUser; media: CallMedia; ringsUntil?: number }
  /**
   * Someone calls us. `rejoin`: this tab reloaded while it rang, so the caller's offer went to the
   * page that is gone.
   */
  | {
      type: 'ring';
      callId: string;
      peer: PublicUser;
      media: CallMedia;
      ringsUntil?: number;
      rejoin?: boolean;
    }
  /** We pick up. */
  | { type: 'answer' }
  /** We decline a ringing call. */
  | { type: 'decline' }
  /** We hang up (or cancel an outgoing call). */
  | { type: 'hangup' }
  /** The server says the call is accepted (both parties get this); `polite` is our role. */
  | { type: 'accepted'; callId: string; polite: boolean }
  /** After a reload, the server says we are in this active call: build a new connection for it. */
  | { type: 'rejoin'; callId: string; peer: PublicUser; media: CallMedia; role: Role; polite: boolean }
  /** A restarted server knows the call again; the peer may have a new user id. */
  | { type: 'restored'; callId: string; peer: PublicUser }
  /** The server says the call ended. */
  | { type: 'remote-ended'; callId: string; reason: CallEndReason }
  /** The media path is up; `at` is now (ms since epoch). */
  | { type: 'media-connected'; at?: number }
  /** The peer told us its microphone/camera/screen state. */
  | { type: 'remote-media'; state: MediaState }
  /** The peer told us it started (true) or stopped (false) recording the call. */
  | { type: 'remote-recording'; active: boolean }
  /** The peer's stream gained a track (the same stream object every time, per connection). */
  | { type: 'remote-stream'; stream: MediaStream }
  | { type: 'media-interrupted' }
  /** The peer connection failed and ICE restarts could not bring it back. */
  | { type: 'media-failed' }
  | { type: 'dismiss' };

export type CallEffect =
  | { type: 'send-accept'; callId: string }
  | { type: 'send-decline'; callId: string }
  | { type: 'send-hangup'; callId: string }
  /** Build the call's peer connection (from `dial` and `ring` on, so the offer is made as it rings). */
  | { type: 'start-session'; callId: string; polite: boolean; role: Role; rejoin: boolean }
  /** The callee's user accepted: answer the offer applied while it rang. */
  | { type: 'answer-offer' }
  /** The server made the call active: what the connection holds for the peer may go out now. */
  | { type: 'session-accepted'; callId: string }
  /** `self`: we hung up (say goodbye to the peer over the data channel too). */
  | { type: 'stop-session'; endedBy: 'self' | 'remote' }
  | {
      type: 'announce-end';
      callId: string;
      outcome: CallOutcome;
      peer: PublicUser;
      role: Role;
      endedBy: 'self' | 'remote';
    };

export interface Transition {
  state: CallState;
  effects: CallEffect[];
}

const IDLE: CallState = { phase: 'idle' };

/** The next state and the effects to run. Events that do not apply leave the state as it is. */
export function transition(state: CallState, event: CallEvent): Transition {
  const same: Transition = { state, effects: [] };
  switch (event.type) {
    case 'dial':
    case 'ring': {
      if (state.phase !== 'idle' && state.phase !== 'ended') {
        return same;
      }
      const role: Role = event.type === 'dial' ? 'caller' : 'callee';
      const base = { callId: event.callId, peer: event.peer, media: event.media, role };
      const phase = event.type === 'dial' ? 'outgoing' : 'incoming';
      const ringsUntil = event.ringsUntil === undefined ? {} : { ringsUntil: event.ringsUntil };
      // The callee is the polite side of perfect negotiation, the caller not (as `accepted` says).
      const rejoin = event.type === 'ring' && event.rejoin === true;
      return {
        state: { ...base, phase, ...ringsUntil },
        effects: [{ type: 'start-session', callId: event.callId, polite: role === 'callee', role, rejoin }],
      };
    }
    case 'answer':
      if (state.phase !== 'incoming') {
        return same;
      }
      return {
        state: { ...baseOf(state), phase: 'answering' },
        effects: [{ type: 'send-accept', callId: state.callId }, { type: 'answer-offer' }],
      };
    case 'decline':
      if (state.phase !== 'incoming') {
        return same;
      }
      return end(state, 'declined', 'self', [{ type: 'send-decline', callId: state.callId }]);
    case 'hangup': {
      if (state.phase === 'idle' || state.phase === 'ended') {
        return same;
      }
      const ringing = state.phase === 'outgoing' || state.phase === 'incoming';
      const outcome = hangupReason(ringing ? 'ringing' : 'active', state.role);
      return end(state, outcome, 'self', [{ type: 'send-hangup', callId: state.callId }]);
    }
    case 'accepted': {
      if (!isLive(state) || state.callId !== event.callId) {
        return same;
      }
      if (state.phase !== 'outgoing' && state.phase !== 'answering') {
        return same;
      }
      return {
        state: { ...baseOf(state), phase: 'connecting', polite: event.polite },
        effects: [{ type: 'session-accepted', callId: state.callId }],
      };
    }
    case 'rejoin': {
      if (state.phase !== 'idle' && state.phase !== 'ended') {
        return same;
      }
      const base = { callId: event.callId, peer: event.peer, media: event.media, role: event.role };
      return {
        state: { ...base, phase: 'connecting', polite: event.polite },
        effects: [
          {
            type: 'start-session',
            callId: event.callId,
            polite: event.polite,
            role: event.role,
            rejoin: true,
          },
        ],
      };
    }
    case 'restored':
      if (!isLive(state) || state.callId !== event.callId) {
        return same;
      }
      return { state: { ...state, peer: event.peer }, effects: [] };
    case 'remote-media':
    case 'remote-stream':
    case 'remote-recording':
      if (state.phase !== 'connecting' && state.phase !== 'connected' && state.phase !== 'reconnecting') {
        return same;
      }
      return {
        state:
          event.type === 'remote-media'
            ? { ...state, remoteMedia: event.state }
            : event.type === 'remote-stream'
              ? { ...state, remoteStream: event.stream }
              : { ...state, remoteRecording: event.active },
        effects: [],
      };
    case 'remote-ended':
      if (!isLive(state) || state.callId !== event.callId) {
        return same;
      }
      return end(state, event.reason, 'remote', []);
    case 'media-connected':
      if (state.phase !== 'connecting' && state.phase !== 'reconnecting') {
        return same;
      }
      return {
        state: {
          ...state,
          phase: 'connected',
          ...(state.connectedAt === undefined && event.at !== undefined ? { connectedAt: event.at } : {}),
        },
        effects: [],
      };
    case 'media-interrupted':
      if (state.phase !== 'connected') {
        return same;
      }
      return { state: { ...state, phase: 'reconnecting' }, effects: [] };
    case 'media-failed':
      if (state.phase !== 'connecting' && state.phase !== 'connected' && state.phase !== 'reconnecting') {
        return same;
      }
      return end(state, 'failed', 'remote', [{ type: 'send-hangup', callId: state.callId }]);
    case 'dismiss':
      return state.phase === 'ended' ? { state: IDLE, effects: [] } : same;
  }
}

type LiveState = Exclude<CallState, { phase: 'idle' } | { phase: 'ended' }>;

function isLive(state: CallState): state is LiveState {
  return state.phase !== 'idle' && state.phase !== 'ended';
}

function baseOf(state: LiveState): CallBase {
  return { callId: state.callId, peer: state.peer, media: state.media, role: state.role };
}

/** End a live call: the session stops (if any) and the UI is told why and by whom. */
function end(
  state: LiveState,
  outcome: CallOutcome,
  endedBy: 'self' | 'remote',
  first: CallEffect[],
): Transition {
  return {
    state: { ...baseOf(state), phase: 'ended', outcome },
    effects: [
      ...first,
      { type: 'stop-session', endedBy },
      { type: 'announce-end', callId: state.callId, outcome, peer: state.peer, role: state.role, endedBy },
    ],
  };
}
