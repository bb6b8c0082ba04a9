import { describe, expect, it } from 'vitest';
import {
  isRecording,
  RECORDER_IDLE,
  transition,
  type RecorderEvent,
  type RecorderState,
} from '../src/lib/recorder-state.js';
import { recordingFileName } from '../src/lib/recording-name.js';

const file = new Blob([new Uint8Array(1000)], { type: 'video/webm' });
const empty = new Blob([], { type: 'video/webm' });
const name = 'duet-call-Bob-20261207-204500.webm';

const idle: RecorderState = RECORDER_IDLE;
const starting: RecorderState = { phase: 'starting' };
const recording: RecorderState = { phase: 'recording', startedAt: 1_000 };
const finishing: RecorderState = { phase: 'finishing', startedAt: 1_000, stoppedAt: 11_000 };
const ready: RecorderState = { phase: 'ready', file, name, durationMs: 10_000 };
const failed: RecorderState = { phase: 'failed', reason: 'error' };

const ANNOUNCE_ON = { type: 'announce', active: true } as const;
const ANNOUNCE_OFF = { type: 'announce', active: false } as const;

describe('the recorder state machine', () => {
  it.each<[string, RecorderState, RecorderEvent, RecorderState, unknown[]]>([
    // The peer is told before the pipeline opens: nothing is recorded before they know.
    ['start', idle, { type: 'start' }, starting, [ANNOUNCE_ON, { type: 'open' }]],
    ['start again after a failure', failed, { type: 'start' }, starting, [ANNOUNCE_ON, { type: 'open' }]],
    ['the pipeline runs', starting, { type: 'started', at: 1_000 }, recording, []],
    [
      'the user stops: the file is finished, the peer told',
      recording,
      { type: 'stop', reason: 'user', at: 11_000 },
      finishing,
      [{ type: 'close', keep: true }, ANNOUNCE_OFF],
    ],
    [
      'the call ends while recording: the same, the file is kept',
      recording,
      { type: 'stop', reason: 'call-ended', at: 11_000 },
      finishing,
      [{ type: 'close', keep: true }, ANNOUNCE_OFF],
    ],
    [
      'the call ends before the pipeline ran: nothing to keep',
      starting,
      { type: 'stop', reason: 'call-ended', at: 500 },
      idle,
      [{ type: 'close', keep: false }, ANNOUNCE_OFF],
    ],
    ['the file is complete', finishing, { type: 'finished', file, name }, ready, []],
    [
      'an empty file is a failure',
      finishing,
      { type: 'finished', file: empty, name },
      { phase: 'failed', reason: 'error' },
      [],
    ],
    [
      'the browser cannot record',
      starting,
      { type: 'failed', reason: 'unsupported' },
      { phase: 'failed', reason: 'unsupported' },
      [{ type: 'close', keep: false }, ANNOUNCE_OFF],
    ],
    [
      'the recorder breaks while recording: the peer is told it stopped',
      recording,
      { type: 'failed', reason: 'error' },
      failed,
      [{ type: 'close', keep: false }, ANNOUNCE_OFF],
    ],
    [
      'finishing the file fails (the peer was already told)',
      finishing,
      { type: 'failed', reason: 'error' },
      failed,
      [],
    ],
    ['saved', ready, { type: 'saved' }, idle, []],
    ['discarded', ready, { type: 'discard' }, idle, []],
    ['a failure acknowledged', failed, { type: 'dismiss' }, idle, []],
  ])('%s', (_name, from, event, to, effects) => {
    expect(transition(from, event)).toEqual({ state: to, effects });
  });

  it.each<[string, RecorderState, RecorderEvent]>([
    // A file not saved yet is never replaced by a new recording behind the user's back.
    ['start while a file waits to be saved', ready, { type: 'start' }],
    ['start while recording', recording, { type: 'start' }],
    ['start while starting (a double click)', starting, { type: 'start' }],
    ['start while finishing', finishing, { type: 'start' }],
    ['stop when idle (a hang-up without a recording)', idle, { type: 'stop', reason: 'call-ended', at: 1 }],
    ['stop twice', finishing, { type: 'stop', reason: 'user', at: 1 }],
    ['stop once the file is ready', ready, { type: 'stop', reason: 'call-ended', at: 1 }],
    ['a late `started` after the call ended', idle, { type: 'started', at: 1 }],
    ['a late `finished` after a failure', failed, { type: 'finished', file, name }],
    ['a failure when nothing runs', idle, { type: 'failed', reason: 'error' }],
    ['a failure once the file is ready', ready, { type: 'failed', reason: 'error' }],
    ['saved with no file', idle, { type: 'saved' }],
    ['dismiss without a failure', recording, { type: 'dismiss' }],
  ])('ignores %s', (_name, from, event) => {
    const result = transition(from, event);
    expect(result.state).toBe(from);
    expect(result.effects).toEqual([]);
  });

  it('measures the duration from start to stop', () => {
    let state: RecorderState = idle;
    for (const event of [
      { type: 'start' },
      { type: 'started', at: 5_000 },
      { type: 'stop', reason: 'user', at: 15_250 },
      { type: 'finished', file, name },
    ] satisfies RecorderEvent[]) {
      state = transition(state, event).state;
    }
    expect(state).toMatchObject({ phase: 'ready', durationMs: 10_250, name });
  });

  it('counts as recording (the peer sees the mark) only while starting or recording', () => {
    expect([idle, starting, recording, finishing, ready, failed].map(isRecording)).toEqual([
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('recordingFileName', () => {
  const at = new Date(2026, 11, 7, 20, 45, 3);
  it.each([
    ['Bob', 'duet-call-Bob-20261207-204503.webm'],
    ['Ada Lovelace', 'duet-call-Ada-Lovelace-20261207-204503.webm'],
    ['李雷', 'duet-call-李雷-20261207-204503.webm'],
    // Path parts, reserved characters and control characters go; no hidden or empty name is left.
    ['../../etc/passwd', 'duet-call-etc-passwd-20261207-204503.webm'],
    ['a<b>:"c"|d?*', 'duet-call-a-b-c-d-20261207-204503.webm'],
    ['tab\there\u0000', 'duet-call-tab-here-20261207-204503.webm'],
    ['...', 'duet-call-peer-20261207-204503.webm'],
    ['x'.repeat(100), `duet-call-${'x'.repeat(40)}-20261207-204503.webm`],
  ])('%j → %s', (peer, expected) => {
    expect(recordingFileName(peer, at, 'webm')).toBe(expected);
  });

  it('names an MP4 recording (Safari) as one', () => {
    expect(recordingFileName('Bob', at, 'mp4')).toBe('duet-call-Bob-20261207-204503.mp4');
  });
});
