import type { CallMedia, MediaState, PublicUser, RoomSnapshot, Session, SignalData } from '@duet/protocol';
import type { PeerConnectionFactory } from '../call/call-session.js';
import { CallLink } from '../call/call-link.js';
import { transition, type CallEffect, type CallEvent, type CallState } from '../call/call-state.js';
import type { CallView, ClientSnapshot, DuetClientEvents, Notice } from './client-types.js';
import { Emitter } from '../emitter.js';
import { DuetError } from '../errors.js';
import { MediaController } from '../media/media-controller.js';
import type { MediaDevicesLike } from '../media/media-types.js';
import { SignalingClient, type StorageLike } from '../signaling/signaling-client.js';
import { StatsSampler } from '../media/stats.js';
import type { FileSink, Hasher, TransferView } from '../files/transfer-types.js';
import { KeptFiles, type ReceivedFileStore } from '../files/kept-files.js';
import { scopedLog, silentLog, type Log } from '../logger.js';

/** Where this tab keeps the user's microphone/camera choice in its current call (for a reload). */
const MEDIA_CHOICE_KEY = 'duet.callMedia';

type MediaChoice = { microphone: boolean; camera: boolean };

/**
 * A photo taken in the call ("Take photo") shows in the peer's chat at once, like a picture in any
 * messenger, instead of waiting behind an Accept button: it is received into memory without asking,
 * still verified by its SHA-256 and previewed only when its bytes are a raster image. Bounded, since
 * the sender decides what it calls a photo: up to this size each...
 */
const PHOTO_AUTO_ACCEPT_MAX_BYTES = 16 * 1024 * 1024;
/** ...and this much per call in all; past that, photos wait for Accept like any file. */
const PHOTO_AUTO_ACCEPT_CALL_BUDGET = 128 * 1024 * 1024;

export interface DuetClientOptions {
  /** Signaling server URL; default: the page's own origin. */
  url?: string;
  /** Default: `navigator.mediaDevices` (undefined on insecure origins). */
  mediaDevices?: MediaDevicesLike;
  /** Default: `new RTCPeerConnection(config)`. */
  createPeerConnection?: PeerConnectionFactory;
  /** Where the session token survives a reload; default: `sessionStorage`. */
  storage?: StorageLike;
  /** Default: `window.isSecureContext`. */
  isSecureContext?: boolean;
  /** Force relayed ICE (TURN only), e.g. for testing a TURN deployment. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * Streaming SHA-256 for file transfers. Default: @noble/hashes on this thread; the web app passes
   * a worker-backed one (`createWorkerHasherFactory`) so hashing does not compete with sending.
   */
  createHasher?: () => Hasher;
  /**
   * Keeps received files for the call, so a reload does not lose them (the web app: IndexedDB).
   * Without one, a reloaded tab names the files it lost instead.
   */
  receivedFiles?: ReceivedFileStore;
  /** Where the core's log lines go (ICE restarts, rebuilt connections, resumed transfers); default: nowhere. */
  log?: Log;
}

/**
 * Duet's call core for a UI: one object that joins a room, keeps presence, places and answers calls,
 * runs the peer connection and local media, and samples statistics. The UI renders `snapshot` (a new
 * object on every `change`) and calls the methods; it never touches WebRTC itself.
 */
export class DuetClient extends Emitter<DuetClientEvents> {
  private readonly signaling: SignalingClient;
  private readonly media: MediaController;
  private readonly createPeerConnection: PeerConnectionFactory;
  private readonly log: Log;
  private callState: CallState = { phase: 'idle' };
  private link: CallLink | null = null;
  private sampler: StatsSampler | null = null;
  /** Chat messages from the peer the user has seen (the rest are unread). */
  private chatRead = 0;
  private readonly storage: StorageLike | undefined;
  private lastCallFiles: ClientSnapshot['lastCallFiles'] = null;
  /** The call whose files `lastCallFiles` shows (they are kept until dismissed). */
  private lastCallId: string | null = null;
  private readonly kept: KeptFiles;
  /** Files this tab received in the current call before it reloaded (kept, then restored). */
  private restoredFiles: TransferView[] = [];
  /** Photos of the current call received without asking, and their bytes (see the limits above). */
  private autoAccepted = new Set<string>();
  private autoAcceptedBytes = 0;
  /** Signals that arrived before our session existed (the peer can be a few ms ahead of us). */
  private earlySignals: SignalData[] = [];
  private remoteMedia: MediaState = { microphone: true, camera: true, screen: false };
  private lastSentMediaState: MediaState | null = null;
  private remoteStream: MediaStream | null = null;
  private connectedAt: number | null = null;
  private ringsUntil: number | null = null;
  private self: PublicUser | null = null;
  private room: RoomSnapshot | null = null;
  private iceServers: RTCIceServer[] = [];
  private iceTransportPolicy: RTCIceTransportPolicy = 'all';
  private iceRefreshTimer: ReturnType<typeof setTimeout> | undefined;
  private current: ClientSnapshot;

  constructor(private readonly options: DuetClientOptions = {}) {
    super();
    this.log = options.log ?? silentLog;
    const storage = options.storage ?? (typeof sessionStorage === 'undefined' ? undefined : sessionStorage);
    this.storage = storage;
    this.kept = new KeptFiles({
      store: options.receivedFiles,
      storage,
      log: scopedLog(this.log, 'kept files'),
    });
    this.signaling = new SignalingClient({ url: options.url, storage });
    const mediaDevices =
      options.mediaDevices ?? (typeof navigator === 'undefined' ? undefined : navigator.mediaDevices);
    this.media = new MediaController({
      mediaDevices,
      isSecureContext:
        options.isSecureContext ?? (typeof window === 'undefined' ? true : window.isSecureContext),
    });
    this.createPeerConnection =
      options.createPeerConnection ?? ((configuration) => new RTCPeerConnection(configuration));
    this.current = this.buildSnapshot();
    this.wireSignaling();
    // A reload must not lose the last chat message or its delivery state (saving is debounced).
    if (typeof window !== 'undefined') window.addEventListener('pagehide', () => this.link?.persist());
    this.media.on('change', () => {
      this.sendMediaState();
      this.saveMediaChoice();
      this.publish();
    });
  }

  get snapshot(): ClientSnapshot {
    return this.current;
  }

  /** The room and name this tab was in (survives a reload): rejoin with them to take the seat back. */
  get storedSession(): { room: string; name: string } | null {
    return this.signaling.sessionInfo;
  }

  /** Connect to the signaling server. */
  connect(): Promise<void> {
    return this.signaling.connect();
  }

  /** Join a room (or take back this tab's seat after a reload). Rejects with a DuetError. */
  async join(room: string, name: string): Promise<void> {
    if (this.signaling.connection !== 'connected') await this.connect();
    await this.signaling.join(room, name);
  }

  async leave(): Promise<void> {
    if (this.callState.phase !== 'idle' && this.callState.phase !== 'ended') await this.hangup();
    await this.signaling.leave();
    clearTimeout(this.iceRefreshTimer);
    // Out of the room, the camera light goes off.
    this.media.stop();
    this.forgetLastCallFiles();
    this.self = null;
    this.room = null;
    this.dispatch({ type: 'dismiss' });
    this.publish();
  }

  /** Start the camera and microphone preview. Failures also land in `snapshot.local.error`. */
  startPreview(): Promise<void> {
    return this.media.start();
  }

  /** Call someone in the room. Rejects with a DuetError (`busy`, `already_in_call`, …). */
  async call(userId: string, options: { video?: boolean } = {}): Promise<void> {
    const peer = this.room?.users.find((user) => user.id === userId);
    if (!peer) throw new DuetError('user_not_found', 'That person is not in this room.');
    const media: CallMedia = { audio: true, video: options.video ?? true };
    await this.prepareMedia(media);
    const { callId, ringTimeoutMs } = await this.signaling.invite(userId, media);
    this.ringsUntil = Date.now() + ringTimeoutMs;
    this.dispatch({ type: 'dial', callId, peer, media });
  }

  async accept(): Promise<void> {
    if (this.callState.phase !== 'incoming') return;
    await this.prepareMedia(this.callState.media);
    this.dispatch({ type: 'answer' });
  }

  async decline(): Promise<void> {
    this.dispatch({ type: 'decline' });
  }

  async hangup(): Promise<void> {
    this.dispatch({ type: 'hangup' });
  }

  /** Forget an ended call so the UI returns to the room. */
  dismissCall(): void {
    this.dispatch({ type: 'dismiss' });
  }

  setMicrophoneEnabled(on: boolean): void {
    this.media.setMicrophoneEnabled(on);
  }

  setCameraEnabled(on: boolean): Promise<void> {
    return this.media.setCameraEnabled(on);
  }

  selectMicrophone(deviceId: string): Promise<void> {
    return this.media.selectMicrophone(deviceId);
  }

  selectCamera(deviceId: string): Promise<void> {
    return this.media.selectCamera(deviceId);
  }

  startScreenShare(): Promise<void> {
    return this.media.startScreenShare();
  }

  stopScreenShare(): Promise<void> {
    return this.media.stopScreenShare();
  }

  /** Send a chat message; rejects empty or over-long text with a DuetError (nothing is sent). */
  sendChat(text: string): void {
    if (!this.link) throw new DuetError('not_in_call', 'Chat works during a call.');
    this.link.chat.send(text);
  }

  /** Forget the files kept from the last call (the user saved them, or does not want them). */
  dismissLastCallFiles(): void {
    if (!this.lastCallFiles) return;
    this.forgetLastCallFiles();
    this.publish();
  }

  /** The user has seen the chat: unread goes to zero. */
  markChatRead(): void {
    const count = this.peerMessageCount();
    if (count === this.chatRead) return;
    this.chatRead = count;
    this.publish();
  }

  /** Offer a file (or a photo) to the peer; returns the transfer id. */
  sendFile(file: Blob, name: string, options: { photo?: boolean } = {}): string {
    if (!this.link) throw new DuetError('not_in_call', 'Files can be sent during a call.');
    return this.link.transfers.send(file, name, options);
  }

  /** Accept an offered file; `sink` writes it to disk (File System Access API), else it stays in memory. */
  acceptFile(transferId: string, sink?: FileSink): Promise<void> {
    return this.link?.transfers.accept(transferId, sink) ?? Promise.resolve();
  }

  declineFile(transferId: string): void {
    this.link?.transfers.decline(transferId);
  }

  cancelFile(transferId: string): void {
    this.link?.transfers.cancel(transferId);
  }

  /**
   * For tests and diagnostics: drop the current peer connection as a dead network would. The call
   * rebuilds it (a new epoch); chat resends and transfers resume.
   */
  dropConnection(): void {
    this.link?.dropConnection();
  }

  dispose(): void {
    clearTimeout(this.iceRefreshTimer);
    this.stopSession();
    this.media.stop();
    this.signaling.close();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------
  // Signaling → state
  // ---------------------------------------------------------------------------------------------

  private wireSignaling(): void {
    const s = this.signaling;
    s.on('connection', () => this.publish());
    s.on('session', (session) => this.adoptSession(session));
    s.on('session-lost', ({ room, name }) => {
      // The server forgot us (it restarted): join again under the same name. A live peer connection
      // keeps running meanwhile; only the call's signaling is gone.
      this.signaling.join(room, name).then(
        () => this.notify({ kind: 'session-restored' }),
        (error: unknown) => this.notifyError(error),
      );
    });
    s.on('presence', ({ change, user }) => {
      if (!this.room) return;
      const others = this.room.users.filter((u) => u.id !== user.id);
      const index = this.room.users.findIndex((u) => u.id === user.id);
      let users: PublicUser[];
      if (change === 'left') users = others;
      else if (index >= 0) users = this.room.users.map((u) => (u.id === user.id ? user : u));
      else users = [...this.room.users, user];
      this.room = { ...this.room, users };
      if (this.self?.id === user.id && change !== 'left') this.self = user;
      this.publish();
      if (change !== 'updated' && user.id !== this.self?.id) {
        this.notify({ kind: 'presence', change, userId: user.id, name: user.name });
      }
    });
    s.on('call:incoming', ({ callId, from, media, ringTimeoutMs }) => {
      this.ringsUntil = Date.now() + ringTimeoutMs;
      this.dispatch({ type: 'ring', callId, peer: from, media });
    });
    s.on('call:accepted', ({ callId, polite }) => this.dispatch({ type: 'accepted', callId, polite }));
    s.on('call:ended', ({ callId, reason }) => this.dispatch({ type: 'remote-ended', callId, reason }));
    s.on('call:restored', ({ callId, peer }) => this.dispatch({ type: 'restored', callId, peer }));
    s.on('signal', ({ callId, data }) => {
      if (!('callId' in this.callState) || this.callState.callId !== callId) return;
      // Older clients tell their media state through the server; ours do it peer to peer (CallLink).
      if (data.kind === 'media') {
        this.remoteMedia = data.state;
        this.publish();
        return;
      }
      if (this.link) this.link.handleSignal(data);
      else this.earlySignals.push(data);
    });
    s.on('protocol:error', ({ event, error }) => this.log(`server refused ${event}`, error));
    s.on('replaced', () => {
      this.notify({ kind: 'error', reason: 'session_replaced', message: 'Duet was opened in another tab.' });
      this.publish();
    });
    s.on('invalid-event', ({ event, issues }) => this.log(`dropped a malformed ${event}`, issues));
  }

  private adoptSession(session: Session): void {
    this.self = session.self;
    this.room = session.room;
    this.iceTransportPolicy = session.iceTransportPolicy;
    this.adoptIceServers(session.iceServers, session.iceServersExpireAt);
    // The server forgot a call that has no media yet (it restarted while ringing): it is over.
    if (
      session.call === null &&
      this.callState.phase !== 'idle' &&
      this.callState.phase !== 'ended' &&
      !this.link
    ) {
      this.dispatch({ type: 'remote-ended', callId: this.callState.callId, reason: 'peer_left' });
    }
    this.adoptServerCall(session);
    this.restoreForgottenCall(session);
    this.publish();
  }

  /**
   * Reconcile with a call the server knows and we do not (after a reload). A ringing call rings
   * again (or keeps calling); an active one gets a new peer connection, its chat restored from this
   * tab's storage and unacknowledged messages resent.
   */
  private adoptServerCall(session: Session): void {
    const call = session.call;
    if (!call) return;
    const ours = this.callState;
    if ('callId' in ours && ours.callId === call.callId && ours.phase !== 'ended') return;
    if (call.state === 'ringing') {
      this.ringsUntil = null;
      const type = call.role === 'caller' ? 'dial' : 'ring';
      this.dispatch({ type, callId: call.callId, peer: call.peer, media: call.media });
      // A caller's camera and microphone went with the page; the callee's start when it accepts.
      if (call.role === 'caller') void this.prepareMedia(call.media);
      return;
    }
    // An active call: our peer connection and our camera and microphone died with the page. Build a
    // new connection (a new epoch) at once and open the devices meanwhile: the tracks join the
    // connection when they are ready, with the mute and camera choice the user had before the reload.
    const choice = this.loadMediaChoice(call.callId);
    void this.prepareMedia({
      audio: call.media.audio && (choice?.microphone ?? true),
      video: call.media.video && (choice?.camera ?? true),
    });
    this.dispatch({
      type: 'rejoin',
      callId: call.callId,
      peer: call.peer,
      media: call.media,
      role: call.role,
      polite: call.polite,
    });
  }

  /**
   * The server lost our running call (it restarted; we joined again with a new id) while the peer
   * connection carries on. Claim the call back with the key both parties hold, so the server relays
   * for it and shows us as busy again.
   */
  private restoreForgottenCall(session: Session): void {
    const call = this.callState;
    const key = this.link?.restoreKey;
    if (session.call !== null || !key || !('callId' in call)) return;
    if (call.phase !== 'connecting' && call.phase !== 'connected' && call.phase !== 'reconnecting') return;
    this.signaling.restoreCall(call.callId, key, call.role).then(
      (result) => {
        if (result.state === 'restored' && result.peer) {
          this.dispatch({ type: 'restored', callId: call.callId, peer: result.peer });
        }
      },
      (error: unknown) => this.log('could not restore the call on the server', error),
    );
  }

  /**
   * Keep TURN credentials valid for as long as we stay: refresh at 80% of their lifetime and hand the
   * new ones to a running peer connection, so an ICE restart late in a long call still authenticates.
   */
  private adoptIceServers(iceServers: RTCIceServer[], expiresAt: number | null): void {
    this.iceServers = iceServers;
    this.link?.session?.setIceServers(iceServers);
    clearTimeout(this.iceRefreshTimer);
    if (expiresAt === null) return;
    const delay = Math.max(5000, (expiresAt - Date.now()) * 0.8);
    this.iceRefreshTimer = setTimeout(() => {
      this.signaling.refreshIceServers().then(
        (fresh) => this.adoptIceServers(fresh.iceServers, fresh.iceServersExpireAt),
        (error: unknown) => {
          this.log('TURN credential refresh failed; retrying', error);
          this.adoptIceServers(this.iceServers, Date.now() + 60_000);
        },
      );
    }, delay);
  }

  // ---------------------------------------------------------------------------------------------
  // The state machine and its effects
  // ---------------------------------------------------------------------------------------------

  private dispatch(event: CallEvent): void {
    const { state, effects } = transition(this.callState, event);
    this.callState = state;
    for (const effect of effects) this.run(effect);
    this.publish();
  }

  private run(effect: CallEffect): void {
    switch (effect.type) {
      case 'send-accept':
        this.signaling.accept(effect.callId).catch((error: unknown) => {
          this.notifyError(error);
          // The call is gone (e.g. it timed out as we answered): return to the room.
          this.dispatch({ type: 'remote-ended', callId: effect.callId, reason: 'timeout' });
        });
        break;
      case 'send-decline':
        this.signaling.decline(effect.callId).catch((error: unknown) => this.log('decline failed', error));
        break;
      case 'send-hangup':
        this.signaling.hangup(effect.callId).catch((error: unknown) => this.log('hangup failed', error));
        break;
      case 'start-session':
        this.startSession(effect.callId, effect.polite, effect.role === 'caller', effect.rejoin);
        break;
      case 'stop-session':
        this.stopSession(effect.endedBy);
        break;
      case 'announce-end':
        this.ringsUntil = null;
        this.notify({
          kind: 'call-ended',
          callId: effect.callId,
          outcome: effect.outcome,
          peerName: effect.peer.name,
          role: effect.role,
          endedBy: effect.endedBy,
        });
        break;
    }
  }

  /** The ICE servers and policy a call's peer connection gets now (what `createPeerConnection` is given). */
  peerConnectionConfiguration(): RTCConfiguration {
    return {
      bundlePolicy: 'max-bundle',
      iceServers: this.iceServers,
      iceTransportPolicy: this.options.iceTransportPolicy ?? this.iceTransportPolicy,
    };
  }

  private startSession(callId: string, polite: boolean, caller: boolean, rejoin: boolean): void {
    if (this.callState.phase !== 'connecting') return;
    const link = new CallLink({
      callId,
      caller,
      polite,
      createPeerConnection: this.createPeerConnection,
      configuration: () => this.peerConnectionConfiguration(),
      // The peer's id can change during the call (restored on a restarted server): always the current one.
      sendSignal: (data) => {
        if ('peer' in this.callState) this.signaling.signal(callId, this.callState.peer.id, data);
      },
      tracks: () => this.media.currentTracks(),
      attachMedia: (sink) => void this.media.attach(sink),
      storage: this.storage,
      createHasher: this.options.createHasher,
      log: scopedLog(this.log, 'call'),
    });
    this.link = link;
    this.ringsUntil = null;
    if (this.lastCallId !== callId) this.forgetLastCallFiles();
    this.restoredFiles = [];
    this.autoAccepted = new Set();
    this.autoAcceptedBytes = 0;
    if (rejoin) this.restoreFiles(link, callId);
    this.chatRead = this.peerMessageCount();
    // Until the peer says otherwise, expect what the call was placed for (no camera on audio calls).
    this.remoteMedia = { microphone: true, camera: this.callState.media.video, screen: false };
    link.on('remote-stream', (stream) => {
      this.remoteStream = stream;
      this.publish();
    });
    link.on('change', () => {
      this.kept.keep(callId, link.transfers.transfers);
      this.acceptPhotos(link);
      this.publish();
    });
    link.on('bye', () => this.dispatch({ type: 'remote-ended', callId, reason: 'hangup' }));
    link.on('remote-media', (state) => {
      this.remoteMedia = state;
      this.publish();
    });
    // Once per (re)opened data channel: a peer that reloaded starts from its defaults.
    link.on('synced', () => this.sendMediaState(true));
    link.on('state', (state) => {
      if (state === 'connected') {
        this.connectedAt ??= Date.now();
        this.dispatch({ type: 'media-connected' });
      } else if (state === 'interrupted') {
        this.dispatch({ type: 'media-interrupted' });
      } else if (state === 'failed') {
        this.notify({
          kind: 'error',
          reason: 'connection_failed',
          message: 'The connection to the other person failed.',
        });
        this.dispatch({ type: 'media-failed' });
      }
    });
    link.start(rejoin);
    this.saveMediaChoice();

    // Statistics follow whichever peer connection the call has now.
    this.sampler = new StatsSampler({
      getStats: () => link.session?.getStats() ?? Promise.resolve(new Map() as unknown as RTCStatsReport),
    });
    this.sampler.on('sample', () => this.publish());
    this.sampler.start();

    const early = this.earlySignals;
    this.earlySignals = [];
    for (const data of early) link.handleSignal(data);
  }

  private stopSession(endedBy: 'self' | 'remote' = 'remote'): void {
    this.sampler?.stop();
    this.sampler = null;
    const received = this.transfers().filter(
      (t) => t.direction === 'receive' && t.state === 'done' && t.file !== null,
    );
    if (received.length > 0 && 'peer' in this.callState) {
      this.lastCallFiles = { peerName: this.callState.peer.name, transfers: received };
      this.lastCallId = this.callState.callId;
    } else if ('callId' in this.callState) {
      this.kept.forget(this.callState.callId);
    }
    this.restoredFiles = [];
    if (endedBy === 'self') this.link?.hangUp();
    else this.link?.close(true);
    this.link = null;
    this.storage?.removeItem(MEDIA_CHOICE_KEY);
    this.earlySignals = [];
    this.remoteStream = null;
    this.connectedAt = null;
    this.chatRead = 0;
    void this.media.attach(null);
  }

  /** The current call's transfers: those restored after a reload, then the live ones. */
  private transfers(): readonly TransferView[] {
    const live = this.link?.transfers.transfers ?? [];
    return this.restoredFiles.length === 0 ? live : [...this.restoredFiles, ...live];
  }

  /** Receive offered photos without asking, within the limits (see PHOTO_AUTO_ACCEPT_MAX_BYTES). */
  private acceptPhotos(link: CallLink): void {
    for (const t of link.transfers.transfers) {
      if (t.direction !== 'receive' || t.state !== 'offered' || !t.photo || this.autoAccepted.has(t.id))
        continue;
      if (t.size > PHOTO_AUTO_ACCEPT_MAX_BYTES) continue;
      if (this.autoAcceptedBytes + t.size > PHOTO_AUTO_ACCEPT_CALL_BUDGET) continue;
      this.autoAccepted.add(t.id);
      this.autoAcceptedBytes += t.size;
      link.transfers
        .accept(t.id)
        .catch((error: unknown) => this.log(`could not receive the photo ${t.name}`, error));
    }
  }

  /** After a reload into a running call: the files received before it, or a notice naming the lost. */
  private restoreFiles(link: CallLink, callId: string): void {
    void this.kept.restore(callId).then(({ transfers, lost }) => {
      if (this.link !== link) return;
      const live = new Set(link.transfers.transfers.map((t) => t.id));
      this.restoredFiles = transfers.filter((t) => !live.has(t.id));
      if (lost.length > 0 && 'peer' in this.callState) {
        this.notify({ kind: 'files-lost', names: lost, peerName: this.callState.peer.name });
      }
      this.publish();
    });
  }

  private forgetLastCallFiles(): void {
    if (this.lastCallId) this.kept.forget(this.lastCallId);
    this.lastCallId = null;
    this.lastCallFiles = null;
  }

  private peerMessageCount(): number {
    return this.link?.chat.list.filter((m) => m.from === 'peer').length ?? 0;
  }

  /** The user's microphone/camera choice during this call survives a reload of the tab. */
  private saveMediaChoice(): void {
    const call = this.callState;
    if (!this.link || !('callId' in call)) return;
    try {
      this.storage?.setItem(MEDIA_CHOICE_KEY, JSON.stringify({ callId: call.callId, ...this.media.choices }));
    } catch {
      // Quota: the reloaded tab then starts unmuted with its camera on, as a new call would.
    }
  }

  private loadMediaChoice(callId: string): MediaChoice | null {
    try {
      const raw = this.storage?.getItem(MEDIA_CHOICE_KEY);
      // This tab's own earlier state; checked lightly, a broken entry is no entry.
      const value = raw ? (JSON.parse(raw) as Partial<MediaChoice> & { callId?: unknown }) : null;
      if (value?.callId !== callId) return null;
      return { microphone: value.microphone !== false, camera: value.camera !== false };
    } catch {
      return null;
    }
  }

  /** Start local media for a call; without a camera or permission the call still goes ahead. */
  private async prepareMedia(media: CallMedia): Promise<void> {
    try {
      await this.media.start({ audio: media.audio, video: media.video });
      // A preview may have started the camera already; an audio call sends none.
      if (!media.video && this.media.state.camera) await this.media.setCameraEnabled(false);
    } catch (error) {
      // Receive-only is better than no call; the UI shows why we send nothing.
      this.notifyError(error);
    }
  }

  /** Tell the peer our microphone/camera/screen state when it changed (or once per open channel). */
  private sendMediaState(force = false): void {
    const link = this.link;
    if (!link) return;
    const state = this.media.mediaState();
    const last = this.lastSentMediaState;
    if (
      !force &&
      last?.microphone === state.microphone &&
      last.camera === state.camera &&
      last.screen === state.screen
    ) {
      return;
    }
    this.lastSentMediaState = state;
    // Peer to peer (queued while the channel is down, delivered once, in order), so it does not
    // depend on the signaling server like every other fact of a running call.
    link.messenger.send({ kind: 'media', state });
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshot and notices
  // ---------------------------------------------------------------------------------------------

  private publish(): void {
    this.current = this.buildSnapshot();
    this.emit('change', this.current);
  }

  private buildSnapshot(): ClientSnapshot {
    return {
      connection: this.signaling.connection,
      self: this.self,
      room: this.room,
      call: this.callView(),
      local: this.media.state,
      stats: this.sampler?.latest ?? null,
      statsHistory: this.sampler?.history ?? [],
      chat: this.link?.chat.list ?? [],
      unreadChat: Math.max(0, this.peerMessageCount() - this.chatRead),
      transfers: this.transfers(),
      dataChannelOpen: this.link?.messenger.connected ?? false,
      lastCallFiles: this.lastCallFiles,
    };
  }

  private callView(): CallView | null {
    const call = this.callState;
    if (call.phase === 'idle') return null;
    const phase = call.phase === 'answering' ? 'connecting' : call.phase;
    return {
      id: call.callId,
      phase,
      role: call.role,
      peer: this.room?.users.find((u) => u.id === call.peer.id) ?? call.peer,
      media: call.media,
      remoteMedia: this.remoteMedia,
      remoteStream: this.remoteStream,
      connectedAt: this.connectedAt,
      ringsUntil: phase === 'outgoing' || phase === 'incoming' ? this.ringsUntil : null,
      outcome: call.phase === 'ended' ? call.outcome : null,
    };
  }

  private notify(notice: Notice): void {
    this.emit('notice', notice);
  }

  private notifyError(error: unknown): void {
    if (error instanceof DuetError)
      this.notify({ kind: 'error', reason: error.reason, message: error.message });
    else
      this.notify({
        kind: 'error',
        reason: 'unknown',
        message: error instanceof Error ? error.message : String(error),
      });
  }
}
