import { LIMITS } from '@duet/protocol';
import type { CallOutcome, DuetErrorReason } from '@duet/rtc';
import { en, type MessageKey } from '../i18n/messages.js';

/**
 * A message to show, as a key and its parameters rather than a translated string, so it re-renders
 * in the new language when the user switches while it is on screen.
 */
export interface Message {
  key: MessageKey;
  params?: Record<string, string | number>;
}

/** What the user was doing when a failure happened; picks a more specific message than the reason alone. */
export interface FailureContext {
  action?: 'connect' | 'join' | 'call' | 'answer' | 'media' | 'chat' | 'file' | 'other';
  /** The other person, when the action concerned someone. */
  peerName?: string;
}

function isKnownReason(reason: string): reason is DuetErrorReason {
  return Object.hasOwn(en.errors, reason);
}

/**
 * Turn a failure reason into a message. Every protocol error code, media and connection reason has a
 * message of its own (`errors.*`, checked by the type of `en.errors`); a few get a better one when we
 * know who or what it was about; a reason this build does not know (a newer server) still gets a
 * message that names the code.
 */
export function describeFailure(reason: string, context: FailureContext = {}): Message {
  const name = context.peerName;
  if (name !== undefined) {
    if (reason === 'busy') {
      return { key: 'notices.busy', params: { name } };
    }
    if (reason === 'user_not_found') {
      return { key: 'notices.userGone', params: { name } };
    }
  }
  if (context.action === 'join') {
    if (reason === 'invalid_payload') {
      return { key: 'notices.joinInvalid' };
    }
    if (reason === 'payload_too_large') {
      return { key: 'notices.joinTooLong', params: { max: LIMITS.maxDisplayNameLength } };
    }
  }
  if (context.action === 'chat') {
    if (reason === 'invalid_payload') {
      return { key: 'chat.emptyNotice' };
    }
    if (reason === 'payload_too_large') {
      return { key: 'chat.tooLongNotice', params: { max: LIMITS.maxChatMessageLength } };
    }
    if (reason === 'not_in_call') {
      return { key: 'chat.notInCall' };
    }
  }
  if (context.action === 'file' && reason === 'not_in_call') {
    return { key: 'transfers.notInCall' };
  }
  if (isKnownReason(reason)) {
    return { key: `errors.${reason}` };
  }
  return { key: 'notices.generic', params: { code: reason } };
}

export interface CallEnd {
  outcome: CallOutcome;
  role: 'caller' | 'callee';
  peerName: string;
  /** This side ended it (hung up, cancelled, declined, left). The core's notice does not say who did. */
  endedBySelf: boolean;
}

/**
 * The notice for an ended call, from this side's point of view, or `null` when there is nothing to
 * tell (the user left the room themselves). The English texts are part of the e2e contract.
 */
export function describeCallEnd({ outcome, role, peerName: name, endedBySelf }: CallEnd): Message | null {
  switch (outcome) {
    case 'declined':
      // Only the callee declines: the caller hears about it, the callee just did it.
      return role === 'caller'
        ? { key: 'notices.declined', params: { name } }
        : { key: 'notices.youDeclined' };
    case 'cancelled':
      // Only the caller cancels. For the callee it is also a call they missed.
      return role === 'caller'
        ? { key: 'notices.cancelled' }
        : { key: 'notices.cancelledByPeer', params: { name } };
    case 'timeout':
      return role === 'caller'
        ? { key: 'notices.noAnswer', params: { name } }
        : { key: 'notices.missed', params: { name } };
    case 'hangup':
      return endedBySelf ? { key: 'notices.callEnded' } : { key: 'notices.hungUp', params: { name } };
    case 'peer_left':
      return endedBySelf ? null : { key: 'notices.peerLeft', params: { name } };
    case 'failed':
      return { key: 'notices.failed', params: { name } };
    default: {
      // A newer core with an outcome this build does not know: still end the call visibly.
      const unknown: string = outcome;
      return { key: 'notices.generic', params: { code: unknown } };
    }
  }
}
