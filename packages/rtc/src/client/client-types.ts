import type { CallEndReason, CallMedia, MediaState, PublicUser, RoomSnapshot } from '@duet/protocol';
import type { DuetErrorReason } from '../errors.js';
import type { ChatMessage } from '../data/chat.js';
import type { LocalMediaState, StatsSummary } from '../media/media-types.js';
import type { FileSink, TransferView } from '../files/transfer-types.js';
import type { MediaController } from '../media/media-controller.js';
import type { MessengerStats } from '../data/messenger.js';
import type { VerificationView } from './call-verification.js';
import type { QualityView } from './call-quality.js';
import type { QualityMode } from '../media/quality-policy.js';

/** Phases of the current call as the UI shows them (see call-state.ts for the machine). */
export type CallPhase = 'outgoing' | 'incoming' | 'connecting' | 'connected' | 'reconnecting' | 'ended';

/** Why a call ended, from this side's point of view. */
export type CallOutcome = CallEndReason | 'failed';

export interface CallView {
  id: string;
  phase: CallPhase;
  role: 'caller' | 'callee';
  peer: PublicUser;
  /** What the caller asked for (audio-only or video). */
  media: CallMedia;
  /** What the peer says about its microphone, camera and screen share. */
  remoteMedia: MediaState;
  /** The peer's audio and video, once tracks arrive. */
  remoteStream: MediaStream | null;
  /** The peer says it is recording this call (shown for as long as it lasts). */
  peerRecording: boolean;
  /** We told the peer we are recording this call (`DuetClient.setRecording`). */
  recording: boolean;
  /** When the media first connected (ms since epoch), for the call timer. */
  connectedAt: number | null;
  /** When the ring times out (ms since epoch), while outgoing/incoming. */
  ringsUntil: number | null;
  /** Set once phase is `ended`. */
  outcome: CallOutcome | null;
}

export type ConnectionPhase = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** Everything the UI renders. A fresh object on every change (safe for Vue's shallowRef). */
export interface ClientSnapshot {
  connection: ConnectionPhase;
  self: PublicUser | null;
  /** The room, its users including self, kept current from presence events. */
  room: RoomSnapshot | null;
  call: CallView | null;
  local: LocalMediaState;
  /** Latest connection statistics during a call, and the last minute of them for charts. */
  stats: StatsSummary | null;
  statsHistory: readonly StatsSummary[];
  /** The current call's chat (kept across reconnects and reloads of this tab). */
  chat: readonly ChatMessage[];
  /** Messages from the peer since the last `markChatRead()`. */
  unreadChat: number;
  /** The current call's file transfers, both ways. */
  transfers: readonly TransferView[];
  /** The peer-to-peer data path is up (chat and files flow, with or without the server). */
  dataChannelOpen: boolean;
  /**
   * Files received in the call that just ended, still downloadable until the next call or leaving
   * the room: hanging up must not lose a file the user has not saved yet.
   */
  lastCallFiles: { peerName: string; transfers: readonly TransferView[] } | null;
  /** The current call's short authentication string and whether it was verified (null outside a call). */
  verification: VerificationView | null;
  /** Waiting to be let into a room that asks newcomers to knock: since when, and for how long at most. */
  knocking: { since: number; timeoutMs: number } | null;
  /** The video quality setting, the step we send at, what limits it, and what the peer says of its own. */
  quality: QualityView;
}

/** One-off things the UI should tell the user about (a toast or an announcement). */
export type Notice =
  | {
      kind: 'call-ended';
      callId: string;
      outcome: CallOutcome;
      peerName: string;
      role: 'caller' | 'callee';
      /** `self`: our own hang-up, decline or cancel; `remote`: the peer, the server or the network. */
      endedBy: 'self' | 'remote';
    }
  | { kind: 'error'; reason: DuetErrorReason; message: string }
  | { kind: 'session-restored' }
  /** Someone else came into or left the room (what the UI shows depends on what is on screen). */
  | { kind: 'presence'; change: 'joined' | 'left'; userId: string; name: string }
  /** After a reload: files received earlier in this call that this tab could not keep. */
  | { kind: 'files-lost'; names: string[]; peerName: string }
  /** The call's short authentication string changed after it was compared: the verified mark went. */
  | { kind: 'verification-changed'; peerName: string };

export interface DuetClientEvents extends Record<string, unknown> {
  change: ClientSnapshot;
  notice: Notice;
}

/** `client.media`: the local microphone, camera and screen share (failures reject with a DuetError). */
export type MediaControls = Pick<
  MediaController,
  | 'start'
  | 'setMicrophoneEnabled'
  | 'setCameraEnabled'
  | 'selectMicrophone'
  | 'selectCamera'
  | 'startScreenShare'
  | 'stopScreenShare'
>;

/** `client.chat`: the current call's chat. */
export interface ChatControls {
  /** Send a message; throws a DuetError for empty or over-long text, or without a call (nothing is sent). */
  send(text: string): void;
  /** The user has seen the chat: unread goes to zero. */
  markRead(): void;
}

/** `client.files`: the current call's file transfers. */
export interface FileControls {
  /** Offer a file (or a photo) to the peer; returns the transfer id. Throws without a call. */
  send(file: Blob, name: string, options?: { photo?: boolean }): string;
  /** Accept an offered file; `sink` writes it to disk (File System Access API), else it stays in memory. */
  accept(transferId: string, sink?: FileSink): Promise<void>;
  decline(transferId: string): void;
  /** Stop a transfer either way (or withdraw an offer). */
  cancel(transferId: string): void;
  /** Forget the files kept from the last call (the user saved them, or does not want them). */
  dismissLastCall(): void;
}

/** `client.verification`: the user's verdict on the call's short authentication string. */
export interface QualityControls {
  /** The user's quality setting (Auto, Data saver, High); kept across calls, applied at once. */
  setMode(mode: QualityMode): void;
  /**
   * What the current connection's senders are set to (`RTCRtpSender.getParameters()`), null
   * outside a call: for diagnostics and tests.
   */
  senderParameters(): { audio: RTCRtpSendParameters | null; video: RTCRtpSendParameters | null } | null;
}

export interface VerificationControls {
  /** Both see the same symbols (true), or they do not (false). Throws without a call. */
  confirm(match: boolean): void;
}

/** `client.diagnostics()`: what this tab's Duet is doing, JSON-safe and without secrets. */
export interface Diagnostics {
  at: string;
  connection: ConnectionPhase;
  self: { id: string; name: string } | null;
  room: { name: string; people: number } | null;
  call: {
    id: string;
    phase: string;
    role: 'caller' | 'callee';
    /** The current peer connection's epoch (each rebuilt connection has a new one). */
    epoch: string | null;
    dataChannelOpen: boolean;
    connectedAt: number | null;
    messenger: MessengerStats | null;
  } | null;
  ice: { servers: number; policy: RTCIceTransportPolicy; spareConnection: boolean };
  local: Pick<LocalMediaState, 'microphone' | 'camera' | 'screen' | 'error'>;
  stats: StatsSummary | null;
  transfers: Array<Pick<TransferView, 'id' | 'direction' | 'state' | 'size' | 'bytes' | 'error'>>;
  /** The core's last log lines, oldest first, whether or not a log sink was given. */
  log: string[];
}
