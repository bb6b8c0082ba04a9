import { inject, provide, shallowRef, watch, type InjectionKey, type ShallowRef } from 'vue';
import { useI18n } from 'vue-i18n';
import {
  CallRecorder,
  recordingFormat,
  RecordingUnsupportedError,
  type RecordingSources,
} from '../lib/call-recorder.js';
import { createLogger } from '../lib/logger.js';
import {
  RECORDER_IDLE,
  transition,
  type RecorderEffect,
  type RecorderEvent,
  type RecorderState,
} from '../lib/recorder-state.js';
import { recordingFileName } from '../lib/recording-name.js';
import { useDuet, type Duet } from './useDuet.js';

/**
 * The call recording, for the whole app: the Record button starts and stops it during a call, and
 * the finished file waits for Save or Discard after the call screen is gone (a hang-up stops the
 * recording and must not lose it). The rules are recorder-state.ts; this runs their effects.
 */
export interface CallRecording {
  readonly state: Readonly<ShallowRef<RecorderState>>;
  /** False where this browser cannot record (no button then). */
  readonly supported: boolean;
  /** Start recording the current call: call it from the click (Web Audio needs the gesture). */
  start(): void;
  stop(): void;
  /** The user saved the file (its link was clicked), or does not want it. */
  saved(): void;
  discard(): void;
  /** Put a failure away. */
  dismiss(): void;
}

const KEY: InjectionKey<CallRecording> = Symbol('call-recording');
const log = createLogger('recording');

/** Create the app's recording and provide it to the components below (App.vue). */
export function provideCallRecording(): CallRecording {
  const { t } = useI18n();
  const recording = createCallRecording(useDuet(), () => t('call.you'));
  provide(KEY, recording);
  return recording;
}

export function useCallRecording(): CallRecording {
  const recording = inject(KEY);
  if (!recording) {
    throw new Error('useCallRecording() needs provideCallRecording() in App.vue');
  }
  return recording;
}

function createCallRecording(duet: Duet, youLabel: () => string): CallRecording {
  const state = shallowRef<RecorderState>(RECORDER_IDLE);
  let recorder: CallRecorder | null = null;
  /** The call being recorded: whose name the file carries, and when it began. */
  let recorded: { callId: string; peerName: string; startedAt: Date } | null = null;

  function sources(): RecordingSources {
    const { call, local, self } = duet.snapshot.value;
    return {
      tiles: [
        {
          stream: call?.remoteStream ?? null,
          label: call?.peer.name ?? '',
          showVideo: Boolean(call && (call.remoteMedia.camera || call.remoteMedia.screen)),
        },
        // Our own name, not "You": the file is watched later, perhaps by someone else.
        { stream: local.stream, label: self?.name ?? youLabel(), showVideo: local.camera || local.screen },
      ],
      audio: [call?.remoteStream ?? null, local.stream],
    };
  }

  function dispatch(event: RecorderEvent): void {
    const result = transition(state.value, event);
    state.value = result.state;
    for (const effect of result.effects) {
      if (!run(effect)) {
        return;
      }
    }
  }

  /** Carry out one effect; false stops the ones after it (a failure dispatched its own). */
  function run(effect: RecorderEffect): boolean {
    switch (effect.type) {
      case 'announce':
        if (!duet.setRecording(effect.active) && effect.active) {
          // The peer could not be told: nothing may be recorded.
          dispatch({ type: 'failed', reason: 'error' });
          return false;
        }
        return true;
      case 'open':
        try {
          recorder = new CallRecorder(sources(), (error) => {
            log.error('the recorder failed', error);
            dispatch({ type: 'failed', reason: 'error' });
          });
          dispatch({ type: 'started', at: Date.now() });
        } catch (error) {
          log.error('could not start recording', error);
          dispatch({
            type: 'failed',
            reason: error instanceof RecordingUnsupportedError ? 'unsupported' : 'error',
          });
        }
        return true;
      case 'close': {
        const closing = recorder;
        const call = recorded;
        recorder = null;
        if (!closing) {
          return true;
        }
        closing.stop(effect.keep).then(
          (file) => {
            if (effect.keep && file && call) {
              const name = recordingFileName(call.peerName, call.startedAt, closing.format.extension);
              dispatch({ type: 'finished', file, name });
            }
          },
          (error: unknown) => {
            log.error('could not finish the recording', error);
            dispatch({ type: 'failed', reason: 'error' });
          },
        );
        return true;
      }
    }
  }

  // Tracks arrive, cameras go off and on: the recording follows the call.
  watch(duet.snapshot, () => recorder?.update(sources()));

  // The recorded call is over (hung up, failed, or another call on screen): stop and keep the file.
  watch(
    () => {
      const call = duet.snapshot.value.call;
      const live =
        call?.phase === 'connecting' || call?.phase === 'connected' || call?.phase === 'reconnecting';
      return live ? call.id : null;
    },
    (callId) => {
      if (recorded && callId !== recorded.callId) {
        dispatch({ type: 'stop', reason: 'call-ended', at: Date.now() });
      }
    },
  );

  return {
    state,
    supported: recordingFormat() !== null,
    start() {
      const call = duet.snapshot.value.call;
      if (!call) {
        return;
      }
      recorded = { callId: call.id, peerName: call.peer.name, startedAt: new Date() };
      dispatch({ type: 'start' });
    },
    stop: () => dispatch({ type: 'stop', reason: 'user', at: Date.now() }),
    saved: () => dispatch({ type: 'saved' }),
    discard: () => dispatch({ type: 'discard' }),
    dismiss: () => dispatch({ type: 'dismiss' }),
  };
}
