/*
 * Baseline: a call with PeerJS 1.5 and its own server (`peer`), written the way its documentation
 * shows. Two copies of this page (?role=caller&id=…&peer=…, and the callee the other way round):
 *
 *   both     getUserMedia at start (the preview), new Peer(id) on the PeerJS server
 *   caller   "Call"   → peer.call(callee, stream)      (PeerJS sends its offer right away)
 *   callee   "Accept" → call.answer(stream), and peer.connect(caller) for the data channel
 *
 * PeerJS runs media and data on separate RTCPeerConnections (MediaConnection, DataConnection), and a
 * DataConnection opens without the other side's consent; so the callee opens it when it accepts.
 *
 * ?mode=data: the same, audio only; the callee receives a file over the DataConnection (serialization
 * "binary", the default). The receiver sends "go"; the sender calls conn.send(ArrayBuffer) with `chunk`-byte pieces
 * read from `slice`-byte Blob slices, pausing while PeerJS holds messages in its own queue
 * (`conn.bufferSize` > 0). What PeerJS does with each piece: binarypack-encode it, split it into
 * ≤16,300-byte chunks (its `chunkedMTU`), binarypack each chunk again with its index, and queue the
 * chunks in JS while the channel buffers more than 8 MiB, retrying every 50 ms; the receiver unpacks
 * every chunk, reassembles the piece and unpacks it. The receiver answers "done".
 */
import type * as PeerJs from 'peerjs';
import { FileReceiver, ui } from '../page-kit.js';

/** What peerjs.min.js defines. */
declare const peerjs: { Peer: typeof PeerJs.Peer };

interface PeerJsApi {
  ready: boolean;
  accept(size: number): void;
}

declare global {
  interface Window {
    __peerjs: PeerJsApi;
  }
}

const params = new URLSearchParams(location.search);
/** The PeerJS server's origin (the page itself comes from the benchmark's static server). */
const server = new URL(params.get('signal')!);
const myId = params.get('id')!;
const otherId = params.get('peer')!;
const dataMode = params.get('mode') === 'data';
const chunk = Number(params.get('chunk') ?? 65536);
const sliceBytes = Number(params.get('slice') ?? 1048576);

const { localVideo, remoteVideo, callButton, acceptButton, status } = ui;

let incoming: PeerJs.MediaConnection | null = null;
let conn: PeerJs.DataConnection | null = null;
const file = new FileReceiver((text) => {
  if (!conn) {
    throw new Error('no data connection');
  }
  void conn.send(text);
});
const api: PeerJsApi = { ready: false, accept: (size) => file.start(size) };
window.__peerjs = api;

const options: PeerJs.PeerJSOption = {
  host: server.hostname,
  port: Number(server.port),
  path: '/',
  // Loopback only: PeerJS's default config names public STUN/TURN servers.
  config: { iceServers: [] },
};
// PeerJS types its options as a class; its docs (and it) take a plain object.
// eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
const peer = new peerjs.Peer(myId, options);

function showRemote(call: PeerJs.MediaConnection): void {
  call.on('stream', (stream) => {
    remoteVideo.srcObject = stream;
  });
}

function useConnection(connection: PeerJs.DataConnection): void {
  conn = connection;
  // The DataConnection's channel (a MediaConnection has an internal one of its own, not this).
  connection.on('open', () => window.__bench.mark('app-dc-open'));
  connection.on('data', (data) => {
    if (data === 'go') {
      void sendFile(connection);
    } else if (data === 'done') {
      window.__bench.mark('done');
    }
    // A chunked message comes back as a Uint8Array (binarypack unpacks the reassembled bytes).
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      file.receive(data as ArrayBuffer | ArrayBufferView<ArrayBuffer>);
    }
  });
}

peer.on('call', (call) => {
  incoming = call;
  acceptButton.disabled = false;
  status('ringing');
});
peer.on('connection', useConnection);
peer.on('error', (error) => console.error(error));

callButton.onclick = () => {
  status('calling');
  showRemote(peer.call(otherId, localStream));
};
acceptButton.onclick = () => {
  acceptButton.disabled = true;
  if (!incoming) {
    return;
  }
  incoming.answer(localStream);
  showRemote(incoming);
  useConnection(peer.connect(otherId, { reliable: true }));
};

// ---------------------------------------------------------------------------------------------
// The file (data mode)
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages PeerJS holds in its JS queue (BufferedConnection#bufferSize; not in the base type). */
const queued = (connection: PeerJs.DataConnection): number =>
  (connection as unknown as { bufferSize: number }).bufferSize;

async function sendFile(connection: PeerJs.DataConnection): Promise<void> {
  const blob = window.__bench.blob;
  if (!blob) {
    throw new Error('no file prepared');
  }
  for (let offset = 0; offset < blob.size; offset += sliceBytes) {
    const bytes = new Uint8Array(await blob.slice(offset, offset + sliceBytes).arrayBuffer());
    for (let at = 0; at < bytes.byteLength; at += chunk) {
      // PeerJS queues in JS without bound; wait while its queue is not empty (it drains on a timer).
      while (queued(connection) > 0) {
        await sleep(5);
      }
      void connection.send(bytes.slice(at, at + chunk).buffer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Start: the preview, then the PeerJS server
// ---------------------------------------------------------------------------------------------

const localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: !dataMode });
localVideo.srcObject = localStream;
const onOpen = (): void => {
  callButton.disabled = false;
  api.ready = true;
  status('ready');
};
if (peer.open) {
  onOpen();
} else {
  peer.on('open', onOpen);
}
