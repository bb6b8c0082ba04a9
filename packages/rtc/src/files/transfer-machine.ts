import { isTransferFinal } from './transfer-states.js';
import type { TransferError, TransferState } from './transfer-types.js';

/*
 * One transfer's life, written as pure functions so every path is a table row in a test
 * (test/transfer-machine.test.ts), like call-state.ts. Outgoing transfers start in `waiting`,
 * incoming ones in `offered`. Any event not listed for a state is ignored, which is what makes the
 * engine indifferent to the order in which a peer's messages and channel events arrive.
 *
 *   offered | waiting  --accept-->   transferring  (the receiver said yes; the sender opens a channel)
 *   offered | waiting  --decline-->  declined
 *   transferring       --break-->    paused        (the channel closed or the connection dropped)
 *   transferring       --resume-->   transferring  (a new channel replaces the current one)
 *   paused             --resume-->   transferring
 *   transferring | paused --complete--> verifying  (receiver: every byte stored; sender: every byte acked)
 *   verifying          --verified--> done
 *   any live           --fail-->     failed        (hash mismatch, size overrun, read/storage error, peer error)
 *   any live           --cancel-->   cancelled
 *   done, failed, cancelled, declined: final (the predicates on states are in transfer-states.ts).
 *
 * Effects are what the transfer must do because its state changed (tell the peer, note who ended
 * it, restart the speed meter, show the change, free what it holds); the machine itself does
 * nothing. What a transfer does to move bytes (open a channel, ask to resume) is not here: it
 * depends on offsets and channels, not on the state alone.
 */

export type TransferEventType =
  'accept' | 'decline' | 'break' | 'resume' | 'complete' | 'verified' | 'fail' | 'cancel';

export type TransferEvent =
  /** `self`: our user accepted an offer (the receiver); `peer`: the receiver's accept arrived. */
  | { type: 'accept'; by: 'self' | 'peer' }
  | { type: 'decline'; by: 'self' | 'peer' }
  | { type: 'break' }
  | { type: 'resume' }
  | { type: 'complete' }
  | { type: 'verified' }
  /** `tellPeer`: the failure is ours, the peer must hear of it (a `file-cancel {error}`). */
  | { type: 'fail'; error: TransferError; tellPeer: boolean }
  | { type: 'cancel'; by: 'self' | 'peer' };

/** What to tell the peer: `file-accept`, `file-decline`, `file-cancel {user}`, `file-cancel {error}`. */
export type PeerNotice = 'accept' | 'decline' | 'cancel' | 'error';

/** In the order they must run (the peer hears of an ending before anything is freed). */
export type TransferEffect =
  | { type: 'tell-peer'; notice: PeerNotice }
  | { type: 'note-cancel'; by: 'self' | 'peer' }
  | { type: 'note-error'; error: TransferError }
  /** Entering `transferring`: the speed is measured afresh from here. */
  | { type: 'restart-meter' }
  /** The state changed: show it at once. */
  | { type: 'emit' }
  /** A final state: close the channel, stop timers, drop the reader or abort the sink. */
  | { type: 'release' };

export interface TransferTransition {
  state: TransferState;
  effects: TransferEffect[];
}

/** The next state of a transfer, or null when `event` does not apply in `state` (ignore it). */
export function nextTransferState(state: TransferState, event: TransferEventType): TransferState | null {
  if (isTransferFinal(state)) {
    return null;
  }
  if (event === 'fail') {
    return 'failed';
  }
  if (event === 'cancel') {
    return 'cancelled';
  }
  switch (state) {
    case 'offered':
    case 'waiting':
      if (event === 'accept') {
        return 'transferring';
      }
      if (event === 'decline') {
        return 'declined';
      }
      return null;
    case 'transferring':
      if (event === 'break') {
        return 'paused';
      }
      if (event === 'resume') {
        return 'transferring';
      }
      if (event === 'complete') {
        return 'verifying';
      }
      return null;
    case 'paused':
      if (event === 'resume') {
        return 'transferring';
      }
      if (event === 'complete') {
        return 'verifying';
      }
      return null;
    case 'verifying':
      return event === 'verified' ? 'done' : null;
    default:
      return null;
  }
}

/**
 * The next state and the effects to run. Events that do not apply, and a resume of a transfer
 * already transferring (a new channel, same state), leave the state as it is with no effects.
 */
export function transition(state: TransferState, event: TransferEvent): TransferTransition {
  const next = nextTransferState(state, event.type);
  if (next === null || next === state) {
    return { state, effects: [] };
  }
  const effects: TransferEffect[] = [];
  if (event.type === 'cancel') {
    if (event.by === 'self') {
      effects.push({ type: 'tell-peer', notice: 'cancel' });
    }
    effects.push({ type: 'note-cancel', by: event.by });
  } else if (event.type === 'fail') {
    if (event.tellPeer) {
      effects.push({ type: 'tell-peer', notice: 'error' });
    }
    effects.push({ type: 'note-error', error: event.error });
  } else if (event.type === 'decline' && event.by === 'self') {
    effects.push({ type: 'tell-peer', notice: 'decline' });
  }
  if (next === 'transferring') {
    effects.push({ type: 'restart-meter' });
  }
  effects.push({ type: 'emit' });
  if (event.type === 'accept' && event.by === 'self') {
    effects.push({ type: 'tell-peer', notice: 'accept' });
  }
  if (isTransferFinal(next)) {
    effects.push({ type: 'release' });
  }
  return { state: next, effects };
}
