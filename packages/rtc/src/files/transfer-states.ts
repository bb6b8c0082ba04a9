// What a transfer's state means, said once for the engine and every front end: "live" (the engine
// works on it) and "shows progress" (a UI draws a bar) are different sets, once both called isActive.
import type { TransferState, TransferView } from './transfer-types.js';

const FINAL_STATES: ReadonlySet<TransferState> = new Set(['done', 'failed', 'cancelled', 'declined']);

/** Done, failed, cancelled or declined: nothing more will happen to the transfer. */
export function isTransferFinal(state: TransferState): boolean {
  return FINAL_STATES.has(state);
}

/**
 * Not final: the engine still works on the transfer (it may hold a channel, a reader or a sink),
 * and the peer may still talk about it.
 */
export function isTransferLive(state: TransferState): boolean {
  return !isTransferFinal(state);
}

/** Bytes are on their way, or will be again once the connection is back: transferring or paused. */
export function isMovingBytes(state: TransferState): boolean {
  return state === 'transferring' || state === 'paused';
}

/**
 * A UI shows a progress bar (with speed and time left): bytes are moving, or all are there and the
 * hashes are being compared.
 */
export function showsProgress(state: TransferState): boolean {
  return isMovingBytes(state) || state === 'verifying';
}

/**
 * A UI offers Cancel: either side while bytes move, the sender while its offer waits. An offer is
 * declined rather than cancelled, and a verifying transfer is all there but for a hash, so neither
 * gets the button (the engine would still accept a cancel of any live transfer).
 */
export function canCancelTransfer(view: Pick<TransferView, 'direction' | 'state'>): boolean {
  return (view.direction === 'send' && view.state === 'waiting') || isMovingBytes(view.state);
}
