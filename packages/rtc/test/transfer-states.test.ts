import { describe, expect, it } from 'vitest';
import {
  canCancelTransfer,
  isMovingBytes,
  isTransferFinal,
  isTransferLive,
  showsProgress,
} from '../src/files/transfer-states.js';
import type { TransferState } from '../src/files/transfer-types.js';

// Each state against each predicate: live (engine), final, moving bytes, progress bar (UI).
const TABLE: Array<[TransferState, { live: boolean; moving: boolean; progress: boolean }]> = [
  ['offered', { live: true, moving: false, progress: false }],
  ['waiting', { live: true, moving: false, progress: false }],
  ['transferring', { live: true, moving: true, progress: true }],
  ['paused', { live: true, moving: true, progress: true }],
  ['verifying', { live: true, moving: false, progress: true }],
  ['done', { live: false, moving: false, progress: false }],
  ['failed', { live: false, moving: false, progress: false }],
  ['cancelled', { live: false, moving: false, progress: false }],
  ['declined', { live: false, moving: false, progress: false }],
];

describe('transfer state predicates', () => {
  it.each(TABLE)('%s', (state, expected) => {
    expect(isTransferLive(state)).toBe(expected.live);
    expect(isTransferFinal(state)).toBe(!expected.live);
    expect(isMovingBytes(state)).toBe(expected.moving);
    expect(showsProgress(state)).toBe(expected.progress);
  });

  it('offers Cancel while there is something to stop', () => {
    expect(canCancelTransfer({ direction: 'send', state: 'waiting' })).toBe(true);
    expect(canCancelTransfer({ direction: 'receive', state: 'transferring' })).toBe(true);
    expect(canCancelTransfer({ direction: 'send', state: 'paused' })).toBe(true);
    expect(canCancelTransfer({ direction: 'receive', state: 'offered' })).toBe(false);
    expect(canCancelTransfer({ direction: 'receive', state: 'done' })).toBe(false);
  });

  it('offers Cancel to neither side once the bytes are all there', () => {
    for (const direction of ['send', 'receive'] as const) {
      expect(canCancelTransfer({ direction, state: 'verifying' })).toBe(false);
    }
    expect(canCancelTransfer({ direction: 'receive', state: 'waiting' })).toBe(false);
  });
});
