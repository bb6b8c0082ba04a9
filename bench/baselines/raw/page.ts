/*
 * Baseline: the tutorial WebRTC call, as little code as works. Two copies of this page (?role=caller
 * and ?role=callee, same ?room=) meet through the bare Socket.IO relay (../raw-relay.ts):
 *
 *   both     getUserMedia at start (the preview), join the room
 *   caller   "Call"   → ring
 *   callee   "Accept" → accept
 *   caller   new RTCPeerConnection, tracks, a data channel, offer  → (trickle ICE both ways)
 *   callee   new RTCPeerConnection, tracks, answer
 *
 * Signals are handled one at a time, in order (a candidate must not overtake its offer). Nothing
 * else: no perfect negotiation, no reconnection, no validation.
 *
 * ?mode=data: audio only, and the data channel carries a file: the receiver sends "go", the sender
 * sends the bytes in `chunk`-byte messages read from `slice`-byte Blob slices, pausing above `high`
 * bytes buffered until `bufferedamountlow` (threshold `low`); the receiver collects them into a
 * Blob and answers "done". No hashing, no acks, no progress. With ?camera=720p as well, data mode
 * sends and receives the camera too (a video call during the transfer).
 */
import type { io as ioType } from 'socket.io-client';
import { FileReceiver, ui } from '../page-kit.js';

declare const io: typeof ioType;

interface RawApi {
  ready: boolean;
  /** Receiver (data mode): ask for the file now. */
  accept(size: number): void;
}

declare global {
  interface Window {
    __raw: RawApi;
  }
}

type Signal =
  | { type: 'ring' }
  | { type: 'accept' }
  | { type: 'offer' | 'answer'; description: RTCSessionDescriptionInit }
  | { type: 'candidate'; candidate: RTCIceCandidateInit };

const params = new URLSearchParams(location.search);
/** The relay's origin (the page itself comes from the benchmark's static server). */
const relay = params.get('signal')!;
const room = params.get('room') ?? 'bench';
const dataMode = params.get('mode') === 'data';
const chunk = Number(params.get('chunk') ?? 65536);
const sliceBytes = Number(params.get('slice') ?? 1048576);
const high = Number(params.get('high') ?? 524288);
const low = Number(params.get('low') ?? 131072);
/**
 * ?camera=720p: the camera constraints Duet asks for, instead of the browser's 640×480 (a call-setup
 * diagnostic, and the video call of the transfer benchmark, where data mode otherwise has no video).
 */
const camera: boolean | MediaTrackConstraints =
  params.get('camera') === '720p'
    ? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }
    : true;
const video = !dataMode || params.has('camera');

const { localVideo, remoteVideo, callButton, acceptButton, status } = ui;

const socket = io(relay);
let pc: RTCPeerConnection | null = null;
let channel: RTCDataChannel | null = null;
let queue = Promise.resolve();
const file = new FileReceiver((text) => {
  if (!channel) {
    throw new Error('no data channel');
  }
  channel.send(text);
});

const api: RawApi = { ready: false, accept: (size) => file.start(size) };
window.__raw = api;

function send(signal: Signal): void {
  socket.emit('signal', signal);
}

function createPeerConnection(): RTCPeerConnection {
  const connection = new RTCPeerConnection({ iceServers: [] });
  for (const track of localStream.getTracks()) {
    connection.addTrack(track, localStream);
  }
  connection.onicecandidate = ({ candidate }) => {
    if (candidate) {
      send({ type: 'candidate', candidate: candidate.toJSON() });
    }
  };
  connection.ontrack = ({ streams }) => {
    if (streams[0]) {
      remoteVideo.srcObject = streams[0];
    }
  };
  connection.ondatachannel = ({ channel: incoming }) => useChannel(incoming);
  connection.onconnectionstatechange = () => status(connection.connectionState);
  return connection;
}

function useChannel(dc: RTCDataChannel): void {
  channel = dc;
  dc.binaryType = 'arraybuffer';
  dc.addEventListener('open', () => window.__bench.mark('app-dc-open'));
  dc.onmessage = ({ data }) => {
    if (data === 'go') {
      void sendFile(dc);
    } else if (data === 'done') {
      window.__bench.mark('done');
    } else if (data instanceof ArrayBuffer) {
      file.receive(data);
    }
  };
}

async function handle(signal: Signal): Promise<void> {
  switch (signal.type) {
    case 'ring':
      acceptButton.disabled = false;
      status('ringing');
      break;
    case 'accept': {
      pc = createPeerConnection();
      useChannel(pc.createDataChannel('chat'));
      await pc.setLocalDescription(await pc.createOffer());
      send({ type: 'offer', description: pc.localDescription!.toJSON() });
      break;
    }
    case 'offer': {
      pc = createPeerConnection();
      await pc.setRemoteDescription(signal.description);
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', description: pc.localDescription!.toJSON() });
      break;
    }
    case 'answer':
      await pc?.setRemoteDescription(signal.description);
      break;
    case 'candidate':
      await pc?.addIceCandidate(signal.candidate);
      break;
  }
}

socket.on('signal', (signal: Signal) => {
  queue = queue.then(() => handle(signal)).catch((error: unknown) => console.error(error));
});

callButton.onclick = () => {
  status('calling');
  send({ type: 'ring' });
};
acceptButton.onclick = () => {
  acceptButton.disabled = true;
  send({ type: 'accept' });
};

// ---------------------------------------------------------------------------------------------
// The file (data mode)
// ---------------------------------------------------------------------------------------------

async function sendFile(dc: RTCDataChannel): Promise<void> {
  const blob = window.__bench.blob;
  if (!blob) {
    throw new Error('no file prepared');
  }
  dc.bufferedAmountLowThreshold = low;
  for (let offset = 0; offset < blob.size; offset += sliceBytes) {
    const bytes = new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer());
    for (let at = 0; at < bytes.byteLength; at += chunk) {
      if (dc.bufferedAmount > high) {
        await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
      }
      dc.send(bytes.subarray(at, at + chunk));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Start: the preview, then the room
// ---------------------------------------------------------------------------------------------

const localStream = await navigator.mediaDevices.getUserMedia({
  audio: true,
  video: video ? camera : false,
});
localVideo.srcObject = localStream;
socket.emit('join', room, () => {
  callButton.disabled = false;
  api.ready = true;
  status('ready');
});
