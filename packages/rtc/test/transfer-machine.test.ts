import { describe, expect, it } from 'vitest';
import {
  nextTransferState,
  transition,
  type TransferEffect,
  type TransferEvent,
} from '../src/files/transfer-machine.js';
import { isMovingBytes, isTransferLive } from '../src/files/transfer-states.js';
import type { TransferState } from '../src/files/transfer-types.js';

const emit: TransferEffect = { type: 'emit' };
const release: TransferEffect = { type: 'release' };
const restart: TransferEffect = { type: 'restart-meter' };
const tell = (notice: 'accept' | 'decline' | 'cancel' | 'error'): TransferEffect => ({
  type: 'tell-peer',
  notice,
});

type Row = [string, TransferState, TransferEvent, TransferState, TransferEffect[]];

const rows: Row[] = [
  [
    'the receiver accepts',
    'offered',
    { type: 'accept', by: 'self' },
    'transferring',
    [restart, emit, tell('accept')],
  ],
  [
    "the sender hears the receiver's accept",
    'waiting',
    { type: 'accept', by: 'peer' },
    'transferring',
    [restart, emit],
  ],
  [
    'the receiver declines',
    'offered',
    { type: 'decline', by: 'self' },
    'declined',
    [tell('decline'), emit, release],
  ],
  [
    "the sender hears the receiver's decline",
    'waiting',
    { type: 'decline', by: 'peer' },
    'declined',
    [emit, release],
  ],
  ['the channel breaks', 'transferring', { type: 'break' }, 'paused', [emit]],
  ['a break while paused is ignored', 'paused', { type: 'break' }, 'paused', []],
  ['a break while verifying is ignored', 'verifying', { type: 'break' }, 'verifying', []],
  ['resume after a break', 'paused', { type: 'resume' }, 'transferring', [restart, emit]],
  [
    'a new channel while transferring changes nothing',
    'transferring',
    { type: 'resume' },
    'transferring',
    [],
  ],
  ['a resume before the accept is ignored', 'offered', { type: 'resume' }, 'offered', []],
  ['every byte moved', 'transferring', { type: 'complete' }, 'verifying', [emit]],
  [
    'every byte moved while paused (the last ack came late)',
    'paused',
    { type: 'complete' },
    'verifying',
    [emit],
  ],
  ['complete before the accept is ignored', 'offered', { type: 'complete' }, 'offered', []],
  ['verified', 'verifying', { type: 'verified' }, 'done', [emit, release]],
  ['verified before complete is ignored', 'transferring', { type: 'verified' }, 'transferring', []],
  [
    'our own failure, told to the peer',
    'transferring',
    { type: 'fail', error: 'read_failed', tellPeer: true },
    'failed',
    [tell('error'), { type: 'note-error', error: 'read_failed' }, emit, release],
  ],
  [
    'a failure the peer reported (or already knows of)',
    'verifying',
    { type: 'fail', error: 'hash_mismatch', tellPeer: false },
    'failed',
    [{ type: 'note-error', error: 'hash_mismatch' }, emit, release],
  ],
  [
    'we cancel',
    'paused',
    { type: 'cancel', by: 'self' },
    'cancelled',
    [tell('cancel'), { type: 'note-cancel', by: 'self' }, emit, release],
  ],
  [
    'the peer cancels an offer',
    'offered',
    { type: 'cancel', by: 'peer' },
    'cancelled',
    [{ type: 'note-cancel', by: 'peer' }, emit, release],
  ],
  ['a cancel after done is ignored', 'done', { type: 'cancel', by: 'self' }, 'done', []],
  [
    'a failure after a cancel is ignored',
    'cancelled',
    { type: 'fail', error: 'peer_failed', tellPeer: true },
    'cancelled',
    [],
  ],
  ['an accept after a decline is ignored', 'declined', { type: 'accept', by: 'peer' }, 'declined', []],
  ['a resume after a failure is ignored', 'failed', { type: 'resume' }, 'failed', []],
];

describe('transfer state machine', () => {
  it.each(rows)('%s', (_name, from, event, to, effects) => {
    expect(transition(from, event)).toEqual({ state: to, effects });
  });

  it('agrees with nextTransferState on every state and event', () => {
    const states: TransferState[] = [
      'offered',
      'waiting',
      'transferring',
      'paused',
      'verifying',
      'done',
      'failed',
      'cancelled',
      'declined',
    ];
    const events: TransferEvent[] = [
      { type: 'accept', by: 'peer' },
      { type: 'decline', by: 'peer' },
      { type: 'break' },
      { type: 'resume' },
      { type: 'complete' },
      { type: 'verified' },
      { type: 'fail', error: 'peer_failed', tellPeer: false },
      { type: 'cancel', by: 'peer' },
    ];
    for (const state of states) {
      for (const event of events) {
        const next = nextTransferState(state, event.type) ?? state;
        const result = transition(state, event);
        expect(result.state).toBe(next);
        // Effects only when the state changes; `release` exactly when it becomes final.
        expect(result.effects.length > 0).toBe(next !== state);
        expect(result.effects.some((e) => e.type === 'release')).toBe(
          next !== state && !isTransferLive(next),
        );
        if (next === 'transferring' || next === 'paused') {
          expect(isMovingBytes(next)).toBe(true);
        }
      }
    }
  });
});
