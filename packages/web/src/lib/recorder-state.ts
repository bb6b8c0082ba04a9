/*
 * The call recorder's states, as a pure function (the browser plumbing only carries out effects):
 *
 *   idle --start--> starting --started--> recording --stop--> finishing --finished--> ready
 *   starting --stop--> idle                        (nothing was recorded yet: nothing to keep)
 *   starting | recording | finishing --failed--> failed
 *   ready --saved | discard--> idle;   failed --dismiss--> idle;   failed --start--> starting
 *
 * The peer is told before anything is recorded (`announce` comes first among `start`'s effects)
 * and told again when it stops, whether the user stopped, the call ended or something broke: a
 * "recording" mark that outlives the recording would be as wrong as a recording without one.
 * A finished file waits in `ready` until the user saves or discards it, which also keeps a second
 * recording from silently replacing one not saved yet (`start` is refused there).
 */

/** Why a recording stopped: the user pressed Stop, or the call it records is over. */
export type StopReason = 'user' | 'call-ended';

/** What went wrong: the browser cannot record at all, or it broke while recording. */
export type RecorderFailure = 'unsupported' | 'error';

export type RecorderState =
  | { phase: 'idle' }
  | { phase: 'starting' }
  /** `startedAt`: ms since epoch, for the elapsed time shown on the button. */
  | { phase: 'recording'; startedAt: number }
  | { phase: 'finishing'; startedAt: number; stoppedAt: number }
  /** The file, with its name and how long it lasts, waiting to be saved. */
  | { phase: 'ready'; file: Blob; name: string; durationMs: number }
  | { phase: 'failed'; reason: RecorderFailure };

export type RecorderEvent =
  | { type: 'start' }
  /** The pipeline runs: MediaRecorder started at `at`. */
  | { type: 'started'; at: number }
  | { type: 'stop'; reason: StopReason; at: number }
  /** The file is complete (duration written, seekable). */
  | { type: 'finished'; file: Blob; name: string }
  | { type: 'failed'; reason: RecorderFailure }
  /** The user saved the file (it was handed to the browser's download). */
  | { type: 'saved' }
  | { type: 'discard' }
  | { type: 'dismiss' };

export type RecorderEffect =
  /** Tell the peer we record (true) or no longer do (false). */
  | { type: 'announce'; active: boolean }
  /** Build the pipeline (compositor, mixer, MediaRecorder) and start it. */
  | { type: 'open' }
  /** Stop the pipeline; `keep`: finish the file from what was recorded, else throw it away. */
  | { type: 'close'; keep: boolean };

export interface RecorderTransition {
  state: RecorderState;
  effects: RecorderEffect[];
}

export const RECORDER_IDLE: RecorderState = { phase: 'idle' };

export function transition(state: RecorderState, event: RecorderEvent): RecorderTransition {
  const same: RecorderTransition = { state, effects: [] };
  switch (event.type) {
    case 'start':
      if (state.phase !== 'idle' && state.phase !== 'failed') {
        return same;
      }
      return {
        state: { phase: 'starting' },
        effects: [{ type: 'announce', active: true }, { type: 'open' }],
      };
    case 'started':
      return state.phase === 'starting'
        ? { state: { phase: 'recording', startedAt: event.at }, effects: [] }
        : same;
    case 'stop':
      if (state.phase === 'starting') {
        return {
          state: RECORDER_IDLE,
          effects: [
            { type: 'close', keep: false },
            { type: 'announce', active: false },
          ],
        };
      }
      if (state.phase !== 'recording') {
        return same;
      }
      return {
        state: { phase: 'finishing', startedAt: state.startedAt, stoppedAt: event.at },
        effects: [
          { type: 'close', keep: true },
          { type: 'announce', active: false },
        ],
      };
    case 'finished':
      if (state.phase !== 'finishing') {
        return same;
      }
      // An empty file (the recorder delivered nothing) is a failure, not a file to offer.
      if (event.file.size === 0) {
        return { state: { phase: 'failed', reason: 'error' }, effects: [] };
      }
      return {
        state: {
          phase: 'ready',
          file: event.file,
          name: event.name,
          durationMs: Math.max(0, state.stoppedAt - state.startedAt),
        },
        effects: [],
      };
    case 'failed':
      if (state.phase === 'finishing') {
        // The pipeline is already closed and the peer told.
        return { state: { phase: 'failed', reason: event.reason }, effects: [] };
      }
      if (state.phase !== 'starting' && state.phase !== 'recording') {
        return same;
      }
      return {
        state: { phase: 'failed', reason: event.reason },
        effects: [
          { type: 'close', keep: false },
          { type: 'announce', active: false },
        ],
      };
    case 'saved':
    case 'discard':
      return state.phase === 'ready' ? { state: RECORDER_IDLE, effects: [] } : same;
    case 'dismiss':
      return state.phase === 'failed' ? { state: RECORDER_IDLE, effects: [] } : same;
  }
}

/** Whether the recorder is running or about to (the peer has been told it is recorded). */
export function isRecording(state: RecorderState): boolean {
  return state.phase === 'starting' || state.phase === 'recording';
}
