import {
  CONTROL_CHANNEL,
  FILE_CHANNEL_LABEL,
  type BodyOf,
  type MediaState,
  type SignalData,
} from '@duet/protocol';
import { CallSession, type PeerConnectionFactory, type SessionState } from './call-session.js';
import { Chat } from '../data/chat.js';
import { Emitter } from '../emitter.js';
import { FileTransfers } from '../files/file-transfers.js';
import { randomBase64Url } from '../ids.js';
import { scopedLog } from '../logger.js';
import type { TrackSink } from '../media/media-types.js';
import { Messenger } from '../data/messenger.js';
import type { StorageLike } from '../signaling/signaling-client.js';
import { SavedCall } from './saved-call.js';
import type { ChannelProvider, Hasher } from '../files/transfer-types.js';
import type { FileWorker } from '../files/worker-channels.js';

export interface CallLinkOptions {
  callId: string;
  /** The caller starts every peer connection (epoch); the callee answers. */
  caller: boolean;
  polite: boolean;
  /**
   * The callee's link, made while the call rings: it applies the caller's offer as it comes but
   * answers only at `answer()` (the user accepted). See CallSession's `holdAnswer`.
   */
  ringing?: boolean;
  createPeerConnection: PeerConnectionFactory;
  /** A data-only call: its connections carry data channels and no media (see CallSession). */
  dataOnly?: boolean;
  /** Read at each new peer connection, so refreshed TURN credentials are used (see IceConfig). */
  configuration: () => RTCConfiguration;
  sendSignal: (data: SignalData) => void;
  /** The local tracks to send, and where later changes go. */
  tracks: () => { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  attachMedia: (sink: TrackSink | null) => void;
  /** Chat and messenger state survive a reload here (sessionStorage). */
  storage?: StorageLike;
  /** Streaming SHA-256 for file transfers (e.g. in a worker); default: on this thread. */
  createHasher?: () => Hasher;
  /** Where file bytes move off the main thread (see files/worker-channels.ts). */
  fileWorker?: FileWorker;
  log: (message: string, detail?: unknown) => void;
}

/**
 * The call's media path as a whole: the current connection's state, except that a connection that
 * closed is not news (the link builds the next one) and `failed` means no rebuild could help.
 */
export type LinkState = Exclude<SessionState, 'closed'>;

export interface CallLinkEvents extends Record<string, unknown> {
  state: LinkState;
  'remote-stream': MediaStream;
  /** Chat, transfers or the data path changed. */
  change: undefined;
  /** The peer said goodbye over the data channel (it hung up). */
  bye: undefined;
  /** The peer's microphone/camera/screen state, told over the data channel. */
  'remote-media': MediaState;
  /** The peer started or stopped recording the call, told over the data channel. */
  'remote-recording': boolean;
  /** How the peer's outgoing video is doing (its quality policy), told over the data channel. */
  'remote-quality': BodyOf<'quality'>;
  /** The data channel is (again) open and in sync: a peer that reloaded needs our state anew. */
  synced: undefined;
  /**
   * The running connection's certificate fingerprints, the caller's and the callee's: when a
   * connection comes up (the first, after an ICE restart, a rebuilt one) and after each completed
   * renegotiation while it is up. The call's short authentication string is derived from them.
   */
  fingerprints: { caller: string[]; callee: string[] };
}

/** New peer connections for one call before it is declared failed (each after ICE restarts gave up). */
const MAX_RECOVERIES = 3;
/** How long one recovery may take before the next is tried. */
const RECOVERY_TIMEOUT_MS = 20_000;
/** A reconnect request while our newest connection is this young and not yet up is already answered. */
const RECONNECT_DEBOUNCE_MS = 2000;
/**
 * The callee accepted but the caller's ring-time offer has not come (it was lost, or this side's
 * page reloaded while it rang): this long after the call became active, ask for a new one.
 */
const OFFER_WAIT_MS = 3000;

/** 16 characters, as the protocol's EpochSchema wants (1–32 base64url characters). */
const newEpoch = (): string => randomBase64Url(12);

/*
 * Why this module is ~420 lines: everything in it decides which peer connection of the call is the
 * current one (the first, made while the call rings and, on the callee, holding its answer; the ones
 * that replace it; the epochs to drop), and the messenger, the file channels and recovery all follow
 * that one decision. What does not read it lives elsewhere: persistence (saved-call.ts), the
 * connection itself (call-session.ts), chat and transfers (data/, files/).
 */

/**
 * One call's data and media path, for as long as the call lasts. It holds the current peer
 * connection (a CallSession) and replaces it when it dies for good: the caller starts a new epoch,
 * the callee asks for one, signals of retired epochs are dropped. Chat and file transfers live
 * above the connections, so they carry on (resend, resume) on the next one; chat and its
 * reliability state are also saved so they survive a page reload.
 */
export class CallLink extends Emitter<CallLinkEvents> {
  readonly messenger: Messenger;
  readonly chat: Chat;
  readonly transfers: FileTransfers;
  private current: CallSession | null = null;
  private readonly retired = new Set<string>();
  private readonly channelListeners = new Set<(channel: RTCDataChannel) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private recoveries = 0;
  private recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  private epochStartedAt = 0;
  /** Whether the current epoch's connection came up (from our side). */
  private epochConnected = false;
  private everConnected = false;
  /** Chat, delivery state and the restore key, kept across a reload. */
  private readonly saved: SavedCall;
  private closed = false;
  private key: string | null;
  /** The connection whose control channel the messenger uses, and whether it is the call's first. */
  private control: { session: CallSession; first: boolean } | null = null;
  /** The callee's answer waits for the user (see `ringing`). */
  private answerHeld: boolean;
  /** The caller's ring-time offer went to a page of ours that is gone (we reloaded while it rang). */
  private offerLost = false;
  private offerTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: CallLinkOptions) {
    super();
    this.answerHeld = (options.ringing ?? false) && !options.caller;
    this.saved = new SavedCall(options.callId, options.storage, () => ({
      messenger: this.messenger.state,
      chat: this.chat.state,
      key: this.key,
    }));
    const saved = this.saved.load();
    this.key = saved?.key ?? null;
    this.messenger = new Messenger(saved?.messenger);
    this.chat = new Chat(this.messenger, saved?.chat);
    this.transfers = new FileTransfers({
      link: this.messenger,
      channels: this.channelProvider(),
      createHasher: options.createHasher,
      ...(options.fileWorker ? { fileWorker: options.fileWorker } : {}),
      log: scopedLog(options.log, 'files'),
    });
    this.messenger.on('state', () => this.saved.scheduleSave());
    this.messenger.on('open', () => {
      if (this.options.caller && this.key === null) {
        this.shareKey();
      }
      this.emit('change', undefined);
      // A rebuilt connection: transfers resume from what the receiver holds.
      if (this.control?.first === false) {
        for (const listener of [...this.reconnectListeners]) {
          listener();
        }
      }
    });
    // The control channel closing under a live session means the peer's side is gone (it closed
    // or reloaded): recover instead of waiting ~30 s for ICE consent to expire. (The channel of a
    // connection we replaced closes too; that one is no news.)
    this.messenger.on('close', () => {
      const current = this.current;
      if (current && this.control?.session === current && !current.closed) {
        this.recover('control channel closed');
      }
    });
    // The UI's "data channel open" is the messenger's hello, not the channel's open event.
    this.messenger.on('sync', (synced) => {
      this.emit('change', undefined);
      if (synced) {
        this.emit('synced', undefined);
      }
    });
    this.chat.on('change', () => {
      this.saved.scheduleSave();
      this.emit('change', undefined);
    });
    this.transfers.on('change', () => this.emit('change', undefined));
    this.messenger.onBody((body) => {
      if (body.kind === 'bye') {
        this.emit('bye', undefined);
      }
      if (body.kind === 'media') {
        this.emit('remote-media', body.state);
      }
      if (body.kind === 'recording') {
        this.emit('remote-recording', body.active);
      }
      if (body.kind === 'quality') {
        this.emit('remote-quality', body);
      }
      if (body.kind === 'call-key' && !this.options.caller) {
        this.key = body.key;
        this.saved.scheduleSave();
      }
    });
  }

  /** The secret the two parties share to restore the call on a restarted server (null until exchanged). */
  get restoreKey(): string | null {
    return this.key;
  }

  /** The current peer connection (for stats and new ICE servers). */
  get session(): CallSession | null {
    return this.current;
  }

  /**
   * Begin. The caller opens the first peer connection (while the call rings, so its offer is there
   * when the callee accepts); the callee waits for that offer, or, when it comes back from a reload,
   * asks the caller for a new one: at once into a running call, once accepted into a ringing one.
   */
  start(rejoin: boolean): void {
    if (this.options.caller) {
      this.openEpoch(newEpoch());
      return;
    }
    this.openEpoch(null);
    if (!rejoin) {
      return;
    }
    if (this.answerHeld) {
      this.offerLost = true;
    } else {
      // Fresh: whatever the caller built while this page was away was relayed to nobody.
      this.options.sendSignal({ kind: 'reconnect', fresh: true });
    }
  }

  /** The callee's user accepted: answer the caller's offer now (or as soon as it comes). */
  answer(): void {
    if (!this.answerHeld) {
      return;
    }
    this.answerHeld = false;
    this.current?.answer();
  }

  /**
   * The server made the call active. A callee still without the caller's offer asks for one: at once
   * if it cannot come (this page reloaded while the call rang), after a short wait otherwise.
   */
  accepted(): void {
    if (this.options.caller || this.closed || this.current?.hasRemoteDescription) {
      return;
    }
    if (this.offerLost) {
      this.options.sendSignal({ kind: 'reconnect', fresh: true });
      return;
    }
    this.offerTimer = setTimeout(() => {
      if (!this.closed && !this.current?.hasRemoteDescription) {
        this.options.log('no offer came after the call was accepted; asking for one');
        this.options.sendSignal({ kind: 'reconnect' });
      }
    }, OFFER_WAIT_MS);
  }

  /** Route a signal from the peer to the peer connection of its epoch. */
  handleSignal(data: SignalData): void {
    if (this.closed) {
      return;
    }
    if (data.kind === 'reconnect') {
      const buildingOne = !this.epochConnected && Date.now() - this.epochStartedAt < RECONNECT_DEBOUNCE_MS;
      if (this.options.caller && (data.fresh === true || !buildingOne)) {
        this.options.log('the peer asked for a new connection');
        this.openEpoch(newEpoch());
      }
      return;
    }
    if (data.kind !== 'description' && data.kind !== 'candidate') {
      return;
    }
    const epoch = data.epoch ?? null;
    const session = this.current;
    if (epoch !== null && this.retired.has(epoch)) {
      return;
    }
    if (session && (epoch === null || session.epoch === null || session.epoch === epoch)) {
      void session.handleSignal(data);
      return;
    }
    // An epoch we have not seen: the caller rebuilt the connection. Follow it (only offers start one).
    if (!this.options.caller && data.kind === 'description' && data.description.type === 'offer') {
      this.openEpoch(epoch);
      void this.current?.handleSignal(data);
    }
  }

  /**
   * The server is reachable again after a lost connection. A call whose path is still broken
   * restarts ICE now: the offer of the restart made meanwhile may have gone into the dead connection
   * (a network change kills both at once), and waiting for its timeout costs seconds of silence.
   */
  signalingRestored(): void {
    if (this.current?.connectionState === 'interrupted') {
      this.options.log('the server is back while the connection is broken: restarting ICE');
      this.current.restartIce();
    }
  }

  /** Restart ICE on the running connection (new ICE credentials and candidates, the same DTLS transport). */
  restartIce(): void {
    this.current?.restartIce();
  }

  /** Simulate (or react to) a dead transport: close the peer connection and recover. For tests too. */
  dropConnection(): void {
    this.current?.close();
    this.recover('connection dropped');
  }

  /**
   * We hang up: tell the peer over the data channel too (the server may be gone), and close once that
   * has left, or after a short bound.
   */
  hangUp(): void {
    if (this.closed) {
      return;
    }
    if (!this.messenger.connected) {
      this.close(true);
      return;
    }
    this.messenger.send({ kind: 'bye' });
    void this.messenger.drain(500).then(() => this.close(true));
  }

  close(ended: boolean): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.recoveryTimer);
    clearTimeout(this.offerTimer);
    this.options.attachMedia(null);
    this.current?.close();
    this.current = null;
    this.transfers.dispose();
    this.chat.dispose();
    this.messenger.dispose();
    if (ended) {
      this.saved.discard();
    } else {
      this.saved.saveNow();
    }
    this.removeAllListeners();
  }

  private openEpoch(epoch: string | null): void {
    const previous = this.current;
    if (previous?.epoch) {
      this.retired.add(previous.epoch);
    }
    previous?.close();
    this.epochStartedAt = Date.now();
    this.epochConnected = false;
    const session = new CallSession({
      polite: this.options.polite,
      initiator: this.options.caller,
      epoch,
      holdAnswer: this.answerHeld,
      dataOnly: this.options.dataOnly ?? false,
      createPeerConnection: this.options.createPeerConnection,
      configuration: this.options.configuration(),
      dataChannels: [{ label: CONTROL_CHANNEL.label, id: CONTROL_CHANNEL.id, init: { ordered: true } }],
      sendSignal: this.options.sendSignal,
      log: scopedLog(this.options.log, `connection ${epoch ?? 'new'}`),
    });
    this.current = session;
    const isFirst = previous === null;
    session.on('remote-stream', (stream) => this.emit('remote-stream', stream));
    session.on('state', (state) => this.onSessionState(session, state));
    session.on('negotiated', () => {
      if (session === this.current && this.epochConnected) {
        this.emitFingerprints(session);
      }
    });
    session.on('data-channel', (channel) => {
      if (channel.label !== CONTROL_CHANNEL.label || session !== this.current) {
        return;
      }
      this.control = { session, first: isFirst };
      this.messenger.attach(channel);
    });
    session.on('remote-channel', (channel) => {
      if (channel.label !== FILE_CHANNEL_LABEL) {
        return;
      }
      for (const listener of [...this.channelListeners]) {
        listener(channel);
      }
    });
    session.start(this.options.tracks());
    this.options.attachMedia(session);
  }

  /** The caller makes the call's restore key and gives it to the callee, peer to peer. */
  private shareKey(): void {
    this.key = randomBase64Url(24);
    this.messenger.send({ kind: 'call-key', key: this.key });
    this.saved.scheduleSave();
  }

  private onSessionState(session: CallSession, state: SessionState): void {
    if (session !== this.current) {
      return;
    }
    if (state === 'connected') {
      this.recoveries = 0;
      this.everConnected = true;
      this.epochConnected = true;
      clearTimeout(this.recoveryTimer);
      this.emit('state', 'connected');
      this.emitFingerprints(session);
    } else if (state === 'interrupted') {
      this.emit('state', 'interrupted');
    } else if (state === 'failed') {
      this.recover('ICE restarts did not help');
    }
  }

  private emitFingerprints(session: CallSession): void {
    const fingerprints = session.certificateFingerprints();
    if (!fingerprints) {
      return;
    }
    const { local, remote } = fingerprints;
    this.emit(
      'fingerprints',
      this.options.caller ? { caller: local, callee: remote } : { caller: remote, callee: local },
    );
  }

  /** The current connection is gone for good: build a new one, a bounded number of times. */
  private recover(why: string): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.recoveryTimer);
    if (++this.recoveries > MAX_RECOVERIES) {
      this.options.log(`giving up after ${MAX_RECOVERIES} new connections`);
      this.emit('state', 'failed');
      return;
    }
    this.options.log(`rebuilding the connection (${why}), attempt ${this.recoveries}`);
    this.emit('state', this.everConnected ? 'interrupted' : 'connecting');
    if (this.options.caller) {
      this.openEpoch(newEpoch());
    } else {
      // Keep a fresh session ready for the caller's next offer, and ask for it.
      this.openEpoch(null);
      this.options.sendSignal({ kind: 'reconnect' });
    }
    this.recoveryTimer = setTimeout(
      () => this.recover('the new connection did not come up'),
      RECOVERY_TIMEOUT_MS,
    );
  }

  private channelProvider(): ChannelProvider {
    return {
      open: (label) => (this.current && !this.current.closed ? this.current.openChannel(label) : null),
      onChannel: (listener) => {
        this.channelListeners.add(listener);
        return () => this.channelListeners.delete(listener);
      },
      onReconnected: (listener) => {
        this.reconnectListeners.add(listener);
        return () => this.reconnectListeners.delete(listener);
      },
      maxMessageSize: () => this.current?.maxMessageSize() ?? 65_536,
    };
  }

  /** Save chat and delivery state now (the page is going away). */
  persist(): void {
    this.saved.saveNow();
  }
}
