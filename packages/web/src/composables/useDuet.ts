import type { PublicUser } from '@duet/protocol';
import {
  DuetError,
  type ChatControls,
  type ClientSnapshot,
  type DuetClient,
  type FileControls,
  type MediaControls,
  type Notice,
  type QualityMode,
  type VerificationControls,
  type RoomAccess,
} from '@duet/rtc';
import { inject, shallowRef, type InjectionKey, type ShallowRef } from 'vue';
import { createLogger } from '../lib/logger.js';
import { writeQualityMode } from '../lib/quality-setting.js';
import { describeCallEnd, describeFailure, type FailureContext, type Message } from '../lib/messages.js';
import { createNoticeQueue, type NoticeTone, type UiNotice } from '../lib/notice-queue.js';

/** Failures that replace the normal UI until the user acts (reload, or the server comes back). */
export type Blocker = 'unsupported_protocol_version';

/** An API whose methods never throw: they say whether they worked, and a failure is a notice. */
export type Guarded<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => Promise<unknown>
    ? (...args: A) => Promise<boolean>
    : T[K] extends (...args: infer A) => unknown
      ? (...args: A) => boolean
      : never;
};

/**
 * The Vue side of the call core: reactive state plus actions that never throw. Components read
 * `snapshot` and call actions; a failed action becomes a translated notice, so no component needs a
 * try/catch and none touches the DuetClient (let alone an RTCPeerConnection) directly.
 */
export interface Duet {
  /** The client's latest snapshot. Replaced, never mutated: a shallow ref is enough and keeps
   *  MediaStreams out of Vue's deep proxies (a proxied stream cannot be a `srcObject`). */
  readonly snapshot: Readonly<ShallowRef<ClientSnapshot>>;
  readonly notices: Readonly<ShallowRef<readonly UiNotice[]>>;
  readonly blocker: Readonly<ShallowRef<Blocker | null>>;
  /** The last connect attempt could not reach the server (cleared once connected). */
  readonly serverUnreachable: Readonly<ShallowRef<boolean>>;
  readonly joining: Readonly<ShallowRef<boolean>>;
  /** Why the last join failed (e.g. `password_required`), with the server's retry-after; null after success. */
  readonly joinFailure: Readonly<ShallowRef<{ reason: string; retryAfterMs?: number } | null>>;

  connect(): Promise<boolean>;
  /** The room and name this tab was in before a reload (the core keeps them per tab), or null. */
  storedSession(): { room: string; name: string; secret?: string } | null;
  /** Join a room; a private one needs `access.secret` (from its link). */
  join(room: string, name: string, access?: RoomAccess): Promise<boolean>;
  /** Stop waiting to be let into a room that asks to join. */
  cancelJoin(): void;
  /** Let someone waiting at the door in, or turn them away. */
  answerKnock(knockId: string, admit: boolean): Promise<void>;
  /** Switch "ask to join" or the lock (any member may). */
  changeRoomSettings(patch: { askToJoin?: boolean; locked?: boolean }): Promise<void>;
  leave(): Promise<void>;
  /** `audio: false, video: false`: a data-only call (chat and files), e.g. with a terminal peer. */
  call(user: PublicUser, options: { video: boolean; audio?: boolean }): Promise<void>;
  accept(): Promise<void>;
  decline(): Promise<void>;
  /** Hang up an active call, or cancel an outgoing one. */
  hangup(): Promise<void>;
  toggleMicrophone(): void;
  toggleCamera(): Promise<void>;
  toggleScreenShare(): Promise<void>;
  /** Tell the peer we (no longer) record the call; false (and a notice) without a call. */
  setRecording(active: boolean): boolean;
  /** The video quality setting (Settings): applied at once, remembered for later calls and visits. */
  setQualityMode(mode: QualityMode): void;
  /**
   * The client's own `media`, `chat` and `files`, guarded: each method returns whether it worked
   * (a promise of it for the asynchronous ones) and a failure becomes a notice. For a chat message
   * `false` means it was not sent (empty, too long, no call) and the input keeps the text.
   */
  readonly media: Guarded<MediaControls>;
  readonly chat: Guarded<ChatControls>;
  /** `accept` also closes a picked file the core refused, so no temporary file stays behind. */
  readonly files: Guarded<FileControls>;
  /** The verdict on the call's short authentication string ("They match" / "They don't match"). */
  readonly verification: Guarded<VerificationControls>;
  notify(message: Message, tone?: NoticeTone): void;
  dismissNotice(id: number): void;
  dispose(): void;
}

const log = createLogger('duet');

/** Join failures the lobby shows in place rather than as a notice. */
const INLINE_JOIN_FAILURES: ReadonlySet<string> = new Set([
  'join_cancelled',
  'password_required',
  'wrong_password',
  'too_many_attempts',
]);

/** The failure reason of a DuetError, also across bundle copies (instanceof fails there); else null. */
export function failureReason(error: unknown): string | null {
  if (error instanceof DuetError) {
    return error.reason;
  }
  if (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'DuetError') {
    const reason = (error as { reason?: unknown }).reason;
    if (typeof reason === 'string') {
      return reason;
    }
  }
  return null;
}

export function createDuet(client: DuetClient): Duet {
  const snapshot = shallowRef(client.snapshot);
  const { notices, notify, dismiss: dismissNotice, dispose: disposeNotices } = createNoticeQueue();
  const blocker = shallowRef<Blocker | null>(null);
  const serverUnreachable = shallowRef(false);
  const joining = shallowRef(false);
  const joinFailure = shallowRef<{ reason: string; retryAfterMs?: number } | null>(null);

  function fail(error: unknown, context: FailureContext): void {
    const reason = failureReason(error);
    if (reason === null) {
      // Not a DuetError: a bug somewhere. Say something rather than nothing, and log the details.
      log.error('unexpected failure', error);
      notify(
        { key: 'notices.generic', params: { code: error instanceof Error ? error.name : 'error' } },
        'error',
      );
      return;
    }
    // These two have screens of their own (the reload panel, the lobby's server alert).
    if (reason === 'unsupported_protocol_version') {
      blocker.value = reason;
      return;
    }
    if (reason === 'server_unreachable' && context.action === 'connect') {
      serverUnreachable.value = true;
      return;
    }
    notify(describeFailure(reason, context), 'error');
  }

  async function attempt(action: () => Promise<void>, context: FailureContext): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      fail(error, context);
      return false;
    }
  }

  function onNotice(notice: Notice): void {
    switch (notice.kind) {
      case 'call-ended': {
        const message = describeCallEnd({
          outcome: notice.outcome,
          role: notice.role,
          peerName: notice.peerName,
          endedBySelf: notice.endedBy === 'self',
        });
        if (message) {
          notify(message, notice.outcome === 'failed' ? 'error' : 'info');
        }
        break;
      }
      case 'error':
        // A failed peer connection also ends the call, and that notice names the peer: say it once.
        if (notice.reason === 'connection_failed' && client.snapshot.call) {
          break;
        }
        fail(new DuetError(notice.reason, notice.message), { peerName: currentPeerName() });
        break;
      case 'session-restored':
        // One event, one notice: this says more than the "reconnected" shown a moment before.
        for (const shown of notices.value) {
          if (shown.message.key === 'notices.reconnected') {
            dismissNotice(shown.id);
          }
        }
        notify({ key: 'notices.sessionRestored' }, 'success');
        break;
      case 'presence': {
        // The room view lists people as they come and go; the call screen has no room for the list,
        // so there a notice says it. The peer leaving is told by the call's end.
        const call = client.snapshot.call;
        const inCall =
          call && call.phase !== 'ended' && call.phase !== 'incoming' && call.phase !== 'outgoing';
        if (!inCall || notice.userId === call.peer.id || notice.name === call.peer.name) {
          break;
        }
        notify({
          key: notice.change === 'joined' ? 'call.personJoined' : 'call.personLeft',
          params: { name: notice.name },
        });
        break;
      }
      case 'verification-changed':
        // The verified mark went: said as a warning, since a changed string can be a man in the middle.
        notify({ key: 'verify.changedNotice', params: { name: notice.peerName } }, 'error');
        break;
      case 'files-lost':
        notify(
          { key: 'notices.filesLost', params: { names: notice.names.join(', '), name: notice.peerName } },
          'error',
        );
        break;
    }
  }

  function onChange(next: ClientSnapshot): void {
    const previous = snapshot.value;
    snapshot.value = next;

    const call = next.call;
    if (call) {
      // The app goes straight back to the room when a call ends; the notice says how it ended.
      // Deferred: dismissing from inside the core's own change event would re-enter it.
      if (call.phase === 'ended') {
        queueMicrotask(() => {
          if (client.snapshot.call?.id === call.id && client.snapshot.call.phase === 'ended') {
            client.dismissCall();
          }
        });
      }
    }

    // Someone knocks: said wherever the member is (in a call the room's list is not on screen).
    const knownKnocks = new Set(previous.room?.knocks.map((knock) => knock.knockId));
    for (const knock of next.room?.knocks ?? []) {
      if (previous.room && !knownKnocks.has(knock.knockId)) {
        notify({ key: 'door.knockNotice', params: { name: knock.name } }, 'info');
      }
    }

    if (next.connection === 'connected') {
      serverUnreachable.value = false;
      const restoredShown = notices.value.some((shown) => shown.message.key === 'notices.sessionRestored');
      if (previous.connection === 'reconnecting' && next.room && !restoredShown) {
        notify({ key: 'notices.reconnected' }, 'success');
      }
    }
  }

  const offChange = client.on('change', onChange);
  const offNotice = client.on('notice', onNotice);

  async function connect(): Promise<boolean> {
    if (blocker.value) {
      return false;
    }
    const ok = await attempt(() => client.connect(), { action: 'connect' });
    if (ok) {
      serverUnreachable.value = false;
    }
    return ok;
  }

  /**
   * `api` with every method guarded: a throw or a rejection becomes a notice (in `context`, read at
   * the time of the failure) and the method returns false. Which methods are asynchronous is seen
   * from what they return, so one wrapper serves every part of the client.
   */
  function guard<T extends object>(api: T, context: () => FailureContext): Guarded<T> {
    return new Proxy(api, {
      get(target, key) {
        const method: unknown = Reflect.get(target, key);
        if (typeof method !== 'function') {
          return method;
        }
        return (...args: unknown[]) => {
          try {
            const result: unknown = Reflect.apply(method, target, args);
            if (!(result instanceof Promise)) {
              return true;
            }
            return result.then(
              () => true,
              (error: unknown) => {
                fail(error, context());
                return false;
              },
            );
          } catch (error) {
            fail(error, context());
            return false;
          }
        };
      },
    }) as unknown as Guarded<T>;
  }

  const media = guard(client.media, () => ({ action: 'media' }));
  const chat = guard(client.chat, () => ({ action: 'chat', peerName: currentPeerName() }));
  const files = guard<FileControls>(
    {
      ...client.files,
      async accept(transferId, sink) {
        try {
          await client.files.accept(transferId, sink);
        } catch (error) {
          // Refused before the core took the sink: close the picked file, or a temporary one stays behind.
          if (sink) {
            await sink.abort().catch(() => undefined);
          }
          throw error;
        }
      },
    },
    () => ({ action: 'file', peerName: currentPeerName() }),
  );

  const verification = guard(client.verification, () => ({ action: 'other', peerName: currentPeerName() }));

  async function startPreview(): Promise<void> {
    await media.start();
  }

  async function join(room: string, name: string, access: RoomAccess = {}): Promise<boolean> {
    if (joining.value) {
      return false;
    }
    joining.value = true;
    try {
      if (client.snapshot.connection !== 'connected' && !(await connect())) {
        return false;
      }
      try {
        await client.join(room, name, access);
        joinFailure.value = null;
      } catch (error) {
        const reason = failureReason(error);
        const retryAfterMs = error instanceof DuetError ? error.retryAfterMs : undefined;
        joinFailure.value =
          reason === null ? null : { reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
        // Giving up the wait is the user's own doing: nothing to tell. Password trouble is told under
        // the password field (which gets the focus), not in a notice over the form.
        if (reason === null || !INLINE_JOIN_FAILURES.has(reason)) {
          fail(error, { action: 'join' });
        }
        return false;
      }
      // The preview is not part of joining: a denied camera must not keep anyone out of the room.
      if (!client.snapshot.call && !client.snapshot.local.stream) {
        void startPreview();
      }
      return true;
    } finally {
      joining.value = false;
    }
  }

  async function leave(): Promise<void> {
    await attempt(() => client.leave(), { action: 'other' });
  }

  function currentPeerName(): string | undefined {
    return client.snapshot.call?.peer.name;
  }

  return {
    snapshot,
    notices,
    blocker,
    serverUnreachable,
    joining,
    connect,
    joinFailure,
    storedSession: () => client.storedSession,
    join,
    cancelJoin: () => client.cancelJoin(),
    async answerKnock(knockId, admit) {
      await attempt(() => client.answerKnock(knockId, admit), { action: 'other' });
    },
    async changeRoomSettings(patch) {
      await attempt(() => client.changeRoomSettings(patch), { action: 'other' });
    },
    leave,
    async call(user, { video, audio = true }) {
      await attempt(() => client.call(user.id, { video, audio }), { action: 'call', peerName: user.name });
    },
    async accept() {
      await attempt(() => client.accept(), { action: 'answer', peerName: currentPeerName() });
    },
    async decline() {
      await attempt(() => client.decline(), { action: 'answer', peerName: currentPeerName() });
    },
    async hangup() {
      await attempt(() => client.hangup(), { action: 'other', peerName: currentPeerName() });
    },
    toggleMicrophone() {
      media.setMicrophoneEnabled(!client.snapshot.local.microphone);
    },
    async toggleCamera() {
      await media.setCameraEnabled(!client.snapshot.local.camera);
    },
    async toggleScreenShare() {
      await (client.snapshot.local.screen ? media.stopScreenShare() : media.startScreenShare());
    },
    setRecording(active) {
      try {
        client.setRecording(active);
        return true;
      } catch (error) {
        fail(error, { action: 'other', peerName: currentPeerName() });
        return false;
      }
    },
    setQualityMode(mode) {
      client.quality.setMode(mode);
      writeQualityMode(mode);
    },
    media,
    chat,
    files,
    verification,
    notify,
    dismissNotice,
    dispose() {
      offChange();
      offNotice();
      disposeNotices();
    },
  };
}

export const DUET_KEY: InjectionKey<Duet> = Symbol('duet');

/** The app's Duet, provided once in main.ts. */
export function useDuet(): Duet {
  const duet = inject(DUET_KEY);
  if (!duet) {
    throw new Error('useDuet() needs createDuet() provided by the app (see main.ts)');
  }
  return duet;
}
