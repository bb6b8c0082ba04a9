import type { SignalData } from '@duet/protocol';
import { Emitter } from '../emitter.js';
import type { TrackSink } from '../media/media-types.js';
import type { SenderSettings } from '../media/quality-policy.js';
import { SenderTuning } from '../media/sender-tuning.js';
import { parseFingerprints } from '../verify/fingerprints.js';

/*
 * Why this module is ~630 lines: it owns one RTCPeerConnection for its whole life, and the parts of
 * that life (perfect negotiation, candidates held until a description exists, ICE restarts, the
 * scaled-down first frames, negotiated channels) all read and write the same signaling state; split
 * apart they would race each other. Nobody else touches the connection (see setIceServers,
 * maxMessageSize, getStats).
 */

export type PeerConnectionFactory = (configuration: RTCConfiguration) => RTCPeerConnection;

/** What the session reports about the media path. */
export type SessionState = 'connecting' | 'connected' | 'interrupted' | 'failed' | 'closed';

export interface CallSessionOptions {
  /** Perfect negotiation: the polite peer (the callee) yields when both offer at once. */
  polite: boolean;
  /** The caller creates the transceivers and the first offer; the callee answers onto them. */
  initiator: boolean;
  createPeerConnection: PeerConnectionFactory;
  configuration: RTCConfiguration;
  /**
   * Data channels negotiated out of band (same id on both sides, no extra round trip). The caller
   * creates them with its first offer; the callee only once that offer is applied, so the callee
   * never starts a negotiation of its own (which would race the caller's offer).
   */
  dataChannels?: ReadonlyArray<{ label: string; id: number; init?: RTCDataChannelInit }>;
  /**
   * Which peer connection of the call this is. The caller names each new one; the callee takes the
   * name from the first offer. Every description and candidate carries it.
   */
  epoch?: string | null;
  /**
   * The callee's connection made while the call rings: the caller's offer and candidates are applied
   * as they come, but the answer (and with it every candidate of ours) waits for `answer()`, so
   * nothing of this side reaches the caller before its user accepts.
   */
  holdAnswer?: boolean;
  /**
   * A data-only call: no audio or video transceivers, only the data channels. Also what lets the
   * core run on a WebRTC stack without media (node-datachannel in the terminal peer).
   */
  dataOnly?: boolean;
  /** Deliver a description or candidate to the peer (through the signaling server). */
  sendSignal: (data: SignalData) => void;
  /** How long `disconnected` may last before an ICE restart (it often heals by itself). */
  disconnectedGraceMs?: number;
  /** How long one ICE restart may take before the next. */
  restartTimeoutMs?: number;
  /** ICE restarts before the call is declared failed. */
  maxIceRestarts?: number;
  log?: (message: string, detail?: unknown) => void;
}

export interface CallSessionEvents extends Record<string, unknown> {
  state: SessionState;
  /** A negotiated data channel was created (see `dataChannels`); it opens once connected. */
  'data-channel': RTCDataChannel;
  /** The peer opened a data channel (file transfers). */
  'remote-channel': RTCDataChannel;
  /** The remote stream gained a track (the same MediaStream object every time). */
  'remote-stream': MediaStream;
  'ice-restart': number;
  /** An offer/answer exchange completed (signaling is stable again): the descriptions may have changed. */
  negotiated: undefined;
}

/**
 * libwebrtc starts every video stream on a 300 kbps bandwidth estimate, and while the estimate is
 * below 500 kbps it drops any frame larger than 640x480 (up to four of them, asking the source for a
 * lower resolution after each) before it encodes one: ~130 ms of nothing at 30 fps from a 720p
 * camera, on top of the larger frame's longer encode. So the first frames go out scaled down to at
 * most this many pixels, and full resolution follows once the estimate had time to grow.
 */
const START_MAX_PIXELS = 640 * 480;
/** After `connected`: long enough for the bandwidth probes at the start of a call to raise it. */
const FULL_RESOLUTION_AFTER_MS = 2000;

const DEFAULTS = {
  disconnectedGraceMs: 3000,
  restartTimeoutMs: 10_000,
  maxIceRestarts: 3,
  dataChannels: [],
  epoch: null,
  holdAnswer: false,
  dataOnly: false,
};

/**
 * One call's RTCPeerConnection. Negotiation follows the W3C "perfect negotiation" pattern (the same
 * code runs on both sides; glare resolves by politeness), signals are handled strictly one at a
 * time, remote candidates wait until a remote description exists, and a failed or long-disconnected
 * connection is restarted with `restartIce()` a bounded number of times.
 *
 * The session also implements the media controller's TrackSink: `replaceTrack` swaps what a sender
 * sends without renegotiation (mute, camera off, device switch, screen share).
 */
export class CallSession extends Emitter<CallSessionEvents> implements TrackSink {
  /** Ours alone: everyone else goes through the methods below, so no layer races this one's negotiation. */
  private readonly pc: RTCPeerConnection;
  private readonly options: Required<Omit<CallSessionOptions, 'log'>> & Pick<CallSessionOptions, 'log'>;
  private readonly channels = new Map<string, RTCDataChannel>();
  private readonly remoteStream: MediaStream | null;
  private readonly pendingTracks = new Map<'audio' | 'video', MediaStreamTrack | null>();
  /** The only writer of the senders' parameters (the start scale and the quality policy's step). */
  private readonly tuning: SenderTuning;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private signalQueue: Promise<void> = Promise.resolve();
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private transceiversReady = false;
  private restarts = 0;
  /** The video goes out scaled down until the bandwidth estimate had time to grow (see above). */
  private startScaled = false;
  /** The first local description went out without a camera (it opens after Accept): scale it when it comes. */
  private scaleWhenCameraComes = false;
  private fullResolutionTimer: ReturnType<typeof setTimeout> | undefined;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private state: SessionState = 'connecting';
  private currentEpoch: string | null;
  /** See `holdAnswer`: true until `answer()`. */
  private answerHeld: boolean;
  /** An offer applied while the answer was held; it is answered by `answer()`. */
  private heldOffer = false;

  constructor(options: CallSessionOptions) {
    super();
    this.options = { ...DEFAULTS, ...options };
    this.pc = options.createPeerConnection(options.configuration);
    this.currentEpoch = options.epoch ?? null;
    this.answerHeld = this.options.holdAnswer && !this.options.initiator;
    // Until our tracks are on the transceivers (the callee: once the offer made them) there is
    // nothing of ours to tune.
    const sender = (kind: 'audio' | 'video') =>
      this.transceiversReady && this.state !== 'closed' ? this.transceiverFor(kind)?.sender : undefined;
    this.tuning = new SenderTuning(
      { audio: () => sender('audio'), video: () => sender('video') },
      (message, detail) => this.log(message, detail),
    );
    // Build our own remote stream from tracks: `event.streams` depends on the sender's msid, which
    // not every browser sets when tracks are swapped in with replaceTrack.
    this.remoteStream = typeof MediaStream === 'undefined' ? null : new MediaStream();
    this.pc.addEventListener('negotiationneeded', this.onNegotiationNeeded);
    this.pc.addEventListener('icecandidate', this.onIceCandidate);
    this.pc.addEventListener('track', this.onTrack);
    this.pc.addEventListener('connectionstatechange', this.onConnectionStateChange);
    this.pc.addEventListener('datachannel', this.onDataChannel);
    this.pc.addEventListener('signalingstatechange', this.onSignalingStateChange);
  }

  /** The peer connection's epoch (null on the callee until the first offer names it). */
  get epoch(): string | null {
    return this.currentEpoch;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * New ICE servers (refreshed TURN credentials) for the candidates gathered from now on, e.g. by the
   * next ICE restart of a long call.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    if (this.state === 'closed') {
      return;
    }
    this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
  }

  /** The largest message the peer takes on a data channel (SCTP's answer; 64 KiB until it is known). */
  maxMessageSize(): number {
    return this.pc.sctp?.maxMessageSize ?? 65_536;
  }

  /** A new ordered, reliable data channel negotiated in band (e.g. one per file transfer). */
  openChannel(label: string, init: RTCDataChannelInit = {}): RTCDataChannel | null {
    if (this.state === 'closed') {
      return null;
    }
    return this.pc.createDataChannel(label, { ordered: true, ...init });
  }

  /**
   * Start sending. The initiator creates one audio and one video transceiver (sendrecv even with no
   * track, so a camera can be added later without renegotiation) and the negotiation begins; the
   * other side keeps the tracks until the offer has created its transceivers.
   */
  start(tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null }): void {
    this.pendingTracks.set('audio', tracks.audio);
    this.pendingTracks.set('video', tracks.video);
    if (this.options.initiator) {
      const kinds = this.options.dataOnly ? [] : (['audio', 'video'] as const);
      for (const kind of kinds) {
        this.pc.addTransceiver(tracks[kind] ?? kind, { direction: 'sendrecv' });
      }
      this.transceiversReady = true;
      this.createDataChannels();
      // Offer now rather than on `negotiationneeded`: that event is a task of its own, and in an app
      // whatever runs before it (rendering the call screen) would delay the offer by as much.
      void this.makeOffer();
    }
  }

  /**
   * The user accepted: answer the offer applied while the call rang (or the next one, as usual).
   * From here on this side sends its description and candidates like any other.
   */
  answer(): void {
    if (!this.answerHeld) {
      return;
    }
    this.answerHeld = false;
    if (!this.heldOffer) {
      return;
    }
    this.heldOffer = false;
    const run = this.signalQueue.then(() => this.sendAnswer(true));
    this.signalQueue = run.catch((error: unknown) => this.log('answer failed', error));
  }

  /** Whether the peer's description has been applied (on the callee: whether its offer came). */
  get hasRemoteDescription(): boolean {
    return this.pc.remoteDescription !== null;
  }

  /**
   * The DTLS certificate fingerprints of the descriptions in force, ours and the peer's (null until
   * both exist). What the call's short authentication string is derived from (verify/sas.ts).
   */
  certificateFingerprints(): { local: string[]; remote: string[] } | null {
    // The negotiated descriptions, not a pending offer; Node implementations may lack `current*`.
    const local = this.pc.currentLocalDescription ?? this.pc.localDescription;
    const remote = this.pc.currentRemoteDescription ?? this.pc.remoteDescription;
    if (!local?.sdp || !remote?.sdp) {
      return null;
    }
    return { local: parseFingerprints(local.sdp), remote: parseFingerprints(remote.sdp) };
  }

  /** A negotiated data channel by label, once created. */
  channel(label: string): RTCDataChannel | undefined {
    return this.channels.get(label);
  }

  /** Handle a description or candidate from the peer, strictly after the ones before it. */
  handleSignal(data: SignalData): Promise<void> {
    const run = this.signalQueue.then(() => this.applySignal(data));
    this.signalQueue = run.catch((error: unknown) => this.log('signal failed', error));
    return run;
  }

  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    this.pendingTracks.set(kind, track);
    const transceiver = this.transceiverFor(kind);
    // Already sending it: a new session gets its tracks at start() and then again from the media
    // controller's attach(); the second time is no work.
    if (this.transceiversReady && transceiver?.sender.track === track) {
      return;
    }
    // Another source (a shared screen, another camera) goes out as it is from the start.
    if (kind === 'video' && track !== transceiver?.sender.track) {
      await this.fullResolution();
    }
    if (transceiver && this.transceiversReady) {
      await transceiver.sender.replaceTrack(track);
      if (kind === 'video' && track && this.scaleWhenCameraComes) {
        this.scaleWhenCameraComes = false;
        await this.scaleDownStart();
        this.scheduleFullResolution();
      } else if (kind === 'video' && track) {
        // Another source height: the quality step's scale follows it.
        await this.tuning.refresh();
      }
    }
  }

  /** Where the connection is: connecting, connected, interrupted (ICE is recovering), failed, closed. */
  get connectionState(): SessionState {
    return this.state;
  }

  /**
   * The quality policy's settings for our senders (media/quality-policy.ts); null: the browser's
   * own. Applied now and kept for the rest of this connection (also after a track change).
   */
  setQuality(settings: SenderSettings | null): Promise<boolean> {
    return this.tuning.setTarget(settings);
  }

  /** What our senders are set to now (`getParameters()`), for diagnostics and tests. */
  senderParameters(): { audio: RTCRtpSendParameters | null; video: RTCRtpSendParameters | null } {
    const parameters = (kind: 'audio' | 'video') => this.transceiverFor(kind)?.sender.getParameters() ?? null;
    return { audio: parameters('audio'), video: parameters('video') };
  }

  /** Restart ICE now (new credentials, new candidates). Negotiation follows by itself. */
  restartIce(): void {
    if (this.state === 'closed') {
      return;
    }
    this.restarts++;
    this.log(`ICE restart ${this.restarts}/${this.options.maxIceRestarts}`);
    this.emit('ice-restart', this.restarts);
    this.pc.restartIce();
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.onRestartTimeout(), this.options.restartTimeoutMs);
  }

  getStats(): Promise<RTCStatsReport> {
    return this.pc.getStats();
  }

  /** Stop everything: no event is emitted afterwards. Local tracks belong to the media controller. */
  close(): void {
    if (this.state === 'closed') {
      return;
    }
    this.state = 'closed';
    this.tuning.close();
    clearTimeout(this.disconnectedTimer);
    clearTimeout(this.fullResolutionTimer);
    clearTimeout(this.restartTimer);
    this.pc.removeEventListener('negotiationneeded', this.onNegotiationNeeded);
    this.pc.removeEventListener('icecandidate', this.onIceCandidate);
    this.pc.removeEventListener('track', this.onTrack);
    this.pc.removeEventListener('connectionstatechange', this.onConnectionStateChange);
    this.pc.removeEventListener('datachannel', this.onDataChannel);
    this.pc.removeEventListener('signalingstatechange', this.onSignalingStateChange);
    this.pc.close();
    for (const track of this.remoteStream?.getTracks() ?? []) {
      track.stop();
    }
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------
  // Perfect negotiation
  // ---------------------------------------------------------------------------------------------

  private readonly onNegotiationNeeded = (): void => {
    // The offer in flight covers it (start() offers without waiting for this event); whatever it
    // missed, the browser asks for again once the answer brings us back to stable.
    if (this.makingOffer) {
      return;
    }
    void this.makeOffer();
  };

  private async makeOffer(): Promise<void> {
    if (this.state === 'closed') {
      return;
    }
    const first = this.pc.localDescription === null;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendDescription();
      if (first) {
        void this.scaleDownStart();
      }
    } catch (error) {
      this.log('offer failed', error);
    } finally {
      this.makingOffer = false;
    }
  }

  private async applySignal(data: SignalData): Promise<void> {
    if (this.state === 'closed') {
      return;
    }
    if (
      (data.kind === 'description' || data.kind === 'candidate') &&
      data.epoch &&
      this.currentEpoch === null
    ) {
      this.currentEpoch = data.epoch;
    }
    if (data.kind === 'description') {
      const description = data.description;
      // An offer collides if we are making one or are not stable (unless only our answer is pending).
      const readyForOffer =
        !this.makingOffer && (this.pc.signalingState === 'stable' || this.settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.options.polite && collision;
      if (this.ignoreOffer) {
        this.log('ignoring a colliding offer (impolite side)');
        return;
      }
      this.settingRemoteAnswer = description.type === 'answer';
      try {
        // A polite peer with an offer of its own in flight rolls it back implicitly here.
        await this.pc.setRemoteDescription(description);
      } finally {
        this.settingRemoteAnswer = false;
      }
      await this.flushCandidates();
      if (description.type === 'offer') {
        const adopting = !this.transceiversReady;
        await this.adoptOfferedTransceivers();
        if (this.answerHeld) {
          this.heldOffer = true;
          this.log('offer applied; the answer waits for the user to accept');
          return;
        }
        await this.sendAnswer(adopting);
      }
    } else if (data.kind === 'candidate') {
      if (data.candidate === null) {
        return;
      } // end of candidates: nothing to do with trickle ICE
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(data.candidate);
        return;
      }
      await this.addCandidate(data.candidate);
    }
  }

  private async sendAnswer(first: boolean): Promise<void> {
    if (this.state === 'closed') {
      return;
    }
    await this.pc.setLocalDescription();
    this.sendDescription();
    // Settled long before the connection is up and the first frame is encoded; the candidates
    // queued behind this signal need not wait for it.
    if (first) {
      void this.scaleDownStart();
    }
  }

  /** The callee's first offer created the transceivers; put our tracks on them and send too. */
  private async adoptOfferedTransceivers(): Promise<void> {
    if (this.transceiversReady) {
      return;
    }
    this.transceiversReady = true;
    this.createDataChannels();
    const replaced: Array<Promise<void>> = [];
    for (const kind of ['audio', 'video'] as const) {
      const transceiver = this.transceiverFor(kind);
      if (!transceiver) {
        continue;
      }
      transceiver.direction = 'sendrecv';
      replaced.push(transceiver.sender.replaceTrack(this.pendingTracks.get(kind) ?? null));
    }
    // Both at once: each is a round trip to the WebRTC thread, and the answer waits for them.
    await Promise.all(replaced);
  }

  /**
   * START_MAX_PIXELS, after the first local description on either side. (Not `sendEncodings` in
   * the caller's addTransceiver: measured, Chromium still dropped the first frames with it.)
   */
  private async scaleDownStart(): Promise<void> {
    const sender = this.transceiverFor('video')?.sender;
    if (sender && !sender.track) {
      this.scaleWhenCameraComes = true;
      return;
    }
    const scale = startScale(sender?.track ?? null);
    if (!sender || scale === 1) {
      return;
    }
    this.startScaled = await this.tuning.setStartScale(scale);
    // The connection may have come up while the scale was being written (the writes queue behind
    // the quality policy's): then its `connected` found nothing to undo, so schedule it here.
    this.scheduleFullResolution();
  }

  /** Full resolution a while after the connection is up (and the scaled start went out). */
  private scheduleFullResolution(): void {
    if (
      this.startScaled &&
      this.fullResolutionTimer === undefined &&
      this.pc.connectionState === 'connected'
    ) {
      this.fullResolutionTimer = setTimeout(() => void this.fullResolution(), FULL_RESOLUTION_AFTER_MS);
    }
  }

  /** Let the video go out at the resolution of its source (the end of START_MAX_PIXELS). */
  private async fullResolution(): Promise<void> {
    clearTimeout(this.fullResolutionTimer);
    if (!this.startScaled) {
      return;
    }
    this.startScaled = false;
    if (this.state !== 'closed') {
      await this.tuning.setStartScale(1);
    }
  }

  private createDataChannels(): void {
    for (const { label, id, init } of this.options.dataChannels) {
      if (this.channels.has(label)) {
        continue;
      }
      const channel = this.pc.createDataChannel(label, { ...init, negotiated: true, id });
      this.channels.set(label, channel);
      this.emit('data-channel', channel);
    }
  }

  private async flushCandidates(): Promise<void> {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of queued) {
      await this.addCandidate(candidate);
    }
  }

  private async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored fail to apply; that is expected.
      if (!this.ignoreOffer) {
        this.log('could not add a remote candidate', error);
      }
    }
  }

  private sendDescription(): void {
    const local = this.pc.localDescription;
    if (!local || (local.type !== 'offer' && local.type !== 'answer')) {
      return;
    }
    this.options.sendSignal({
      kind: 'description',
      description: { type: local.type, sdp: local.sdp },
      ...this.epochField(),
    });
  }

  private readonly onIceCandidate = (event: RTCPeerConnectionIceEvent): void => {
    const candidate = event.candidate;
    if (!candidate) {
      this.options.sendSignal({ kind: 'candidate', candidate: null, ...this.epochField() });
      return;
    }
    // An empty candidate string is the legacy end-of-candidates marker of the same generation.
    if (candidate.candidate === '') {
      return;
    }
    this.options.sendSignal({
      kind: 'candidate',
      candidate: {
        candidate: candidate.candidate,
        sdpMid: candidate.sdpMid,
        sdpMLineIndex: candidate.sdpMLineIndex,
        usernameFragment: candidate.usernameFragment,
      },
      ...this.epochField(),
    });
  };

  private epochField(): { epoch?: string } {
    return this.currentEpoch === null ? {} : { epoch: this.currentEpoch };
  }

  private readonly onSignalingStateChange = (): void => {
    if (this.pc.signalingState === 'stable') {
      this.emit('negotiated', undefined);
    }
  };

  private readonly onDataChannel = (event: RTCDataChannelEvent): void => {
    this.emit('remote-channel', event.channel);
  };

  private readonly onTrack = (event: RTCTrackEvent): void => {
    if (!this.remoteStream) {
      return;
    }
    if (!this.remoteStream.getTracks().includes(event.track)) {
      this.remoteStream.addTrack(event.track);
    }
    this.emit('remote-stream', this.remoteStream);
  };

  // ---------------------------------------------------------------------------------------------
  // Connection health and ICE restart
  // ---------------------------------------------------------------------------------------------

  private readonly onConnectionStateChange = (): void => {
    const connectionState = this.pc.connectionState;
    this.log(`connection ${connectionState}`);
    clearTimeout(this.disconnectedTimer);
    switch (connectionState) {
      case 'connected':
        this.restarts = 0;
        clearTimeout(this.restartTimer);
        this.scheduleFullResolution();
        this.setState('connected');
        break;
      case 'disconnected':
        // Often a brief loss that ICE heals on its own (e.g. Wi-Fi roaming); restart only if it lasts.
        this.setState('interrupted');
        this.disconnectedTimer = setTimeout(() => {
          if (this.pc.connectionState === 'disconnected') {
            this.tryRestart();
          }
        }, this.options.disconnectedGraceMs);
        break;
      case 'failed':
        this.setState('interrupted');
        this.tryRestart();
        break;
      default:
        break;
    }
  };

  private tryRestart(): void {
    if (this.restarts >= this.options.maxIceRestarts) {
      this.setState('failed');
      return;
    }
    // Both sides notice the failure; the impolite side restarts at once, the polite side waits one
    // timeout for that offer and restarts itself only if it did not come (e.g. the peer's tab froze).
    if (!this.options.polite) {
      this.restartIce();
      return;
    }
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.pc.connectionState === 'failed' || this.pc.connectionState === 'disconnected') {
        this.restartIce();
      }
    }, this.options.restartTimeoutMs / 2);
  }

  private onRestartTimeout(): void {
    if (this.state === 'closed' || this.pc.connectionState === 'connected') {
      return;
    }
    this.tryRestart();
  }

  private setState(state: SessionState): void {
    if (this.state === state || this.state === 'closed') {
      return;
    }
    this.state = state;
    this.emit('state', state);
  }

  private transceiverFor(kind: 'audio' | 'video'): RTCRtpTransceiver | undefined {
    // The first transceiver of each kind carries the call; `receiver.track.kind` is set on both sides.
    return this.pc
      .getTransceivers()
      .find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
  }

  private log(message: string, detail?: unknown): void {
    this.options.log?.(message, detail);
  }
}

/** How much to scale a camera down for the first frames of a stream (1: not at all). See START_MAX_PIXELS. */
function startScale(track: MediaStreamTrack | null): number {
  if (track?.kind !== 'video' || typeof track.getSettings !== 'function') {
    return 1;
  }
  const { width = 0, height = 0 } = track.getSettings();
  const pixels = width * height;
  return pixels > START_MAX_PIXELS ? Math.ceil(Math.sqrt(pixels / START_MAX_PIXELS)) : 1;
}
