import type { MediaErrorReason } from '../errors.js';

/** The subset of `navigator.mediaDevices` the core uses; injected so Node tests can use a fake. */
export interface MediaDevicesLike {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  getDisplayMedia?(options?: DisplayMediaStreamOptions): Promise<MediaStream>;
  enumerateDevices(): Promise<MediaDeviceInfo[]>;
  addEventListener(type: 'devicechange', listener: () => void): void;
  removeEventListener(type: 'devicechange', listener: () => void): void;
}

/**
 * Where the media controller puts its outgoing tracks: the call's RTP senders. `null` stops sending
 * that kind (camera off). Implemented by `CallSession`; absent before and between calls.
 */
export interface TrackSink {
  replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void>;
}

export interface DeviceOption {
  deviceId: string;
  /** Empty until the user granted access once (browsers hide labels before that). */
  label: string;
}

/** What the UI shows about local media. A fresh object on every change (safe for shallow refs). */
export interface LocalMediaState {
  /** What the local preview shows: camera (or screen while sharing) and microphone. */
  stream: MediaStream | null;
  /** Microphone unmuted. */
  microphone: boolean;
  /** Camera on (and sending). */
  camera: boolean;
  /** Screen being shared instead of the camera. */
  screen: boolean;
  hasMicrophone: boolean;
  hasCamera: boolean;
  microphones: DeviceOption[];
  cameras: DeviceOption[];
  microphoneId: string | null;
  cameraId: string | null;
  /** The last media failure, until the next successful action. */
  error: MediaErrorReason | null;
}

/** Connection statistics for the UI, derived from `getStats()` once a second. */
export interface StatsSummary {
  /** ms since epoch of the sample. */
  at: number;
  bitrateInKbps: number;
  bitrateOutKbps: number;
  rttMs: number | null;
  /** Inbound packets lost / expected over the last interval, in percent. */
  packetLossPercent: number | null;
  jitterMs: number | null;
  /** Inbound video. */
  framesPerSecond: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
  framesDecoded: number | null;
  /** Inbound audio level 0..1 (≈0 while the peer is muted). */
  audioLevel: number | null;
  audioPacketsReceived: number | null;
  /** The selected candidate pair: direct (host/srflx/prflx) or relayed through TURN. */
  path: 'direct' | 'relay' | null;
  localCandidateType: 'host' | 'srflx' | 'prflx' | 'relay' | null;
  remoteCandidateType: 'host' | 'srflx' | 'prflx' | 'relay' | null;
  quality: 'good' | 'fair' | 'poor' | 'unknown';
  /** What we send: the inputs of the quality policy (media/quality-policy.ts). */
  sending: SendingStats;
}

/** Why the browser's encoder sends less than asked (`qualityLimitationReason`). */
export type LimitationReason = 'none' | 'bandwidth' | 'cpu' | 'other';

/** The outgoing side of a stats sample. Null where the browser does not say. */
export interface SendingStats {
  /** The congestion controller's estimate of what the path carries (`availableOutgoingBitrate`). */
  availableKbps: number | null;
  /** Loss of our packets as the peer reports it (RTCP `fractionLost`), video's where there is video. */
  lossPercent: number | null;
  /** Payload bitrate of our video; 0 while the camera is off. */
  videoKbps: number;
  frameWidth: number | null;
  frameHeight: number | null;
  framesPerSecond: number | null;
  limitation: LimitationReason | null;
}
