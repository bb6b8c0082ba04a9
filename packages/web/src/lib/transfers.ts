/**
 * What the UI says about a file transfer: its status line and the notices for changes that matter
 * while the user may be looking elsewhere. Pure (message keys, translated when rendered). What the
 * states mean (live, showing progress, cancellable) is the core's: see @duet/rtc's transfer-states.
 */
import type { TransferError, TransferState, TransferView } from '@duet/rtc';
import type { NoticeTone } from './notice-queue.js';
import { en } from '../i18n/messages.js';
import type { Message } from './messages.js';

function isKnownError(error: string): error is TransferError {
  return Object.hasOwn(en.transferErrors, error);
}

/** The status line under a transfer's name. `peerName` is the other person. */
export function transferStatus(view: TransferView, peerName: string): Message {
  const name = peerName;
  const sending = view.direction === 'send';
  switch (view.state) {
    case 'offered':
      return { key: 'transfers.offered', params: { name } };
    case 'waiting':
      return { key: 'transfers.waiting', params: { name } };
    case 'transferring':
      return { key: sending ? 'transfers.sending' : 'transfers.receiving' };
    case 'paused':
      return { key: 'transfers.paused' };
    case 'verifying':
      return { key: 'transfers.verifying' };
    case 'done':
      if (sending) {
        return { key: 'transfers.sent', params: { name } };
      }
      // No Blob: the core wrote it to the file the user picked.
      return view.file ? { key: 'transfers.received' } : { key: 'transfers.saved' };
    case 'failed': {
      // Widened: a newer core may report a reason this build does not know.
      const error: string | null = view.error;
      if (error !== null && isKnownError(error)) {
        return { key: `transferErrors.${error}` };
      }
      return { key: 'notices.generic', params: { code: error ?? 'failed' } };
    }
    case 'cancelled':
      if (view.cancelledBy === 'self') {
        return { key: 'transfers.cancelledBySelf' };
      }
      if (view.cancelledBy === 'peer') {
        return { key: 'transfers.cancelledByPeer', params: { name } };
      }
      return { key: 'transfers.cancelled' };
    case 'declined':
      return sending
        ? { key: 'transfers.declinedByPeer', params: { name } }
        : { key: 'transfers.declinedBySelf' };
    default: {
      // A newer core with a state this build does not know.
      const unknown: string = view.state;
      return { key: 'notices.generic', params: { code: unknown } };
    }
  }
}

export interface TransferNotice {
  message: Message;
  tone: NoticeTone;
}

/**
 * The notice for a transfer that changed from `before` (undefined: new) to `view`, or null. Offers
 * are announced only while the chat, where they are accepted, is closed; the user's own actions
 * (declining, cancelling) are not announced back to them.
 */
export function transferNotice(
  before: TransferState | undefined,
  view: TransferView,
  { peerName, chatOpen }: { peerName: string; chatOpen: boolean },
): TransferNotice | null {
  if (before === view.state) {
    return null;
  }
  const name = view.name;
  const peer = peerName;
  const receiving = view.direction === 'receive';
  switch (view.state) {
    case 'offered':
      return receiving && before === undefined && !chatOpen
        ? { message: { key: 'transfers.offerNotice', params: { peer, name } }, tone: 'info' }
        : null;
    case 'done':
      return receiving
        ? { message: { key: 'transfers.receivedNotice', params: { name } }, tone: 'success' }
        : { message: { key: 'transfers.deliveredNotice', params: { peer, name } }, tone: 'success' };
    case 'failed': {
      const error: string | null = view.error;
      const message: Message =
        error !== null && isKnownError(error)
          ? { key: `transferFailed.${error}`, params: { name } }
          : { key: 'notices.generic', params: { code: error ?? 'failed' } };
      return { message, tone: 'error' };
    }
    case 'declined':
      return receiving
        ? null
        : { message: { key: 'transfers.declinedNotice', params: { peer, name } }, tone: 'info' };
    case 'cancelled':
      return view.cancelledBy === 'peer'
        ? { message: { key: 'transfers.cancelledNotice', params: { peer, name } }, tone: 'info' }
        : null;
    default:
      return null;
  }
}
