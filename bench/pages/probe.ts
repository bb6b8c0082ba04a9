/*
 * The benchmarks' probe: injected into every page (Duet's app and the baseline pages alike) before
 * any of the page's own scripts run, so all three systems are timed by the same code.
 *
 * It records named marks on one clock shared by every page of the machine (performance.timeOrigin +
 * performance.now(), in ms since the epoch): the callee's click on "Accept", getUserMedia, each
 * RTCPeerConnection's negotiation and connection milestones, data channels opening, and the first
 * decoded remote video frame (requestVideoFrameCallback on `video[data-testid="remote-video"]`).
 * Marks are "first occurrence" per name. It also builds the test file for transfers.
 *
 * Runs as a classic script (see transpileToScript): it imports only its sibling test-bytes.ts, which
 * is inlined, and types, which vanish.
 * `window.__duet` (the app's DuetClient) is declared once for the e2e tests and benchmarks, in
 * e2e/duet-hook.d.ts.
 */
import type { ClientSnapshot } from '@duet/rtc';
import { testBytes } from './test-bytes.js';

interface Mark {
  name: string;
  at: number;
}

/** Something that happened at a time: a WebSocket frame, a long task. */
interface BenchEvent {
  at: number;
  kind: 'ws-in' | 'ws-out' | 'longtask';
  /** ms, for long tasks. */
  duration?: number;
  /** The frame's first characters, for WebSocket frames. */
  text?: string;
}

interface BenchApi {
  now(): number;
  mark(name: string): void;
  has(name: string): boolean;
  marks(): Mark[];
  /** WebSocket frames (signaling) and main-thread long tasks (≥ 50 ms), in order. */
  events(): BenchEvent[];
  /** Build the deterministic test file (`size` bytes from a seeded xorshift) and keep it as `blob`. */
  prepareBlob(size: number, seed: number): Promise<string>;
  blob: Blob | null;
  sha256(blob: Blob): Promise<string>;
  /** Mark Duet's own milestones from `window.__duet` (call once the app has loaded). */
  watchDuet(): void;
  /**
   * Forget every mark and event, and watch the remote videos on screen again: the next call of a
   * long-lived page is timed like the first (the soak), and what the probe holds stays bounded.
   */
  reset(): void;
  /** Video counters summed over the page's open peer connections (the same for every system). */
  videoStats(): Promise<VideoStats>;
}

/** Cumulative video counters of a page's open peer connections, and the current frame sizes. */
interface VideoStats {
  framesEncoded: number;
  framesDecoded: number;
  /** ms spent encoding / decoding (the stats' totalEncodeTime / totalDecodeTime). */
  encodeMs: number;
  decodeMs: number;
  videoBytesSent: number;
  sentWidth: number;
  sentHeight: number;
  receivedWidth: number;
  receivedHeight: number;
  /** Why the encoder sends less than its source (`cpu`, `bandwidth`, `none`, `other`). */
  qualityLimitation: string;
}

declare global {
  interface Window {
    __bench: BenchApi;
  }
}

// Code the harness passes to page.evaluate is compiled by tsx, which wraps named functions in
// `__name(fn, "name")`; give pages that helper so such code runs as written.
(globalThis as unknown as { __name?: unknown }).__name ??= <T>(fn: T): T => fn;

const marks: Mark[] = [];
const seen = new Set<string>();
const now = (): number => performance.timeOrigin + performance.now();

function mark(name: string, at = now()): void {
  if (seen.has(name)) {
    return;
  }
  seen.add(name);
  marks.push({ name, at });
}

// ---------------------------------------------------------------------------------------------
// Signaling frames and long tasks: where the time between milestones goes
// ---------------------------------------------------------------------------------------------

const MAX_EVENTS = 5000;
const events: BenchEvent[] = [];

function record(event: BenchEvent): void {
  if (events.length < MAX_EVENTS) {
    events.push(event);
  }
}

function preview(data: unknown): string {
  if (typeof data === 'string') {
    return data.slice(0, 100);
  }
  if (data instanceof ArrayBuffer) {
    return `<${data.byteLength} bytes>`;
  }
  if (data instanceof Blob) {
    return `<blob ${data.size} bytes>`;
  }
  return '<binary>';
}

const NativeWebSocket = window.WebSocket;

class ProbedWebSocket extends NativeWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    this.addEventListener('message', (event: MessageEvent) =>
      record({ at: now(), kind: 'ws-in', text: preview(event.data) }),
    );
  }

  override send(data: string | Blob | BufferSource): void {
    record({ at: now(), kind: 'ws-out', text: preview(data) });
    super.send(data);
  }
}

window.WebSocket = ProbedWebSocket;

try {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      record({ at: performance.timeOrigin + entry.startTime, kind: 'longtask', duration: entry.duration });
    }
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // No long-task timing in this browser: the marks still work.
}

// ---------------------------------------------------------------------------------------------
// getUserMedia
// ---------------------------------------------------------------------------------------------

const mediaDevices = navigator.mediaDevices as MediaDevices | undefined;
if (mediaDevices) {
  const getUserMedia = mediaDevices.getUserMedia.bind(mediaDevices);
  let calls = 0;
  mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints): Promise<MediaStream> => {
    const n = ++calls;
    mark(`gum${n}-start`);
    try {
      return await getUserMedia(constraints);
    } finally {
      mark(`gum${n}-end`);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// RTCPeerConnection milestones, per connection (pc1, pc2, … in creation order)
// ---------------------------------------------------------------------------------------------

function watchChannel(channel: RTCDataChannel, pc: string): void {
  const opened = (): void => {
    mark('dc-open');
    mark(`dc-open:${channel.label}`);
    mark(`${pc}:dc-open:${channel.label}`);
  };
  if (channel.readyState === 'open') {
    opened();
  } else {
    channel.addEventListener('open', opened, { once: true });
  }
  // Registered before the page's own listener: marks the moment the page gets its first message
  // (for Duet's control channel: the peer's hello, after which chat and files may flow).
  channel.addEventListener('message', () => mark(`dc-first-message:${channel.label}`), { once: true });
}

const NativePeerConnection = window.RTCPeerConnection;
let peerConnections = 0;
/**
 * Every connection the page made, for videoStats (closed ones are skipped there). Weak: the probe
 * must not keep a closed connection (and what it holds) alive in a page that makes hundreds.
 */
let allPeerConnections: Array<WeakRef<RTCPeerConnection>> = [];

class ProbedPeerConnection extends NativePeerConnection {
  private readonly tag: string;

  constructor(configuration?: RTCConfiguration) {
    super(configuration);
    const tag = `pc${++peerConnections}`;
    this.tag = tag;
    allPeerConnections = allPeerConnections.filter((ref) => ref.deref() !== undefined);
    allPeerConnections.push(new WeakRef(this));
    mark(`${tag}:created`);
    this.addEventListener('icecandidate', (event) => {
      mark(event.candidate ? `${tag}:first-local-candidate` : `${tag}:gathering-done`);
    });
    this.addEventListener('iceconnectionstatechange', () => mark(`${tag}:ice-${this.iceConnectionState}`));
    this.addEventListener('connectionstatechange', () => mark(`${tag}:pc-${this.connectionState}`));
    this.addEventListener('track', (event) => mark(`${tag}:track-${event.track.kind}`));
    this.addEventListener('datachannel', (event) => watchChannel(event.channel, tag));
  }

  override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
    const channel = super.createDataChannel(label, init);
    watchChannel(channel, this.tag);
    return channel;
  }

  override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    mark(`${this.tag}:sld-start`);
    await super.setLocalDescription(description);
    mark(`${this.tag}:sld-${this.localDescription?.type ?? 'none'}`);
  }

  override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    mark(`${this.tag}:srd-start-${description.type}`);
    await super.setRemoteDescription(description);
    mark(`${this.tag}:srd-${description.type}`);
  }

  override async addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void> {
    mark(`${this.tag}:first-remote-candidate`);
    await super.addIceCandidate(candidate ?? undefined);
  }
}

window.RTCPeerConnection = ProbedPeerConnection;

// ---------------------------------------------------------------------------------------------
// The callee's click on "Accept" (capture phase on window: before the page's own handler runs)
// ---------------------------------------------------------------------------------------------

window.addEventListener(
  'click',
  (event) => {
    const button = event.target instanceof Element ? event.target.closest('button') : null;
    if (button?.textContent.trim() === 'Accept') {
      mark('accept-click');
    }
    // Duet's "Accept <file name>" in the chat: the clock of a transfer through the UI starts here.
    if (button?.getAttribute('aria-label')?.startsWith('Accept ')) {
      mark('accept');
    }
  },
  true,
);

// ---------------------------------------------------------------------------------------------
// First decoded remote video frame
// ---------------------------------------------------------------------------------------------

let watchedVideos = new WeakSet<HTMLVideoElement>();

function watchVideo(video: HTMLVideoElement): void {
  if (watchedVideos.has(video)) {
    return;
  }
  watchedVideos.add(video);
  video.requestVideoFrameCallback((_now, frame) => {
    // receiveTime: the last packet of the frame arrived; presentationTime: decoded and handed to
    // the compositor (what we call "first frame").
    if (frame.receiveTime !== undefined) {
      mark('first-frame-received', performance.timeOrigin + frame.receiveTime);
    }
    mark('first-frame', performance.timeOrigin + frame.presentationTime);
  });
}

function watchVideos(): void {
  for (const video of document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]')) {
    watchVideo(video);
  }
}

new MutationObserver(watchVideos).observe(document, { childList: true, subtree: true });

// ---------------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------------

/** `size` pseudo-random bytes (xorshift32 from `seed`): the same file in every page and run. */
function deterministicBlob(size: number, seed: number): Blob {
  return new Blob([...testBytes(size, seed)], { type: 'application/octet-stream' });
}

async function sha256(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------
// Video load: what each page encodes and decodes
// ---------------------------------------------------------------------------------------------

async function videoStats(): Promise<VideoStats> {
  const total: VideoStats = {
    framesEncoded: 0,
    framesDecoded: 0,
    encodeMs: 0,
    decodeMs: 0,
    videoBytesSent: 0,
    sentWidth: 0,
    sentHeight: 0,
    receivedWidth: 0,
    receivedHeight: 0,
    qualityLimitation: 'none',
  };
  const open = allPeerConnections
    .map((ref) => ref.deref())
    .filter((pc): pc is RTCPeerConnection => pc !== undefined && pc.connectionState !== 'closed');
  for (const report of await Promise.all(open.map((pc) => pc.getStats()))) {
    report.forEach((s: Record<string, unknown>) => {
      if (s.kind !== 'video') {
        return;
      }
      const n = (key: string): number => (typeof s[key] === 'number' ? s[key] : 0);
      if (s.type === 'outbound-rtp') {
        total.framesEncoded += n('framesEncoded');
        total.encodeMs += n('totalEncodeTime') * 1000;
        total.videoBytesSent += n('bytesSent');
        total.sentWidth = Math.max(total.sentWidth, n('frameWidth'));
        total.sentHeight = Math.max(total.sentHeight, n('frameHeight'));
        if (typeof s.qualityLimitationReason === 'string') {
          total.qualityLimitation = s.qualityLimitationReason;
        }
      } else if (s.type === 'inbound-rtp') {
        total.framesDecoded += n('framesDecoded');
        total.decodeMs += n('totalDecodeTime') * 1000;
        total.receivedWidth = Math.max(total.receivedWidth, n('frameWidth'));
        total.receivedHeight = Math.max(total.receivedHeight, n('frameHeight'));
      }
    });
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Duet's own milestones
// ---------------------------------------------------------------------------------------------

function watchDuet(): void {
  const duet = window.__duet;
  if (!duet) {
    throw new Error('window.__duet is missing: is this the Duet app?');
  }
  const onChange = (snapshot: ClientSnapshot): void => {
    // The product's "data channel open": the control channel is open and both sides said hello.
    if (snapshot.dataChannelOpen) {
      mark('duet-dc-ready');
    }
    if (snapshot.call) {
      mark(`duet-call-${snapshot.call.phase}`);
    }
    for (const transfer of snapshot.transfers) {
      mark(`transfer-${transfer.direction}-${transfer.state}`);
    }
  };
  duet.on('change', onChange);
  onChange(duet.snapshot);
}

const api: BenchApi = {
  now,
  mark: (name) => mark(name),
  has: (name) => seen.has(name),
  marks: () => marks.slice(),
  events: () => events.slice(),
  blob: null,
  async prepareBlob(size, seed) {
    const blob = deterministicBlob(size, seed);
    api.blob = blob;
    return sha256(blob);
  },
  sha256,
  watchDuet,
  videoStats,
  reset() {
    marks.length = 0;
    seen.clear();
    events.length = 0;
    watchedVideos = new WeakSet();
    watchVideos();
  },
};
window.__bench = api;

export {};
