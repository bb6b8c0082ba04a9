import {
  isDataOnly,
  type Agent,
  type CallMedia,
  type MediaState,
  type Session,
  type SignalData,
} from '@duet/protocol';
import { CallLink } from '../call/call-link.js';
import type { PeerConnectionFactory } from '../call/call-session.js';
import { transition, type CallEffect, type CallEvent, type CallState } from '../call/call-state.js';
import { PeerConnectionPool } from '../call/peer-connection-pool.js';
import { Emitter } from '../emitter.js';
import { DuetError } from '../errors.js';
import type { ReceivedFileStore } from '../files/kept-files.js';
import type { FileSink, Hasher } from '../files/transfer-types.js';
import type { FileChannelSends } from '../files/file-worker-messages.js';
import type { FileWorker } from '../files/worker-channels.js';
import { scopedLog, type Log } from '../logger.js';
import { MediaController } from '../media/media-controller.js';
import type { MediaDevicesLike } from '../media/media-types.js';
import { StatsSampler } from '../media/stats.js';
import {
  SignalingClient,
  type RoomAccess,
  type SignalingPort,
  type StorageLike,
} from '../signaling/signaling-client.js';
import { CallFiles } from './call-files.js';
import { CallQuality } from './call-quality.js';
import { CallVerification } from './call-verification.js';
import { KnownPeers } from '../verify/known-peers.js';
import type {
  ChatControls,
  ClientSnapshot,
  Diagnostics,
  DuetClientEvents,
  FileControls,
  MediaControls,
  Notice,
  QualityControls,
  VerificationControls,
} from './client-types.js';
import { IceConfig } from './ice-config.js';
import { MediaChoiceMemory } from './media-choice.js';
import {
  applyKnock,
  applyPresence,
  applySettings,
  isArrivalOrDeparture,
  type RoomView,
} from './room-state.js';
import { viewOfCall } from './snapshot.js';
import { reconcile } from './reconcile.js';
import { buildDiagnostics, RecentLog } from './diagnostics.js';

/*
 * Why this module is ~720 lines: it is the one place that wires the parts of a call together
 * (signaling → call state → call link → media, files, stats) and turns their events into one
 * snapshot; what is left here is that wiring, one handler per event. Every rule it used to hold has
 * an owner of its own: the call's facts (call/call-state), the room (room-state), ICE servers and
 * their refresh (ice-config), a session that disagrees with the tab (reconcile), the files'
 * promises (call-files), the mute memory (media-choice), what the UI sees (snapshot), bug reports
 * (diagnostics).
 */

export interface DuetClientOptions {
  /** Signaling server URL; default: the page's own origin. */
  url?: string;
  /** The signaling client; default: a Socket.IO client for `url`. Tests pass a fake. */
  signaling?: SignalingPort;
  /** Default: `navigator.mediaDevices` (undefined on insecure origins). */
  mediaDevices?: MediaDevicesLike;
  /**
   * Default: `new RTCPeerConnection(config)`, with one made in advance while a call rings (see
   * PeerConnectionPool).
   */
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
   * Moves file bytes off the main thread (the web app starts one at load): channels move into it
   * where the browser allows, and received files are folded and hashed there. See
   * files/worker-channels.ts. Without one, everything runs on this thread.
   */
  fileWorker?: FileWorker;
  /**
   * Keeps received files for the call, so a reload does not lose them (the web app: IndexedDB).
   * Without one, a reloaded tab names the files it lost instead.
   */
  receivedFiles?: ReceivedFileStore;
  /** Where the core's log lines go (ICE restarts, rebuilt connections, resumed transfers); default: nowhere. */
  log?: Log;
  /**
   * This browser's DTLS certificate for every peer connection (the web app keeps one in IndexedDB),
   * so its fingerprint, and with it what a peer verified, stays the same across calls. Read at each
   * new connection; undefined: the browser makes a fresh one per connection.
   */
  certificates?: () => RTCCertificate[] | undefined;
  /** Where the peers' verified certificates are remembered; default: `localStorage`. */
  verifiedPeers?: StorageLike;
  /** What kind of peer this is, as others see it (`terminal`: the command line); default: a browser. */
  agent?: Agent;
}

/** Log lines kept for `diagnostics()`, newest last. */
const RECENT_LOG_LINES = 200;

/**
 * Duet's call core for a UI: one object that joins a room, keeps presence, places and answers calls,
 * runs the peer connection and local media, and samples statistics. The UI renders `snapshot` (a new
 * object on every `change`), calls the call methods here and the rest through `media`, `chat` and
 * `files`; it never touches WebRTC itself.
 */
export class DuetClient extends Emitter<DuetClientEvents> {
  /** The local microphone, camera and screen share. */
  readonly media: MediaControls;
  /** The current call's chat. */
  readonly chat: ChatControls;
  /** The current call's files, and those kept from the last call. */
  readonly files: FileControls;
  /** The current call's short authentication string: the user's verdict on it. */
  readonly verification: VerificationControls;
  /** The video quality setting (and, for tests, what the senders are set to). */
  readonly quality: QualityControls;

  private readonly signaling: SignalingPort;
  private readonly devices: MediaController;
  private readonly createPeerConnection: PeerConnectionFactory;
  private readonly pool: PeerConnectionPool | null;
  private readonly log: Log;
  private readonly recentLog = new RecentLog(RECENT_LOG_LINES);
  private readonly ice: IceConfig;
  private readonly callFiles: CallFiles;
  private readonly mediaChoice: MediaChoiceMemory;
  private readonly createHasher: (() => Hasher) | undefined;
  private readonly fileWorker: FileWorker | undefined;
  private callState: CallState = { phase: 'idle' };
  private link: CallLink | null = null;
  private callVerification: CallVerification | null = null;
  private readonly knownPeers: KnownPeers;
  private readonly certificates: () => RTCCertificate[] | undefined;
  private sampler: StatsSampler | null = null;
  private readonly callQuality: CallQuality;
  /** Chat messages from the peer the user has seen (the rest are unread). */
  private chatRead = 0;
  private readonly storage: StorageLike | undefined;
  /** Signals that arrived before our session existed (the peer can be a few ms ahead of us). */
  private earlySignals: SignalData[] = [];
  /**
   * What our connection says to the peer between our Accept and the server making the call active
   * (it would refuse it before): sent when `call:accepted` comes.
   */
  private heldSignals: SignalData[] = [];
  /** The peer's stream as the connection made it while the call rang (the call state takes it once accepted). */
  private ringingRemoteStream: MediaStream | null = null;
  private lastSentMediaState: MediaState | null = null;
  /** We told the peer we record this call (the recorder itself lives in the UI). */
  private recording = false;
  private roomView: RoomView = { self: null, room: null };
  private knocking: ClientSnapshot['knocking'] = null;
  private current: ClientSnapshot;

  constructor(options: DuetClientOptions = {}) {
    super();
    this.log = this.recentLog.tee(options.log);
    const storage = options.storage ?? (typeof sessionStorage === 'undefined' ? undefined : sessionStorage);
    this.storage = storage;
    this.createHasher = options.createHasher;
    this.fileWorker = options.fileWorker;
    this.mediaChoice = new MediaChoiceMemory(storage);
    this.certificates = options.certificates ?? (() => undefined);
    this.knownPeers = new KnownPeers(
      options.verifiedPeers ?? (typeof localStorage === 'undefined' ? undefined : localStorage),
    );
    this.signaling =
      options.signaling ?? new SignalingClient({ url: options.url, storage, agent: options.agent });
    this.ice = new IceConfig({
      refresh: () => this.signaling.refreshIceServers(),
      onChange: (iceServers) => {
        this.link?.session?.setIceServers(iceServers);
        this.prepareConnection();
      },
      forcedPolicy: options.iceTransportPolicy,
      log: scopedLog(this.log, 'ice'),
    });
    this.callFiles = new CallFiles({
      store: options.receivedFiles,
      storage,
      log: scopedLog(this.log, 'kept files'),
      changed: () => this.publish(),
      lost: (names) => {
        if ('peer' in this.callState) {
          this.notify({ kind: 'files-lost', names, peerName: this.callState.peer.name });
        }
      },
    });
    const mediaDevices =
      options.mediaDevices ?? (typeof navigator === 'undefined' ? undefined : navigator.mediaDevices);
    this.devices = new MediaController({
      mediaDevices,
      isSecureContext:
        options.isSecureContext ?? (typeof window === 'undefined' ? true : window.isSecureContext),
    });
    if (options.createPeerConnection) {
      this.pool = null;
      this.createPeerConnection = options.createPeerConnection;
    } else {
      const pool =
        typeof RTCPeerConnection === 'undefined'
          ? null
          : new PeerConnectionPool((configuration) => new RTCPeerConnection(configuration));
      this.pool = pool;
      this.createPeerConnection = pool?.create ?? ((configuration) => new RTCPeerConnection(configuration));
    }
    this.media = this.devices;
    this.chat = {
      send: (text) => {
        if (!this.link) {
          throw new DuetError('not_in_call', 'Chat works during a call.');
        }
        this.link.chat.send(text);
      },
      markRead: () => {
        const count = this.peerMessageCount();
        if (count === this.chatRead) {
          return;
        }
        this.chatRead = count;
        this.publish();
      },
    };
    this.files = {
      send: (file, name, sendOptions = {}) => {
        if (!this.link) {
          throw new DuetError('not_in_call', 'Files can be sent during a call.');
        }
        return this.link.transfers.send(file, name, sendOptions);
      },
      accept: (transferId: string, fileSink?: FileSink) =>
        this.link?.transfers.accept(transferId, fileSink) ?? Promise.resolve(),
      decline: (transferId) => this.link?.transfers.decline(transferId),
      cancel: (transferId) => this.link?.transfers.cancel(transferId),
      dismissLastCall: () => {
        if (this.callFiles.forgetLastCall()) {
          this.publish();
        }
      },
    };
    this.verification = {
      confirm: (match) => {
        if (!this.callVerification) {
          throw new DuetError('not_in_call', 'Only a call can be verified.');
        }
        this.callVerification.confirm(match);
      },
    };
    this.callQuality = new CallQuality({
      apply: (settings) => void this.link?.session?.setQuality(settings),
      send: (body) => {
        // A data-only call sends no video (and its terminal peer shows none).
        if (this.link && 'media' in this.callState && !isDataOnly(this.callState.media)) {
          this.link.messenger.send(body);
        }
      },
      changed: () => this.publish(),
      capture: (limit) => this.devices.limitCapture(limit),
      log: scopedLog(this.log, 'quality'),
    });
    this.quality = {
      setMode: (mode) => this.callQuality.setMode(mode),
      senderParameters: () => this.link?.session?.senderParameters() ?? null,
    };
    this.current = this.buildSnapshot();
    this.wireSignaling();
    // A reload must not lose the last chat message or its delivery state (saving is debounced).
    if (typeof window !== 'undefined') {
      window.addEventListener('pagehide', () => this.link?.persist());
    }
    this.devices.on('change', () => {
      this.sendMediaState();
      this.saveMediaChoice();
      this.publish();
    });
  }

  get snapshot(): ClientSnapshot {
    return this.current;
  }

  /** The room and name this tab was in (survives a reload): rejoin with them to take the seat back. */
  get storedSession(): { room: string; name: string; secret?: string } | null {
    return this.signaling.sessionInfo;
  }

  /** Connect to the signaling server. */
  connect(): Promise<void> {
    return this.signaling.connect();
  }

  /**
   * Join a room (or take back this tab's seat after a reload). A private room needs `access.secret`;
   * a room that asks to join is knocked on and joined once a member admits us (the snapshot's
   * `knocking` meanwhile). Rejects with a DuetError.
   */
  async join(room: string, name: string, access: RoomAccess = {}): Promise<void> {
    if (this.signaling.connection !== 'connected') {
      await this.connect();
    }
    await this.signaling.join(room, name, access);
  }

  /** Stop waiting to be let in; the pending `join` rejects with `join_cancelled`. */
  cancelJoin(): void {
    this.signaling.cancelKnock();
  }

  /** Let someone waiting at the door in, or turn them away. Rejects with a DuetError. */
  answerKnock(knockId: string, admit: boolean): Promise<void> {
    return this.signaling.answerKnock(knockId, admit);
  }

  /** Switch "ask to join" or the lock of the room (any member may). Rejects with a DuetError. */
  changeRoomSettings(patch: { askToJoin?: boolean; locked?: boolean }): Promise<void> {
    return this.signaling.changeRoomSettings(patch);
  }

  async leave(): Promise<void> {
    if (this.callState.phase !== 'idle' && this.callState.phase !== 'ended') {
      await this.hangup();
    }
    await this.signaling.leave();
    this.ice.stop();
    // Out of the room, the camera light goes off.
    this.devices.stop();
    this.callFiles.forgetLastCall();
    this.roomView = { self: null, room: null };
    this.dispatch({ type: 'dismiss' });
    this.prepareConnection();
    this.publish();
  }

  /**
   * Call someone in the room. Rejects with a DuetError (`busy`, `already_in_call`, …). With
   * `audio: false, video: false` the call is data-only: chat and files, no camera or microphone.
   */
  async call(userId: string, options: { video?: boolean; audio?: boolean } = {}): Promise<void> {
    const peer = this.roomView.room?.users.find((user) => user.id === userId);
    if (!peer) {
      throw new DuetError('user_not_found', 'That person is not in this room.');
    }
    const media: CallMedia = { audio: options.audio ?? true, video: options.video ?? true };
    await this.prepareMedia(media);
    const { callId, ringTimeoutMs } = await this.signaling.invite(userId, media);
    this.dispatch({ type: 'dial', callId, peer, media, ringsUntil: Date.now() + ringTimeoutMs });
  }

  /**
   * Pick up: answer at once (the offer was applied while it rang) and open the camera and microphone
   * meanwhile; their tracks join the connection when they are ready, without a renegotiation.
   */
  async accept(): Promise<void> {
    if (this.callState.phase !== 'incoming') {
      return;
    }
    const media = this.callState.media;
    this.dispatch({ type: 'answer' });
    await this.prepareMedia(media);
  }

  async decline(): Promise<void> {
    this.dispatch({ type: 'decline' });
  }

  async hangup(): Promise<void> {
    this.dispatch({ type: 'hangup' });
  }

  /**
   * Tell the peer we start (or stop) recording the call, over the data channel: it shows a
   * "recording" indicator for as long as it lasts. Call it before the recorder starts, so the peer
   * knows before anything is kept. The recording itself is the UI's (MediaRecorder); the core only
   * carries the fact, repeats it on every reopened channel, and forgets it when the call ends.
   * Throws a DuetError without a running call.
   */
  setRecording(active: boolean): void {
    const link = this.link;
    if (!link || !isAccepted(this.callState)) {
      if (!active) {
        return;
      }
      throw new DuetError('not_in_call', 'There is no call to record.');
    }
    if (this.recording === active) {
      return;
    }
    this.recording = active;
    link.messenger.send({ kind: 'recording', active });
    this.publish();
  }

  /** Forget an ended call so the UI returns to the room. */
  dismissCall(): void {
    this.dispatch({ type: 'dismiss' });
  }

  /**
   * For tests and diagnostics: drop the current peer connection as a dead network would. The call
   * rebuilds it (a new epoch); chat resends and transfers resume.
   */
  dropConnection(): void {
    this.link?.dropConnection();
  }

  /**
   * For tests and diagnostics: restart ICE on the call's connection, as a network change does (new
   * candidates; the DTLS transport, and with it the verification string, stays).
   */
  restartIce(): void {
    this.link?.restartIce();
  }

  /**
   * For tests and diagnostics: what this page's file worker wrote to file channels (the bytes and
   * each channel's header), or null without a running worker. What the page itself wrote is not
   * included (a test counts that where it leaves the page).
   */
  async fileWorkerSends(): Promise<FileChannelSends | null> {
    return this.fileWorker?.ready ? this.fileWorker.sends() : null;
  }

  /**
   * A plain, JSON-safe report of what this tab's Duet is doing, for a bug report: the connection,
   * the call, the data path, transfers, ICE (never credentials) and the core's recent log lines.
   */
  diagnostics(): Diagnostics {
    const call = this.callState;
    return buildDiagnostics({
      snapshot: this.current,
      call: call.phase === 'idle' ? null : { id: call.callId, phase: call.phase, role: call.role },
      link: this.link,
      ice: {
        servers: this.ice.serverCount,
        policy: this.ice.configuration().iceTransportPolicy ?? 'all',
        spareConnection: this.pool?.ready ?? false,
      },
      log: this.recentLog.lines(),
    });
  }

  dispose(): void {
    this.ice.stop();
    this.pool?.discard();
    this.stopSession();
    this.devices.stop();
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
    s.on('session-lost', ({ room, name, access }) => {
      // The server forgot us (it restarted): join again under the same name. A live peer connection
      // keeps running meanwhile; only the call's signaling is gone.
      this.signaling.join(room, name, access).then(
        () => this.notify({ kind: 'session-restored' }),
        (error: unknown) => this.notifyError(error),
      );
    });
    s.on('presence', (event) => {
      const before = this.roomView;
      this.roomView = applyPresence(before, event);
      if (this.roomView === before) {
        return;
      }
      this.publish();
      if (isArrivalOrDeparture(before, event)) {
        this.notify({
          kind: 'presence',
          change: event.change as 'joined' | 'left',
          userId: event.user.id,
          name: event.user.name,
        });
      }
    });
    s.on('room:settings', ({ settings }) => {
      this.roomView = applySettings(this.roomView, settings);
      this.publish();
    });
    s.on('lobby:knock', (knock) => {
      this.roomView = applyKnock(this.roomView, { knock });
      this.publish();
    });
    s.on('lobby:knock-ended', ({ knockId }) => {
      this.roomView = applyKnock(this.roomView, { ended: knockId });
      this.publish();
    });
    s.on('knocking', (knock) => {
      this.knocking = knock && { since: Date.now(), timeoutMs: knock.timeoutMs };
      this.publish();
    });
    s.on('call:incoming', ({ callId, from, media, ringTimeoutMs }) => {
      this.dispatch({ type: 'ring', callId, peer: from, media, ringsUntil: Date.now() + ringTimeoutMs });
    });
    s.on('call:accepted', ({ callId, polite }) => this.dispatch({ type: 'accepted', callId, polite }));
    s.on('call:ended', ({ callId, reason }) => this.dispatch({ type: 'remote-ended', callId, reason }));
    s.on('call:restored', ({ callId, peer }) => this.dispatch({ type: 'restored', callId, peer }));
    s.on('signal', ({ callId, data }) => {
      if (!('callId' in this.callState) || this.callState.callId !== callId) {
        return;
      }
      // Older clients tell their media state through the server; ours do it peer to peer (CallLink).
      if (data.kind === 'media') {
        this.dispatch({ type: 'remote-media', state: data.state });
        return;
      }
      if (this.link) {
        this.link.handleSignal(data);
      } else {
        this.earlySignals.push(data);
      }
    });
    s.on('protocol:error', ({ event, error }) => this.log(`server refused ${event}`, error));
    s.on('replaced', () => {
      this.notify({ kind: 'error', reason: 'session_replaced', message: 'Duet was opened in another tab.' });
      this.publish();
    });
    s.on('invalid-event', ({ event, issues }) => this.log(`dropped a malformed ${event}`, issues));
  }

  private adoptSession(session: Session): void {
    this.roomView = { self: session.self, room: session.room };
    this.ice.adopt(session.iceServers, session.iceServersExpireAt, session.iceTransportPolicy);
    const plan = reconcile(session.call, this.callState, {
      // A connection made while the call rang carries no call yet.
      hasConnection: this.link !== null && isAccepted(this.callState),
      choice: (callId) => this.mediaChoice.load(callId),
    });
    if (plan.media) {
      void this.prepareMedia(plan.media);
    }
    for (const event of plan.events) {
      this.dispatch(event);
    }
    if (plan.restore) {
      this.restoreForgottenCall();
    }
    this.prepareConnection();
    this.link?.signalingRestored();
    this.publish();
  }

  /**
   * The server lost our running call (it restarted; we joined again with a new id) while the peer
   * connection carries on. Claim the call back with the key both parties hold, so the server relays
   * for it and shows us as busy again.
   */
  private restoreForgottenCall(): void {
    const call = this.callState;
    const key = this.link?.restoreKey;
    if (!key || !('callId' in call)) {
      return;
    }
    this.signaling.restoreCall(call.callId, key, call.role).then(
      (result) => {
        if (result.state === 'restored' && result.peer) {
          this.dispatch({ type: 'restored', callId: call.callId, peer: result.peer });
        }
      },
      (error: unknown) => this.log('could not restore the call on the server', error),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // The state machine and its effects
  // ---------------------------------------------------------------------------------------------

  private dispatch(event: CallEvent): void {
    const { state, effects } = transition(this.callState, event);
    if (state === this.callState && effects.length === 0) {
      return;
    }
    this.callState = state;
    for (const effect of effects) {
      this.run(effect);
    }
    this.prepareConnection();
    this.publish();
  }

  /**
   * In a room and free, a peer connection waits for the next call, so dialling or ringing does not
   * wait for WebRTC's threads and a DTLS certificate; out of the room, none is kept.
   */
  private prepareConnection(): void {
    const phase = this.callState.phase;
    if (phase !== 'idle' && phase !== 'ended') {
      return;
    }
    if (this.roomView.room) {
      this.pool?.prepare(this.connectionConfiguration());
    } else {
      this.pool?.discard();
    }
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
      case 'answer-offer':
        this.link?.answer();
        break;
      case 'session-accepted':
        this.onSessionAccepted(effect.callId);
        break;
      case 'stop-session':
        this.stopSession(effect.endedBy);
        break;
      case 'announce-end':
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

  private startSession(callId: string, polite: boolean, caller: boolean, rejoin: boolean): void {
    const call = this.callState;
    if (this.link || !isLive(call) || call.callId !== callId || call.phase === 'answering') {
      return;
    }
    const link = new CallLink({
      callId,
      caller,
      polite,
      ringing: call.phase === 'incoming',
      createPeerConnection: this.createPeerConnection,
      dataOnly: isDataOnly(call.media),
      configuration: () => this.connectionConfiguration(),
      sendSignal: (data) => this.sendSignal(callId, data),
      tracks: () => this.devices.currentTracks(),
      attachMedia: (sink) => void this.devices.attach(sink),
      storage: this.storage,
      createHasher: this.createHasher,
      ...(this.fileWorker ? { fileWorker: this.fileWorker } : {}),
      log: scopedLog(this.log, 'call'),
    });
    this.link = link;
    this.callFiles.begin(link, callId, rejoin);
    this.chatRead = this.peerMessageCount();
    link.on('remote-stream', (stream) => {
      this.ringingRemoteStream = isAccepted(this.callState) ? null : stream;
      this.dispatch({ type: 'remote-stream', stream });
    });
    link.on('change', () => {
      this.callFiles.update(link, callId);
      this.publish();
    });
    link.on('bye', () => this.dispatch({ type: 'remote-ended', callId, reason: 'hangup' }));
    link.on('remote-media', (state) => this.dispatch({ type: 'remote-media', state }));
    link.on('remote-recording', (active) => this.dispatch({ type: 'remote-recording', active }));
    link.on('remote-quality', (body) => this.callQuality.remote(body));
    // Once per (re)opened data channel: a peer that reloaded starts from its defaults.
    link.on('synced', () => {
      this.sendMediaState(true);
      link.messenger.send({ kind: 'recording', active: this.recording });
      this.callQuality.resend();
    });
    link.on('state', (state) => {
      if (state === 'connected') {
        this.dispatch({ type: 'media-connected', at: Date.now() });
      } else if (state === 'interrupted') {
        this.dispatch({ type: 'media-interrupted' });
        // The path broke, perhaps with the network under us: the ICE restart needs the server now.
        void this.signaling.checkConnection();
      } else if (state === 'failed') {
        this.notify({
          kind: 'error',
          reason: 'connection_failed',
          message: 'The connection to the other person failed.',
        });
        this.dispatch({ type: 'media-failed' });
      }
    });
    this.watchVerification(link, caller);
    link.start(rejoin);
    this.saveMediaChoice();

    // Statistics follow whichever peer connection the call has now.
    this.sampler = new StatsSampler({
      getStats: () => link.session?.getStats() ?? Promise.resolve(new Map() as unknown as RTCStatsReport),
    });
    this.callQuality.begin();
    // The quality policy judges each sample and the senders follow (see client/call-quality.ts).
    this.sampler.on('sample', (sample) => {
      this.callQuality.sample(sample);
      this.publish();
    });
    this.sampler.start();

    const early = this.earlySignals;
    this.earlySignals = [];
    for (const data of early) {
      link.handleSignal(data);
    }
  }

  /** The call's short authentication string, derived anew for every running connection. */
  private watchVerification(link: CallLink, caller: boolean): void {
    const verification = new CallVerification(
      () => ('peer' in this.callState ? this.callState.peer.name : ''),
      this.knownPeers,
      scopedLog(this.log, 'verify'),
    );
    this.callVerification = verification;
    link.on('fingerprints', (fingerprints) => void verification.fingerprints(fingerprints, caller));
    verification.on('change', () => this.publish());
    verification.on('changed', () => {
      if ('peer' in this.callState) {
        this.notify({ kind: 'verification-changed', peerName: this.callState.peer.name });
      }
    });
  }

  /** A new peer connection's configuration: the ICE servers of now, and this browser's certificate. */
  private connectionConfiguration(): RTCConfiguration {
    const certificates = this.certificates();
    const configuration = this.ice.configuration();
    return certificates?.length ? { ...configuration, certificates } : configuration;
  }

  /**
   * To the peer, through the server. The peer's id can change during the call (restored on a
   * restarted server): always the current one. Held while we are the callee and the server does not
   * yet know we accepted.
   */
  private sendSignal(callId: string, data: SignalData): void {
    const call = this.callState;
    if (!('peer' in call) || call.callId !== callId) {
      return;
    }
    if (call.phase === 'incoming' || call.phase === 'answering') {
      this.heldSignals.push(data);
      return;
    }
    this.signaling.signal(callId, call.peer.id, data);
  }

  /** The server made the call active: what we held goes out, and the peer's stream shows. */
  private onSessionAccepted(callId: string): void {
    const held = this.heldSignals;
    this.heldSignals = [];
    for (const data of held) {
      this.sendSignal(callId, data);
    }
    this.link?.accepted();
    const stream = this.ringingRemoteStream;
    this.ringingRemoteStream = null;
    if (stream) {
      this.dispatch({ type: 'remote-stream', stream });
    }
  }

  private stopSession(endedBy: 'self' | 'remote' = 'remote'): void {
    this.sampler?.stop();
    this.sampler = null;
    const call = this.callState;
    this.callFiles.end(this.link, 'peer' in call ? { callId: call.callId, peerName: call.peer.name } : null);
    if (endedBy === 'self') {
      this.link?.hangUp();
    } else {
      this.link?.close(true);
    }
    this.link = null;
    this.callVerification?.dispose();
    this.callVerification = null;
    this.mediaChoice.forget();
    this.earlySignals = [];
    this.heldSignals = [];
    this.ringingRemoteStream = null;
    this.chatRead = 0;
    this.recording = false;
    void this.devices.attach(null);
  }

  private peerMessageCount(): number {
    return this.link?.chat.list.filter((m) => m.from === 'peer').length ?? 0;
  }

  /** The user's microphone/camera choice during this call survives a reload of the tab. */
  private saveMediaChoice(): void {
    const call = this.callState;
    if (!this.link || !('callId' in call)) {
      return;
    }
    this.mediaChoice.save(call.callId, this.devices.choices);
  }

  /** Start local media for a call; without a camera or permission the call still goes ahead. */
  private async prepareMedia(media: CallMedia): Promise<void> {
    // A data-only call never asks for a camera or microphone (a terminal peer has none).
    if (isDataOnly(media)) {
      return;
    }
    try {
      await this.devices.start({ audio: media.audio, video: media.video });
      // A preview may have started the camera already; an audio call sends none.
      if (!media.video && this.devices.state.camera) {
        await this.devices.setCameraEnabled(false);
      }
    } catch (error) {
      // Receive-only is better than no call; the UI shows why we send nothing.
      this.notifyError(error);
    }
  }

  /** Tell the peer our microphone/camera/screen state when it changed (or once per open channel). */
  private sendMediaState(force = false): void {
    const link = this.link;
    if (!link) {
      return;
    }
    const state = this.devices.mediaState();
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
      self: this.roomView.self,
      room: this.roomView.room,
      call: viewOfCall(this.callState, this.roomView.room, this.recording),
      local: this.devices.state,
      stats: this.sampler?.latest ?? null,
      statsHistory: this.sampler?.history ?? [],
      chat: this.link?.chat.list ?? [],
      unreadChat: Math.max(0, this.peerMessageCount() - this.chatRead),
      transfers: this.callFiles.transfers(this.link),
      dataChannelOpen: this.link?.messenger.connected ?? false,
      lastCallFiles: this.callFiles.lastCallFiles,
      verification: this.callVerification?.view ?? null,
      knocking: this.knocking,
      quality: this.callQuality.view,
    };
  }

  private notify(notice: Notice): void {
    this.emit('notice', notice);
  }

  private notifyError(error: unknown): void {
    if (error instanceof DuetError) {
      this.notify({ kind: 'error', reason: error.reason, message: error.message });
    } else {
      this.notify({
        kind: 'error',
        reason: 'unknown',
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

type LiveCall = Exclude<CallState, { phase: 'idle' } | { phase: 'ended' }>;

function isLive(call: CallState): call is LiveCall {
  return call.phase !== 'idle' && call.phase !== 'ended';
}

/** Whether the server has made the call active (its media may be running). */
function isAccepted(call: CallState): boolean {
  return call.phase === 'connecting' || call.phase === 'connected' || call.phase === 'reconnecting';
}
