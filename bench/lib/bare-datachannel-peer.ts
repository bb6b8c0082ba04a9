/**
 * One side of the bare node-datachannel pair for bench/cli-transfer.ts: libdatachannel's own API,
 * no polyfill, no Duet, no hashing, no disk. Signaling is JSON lines on stdin/stdout, relayed by the
 * parent. The sender pushes `--bytes` in `--message` sized binary messages from one buffer, paced by
 * `bufferedAmount` with Duet's water marks; the receiver counts them and reports how long it took
 * from the first message to the last.
 *
 *   node --import tsx bench/lib/bare-datachannel-peer.ts sender|receiver --bytes N --message 65536
 */
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import nodeDataChannel from 'node-datachannel';
import { numberArg } from './args.js';

const role = process.argv[2];
const total = numberArg('--bytes', 1024 ** 3);
const messageSize = numberArg('--message', 64 * 1024);
/** Duet's FILE_TRANSFER_DEFAULTS water marks, so only the protocol differs. */
const HIGH_WATER = 512 * 1024;
const LOW_WATER = 128 * 1024;

const say = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

const pc = new nodeDataChannel.PeerConnection(role ?? 'peer', { iceServers: [], maxMessageSize: 256 * 1024 });
pc.onLocalDescription((sdp, type) => say({ kind: 'description', sdp, type }));
pc.onLocalCandidate((candidate, mid) => say({ kind: 'candidate', candidate, mid }));

// A candidate may come before the description it belongs to (the parent relays two processes'
// lines as they come); libdatachannel throws on a candidate without a remote description, so they
// wait for it.
let described = false;
const early: Array<{ candidate: string; mid: string }> = [];
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = JSON.parse(line) as {
    kind: string;
    sdp?: string;
    type?: string;
    candidate?: string;
    mid?: string;
  };
  if (message.kind === 'description') {
    pc.setRemoteDescription(message.sdp!, message.type as 'offer' | 'answer');
    described = true;
    for (const { candidate, mid } of early.splice(0)) {
      pc.addRemoteCandidate(candidate, mid);
    }
  } else if (message.kind === 'candidate') {
    if (described) {
      pc.addRemoteCandidate(message.candidate!, message.mid!);
    } else {
      early.push({ candidate: message.candidate!, mid: message.mid! });
    }
  }
});

function finish(result: object): void {
  say(result);
  setTimeout(() => {
    pc.close();
    nodeDataChannel.cleanup();
    process.exit(0);
  }, 200);
}

if (role === 'sender') {
  const chunk = randomBytes(messageSize);
  const channel = pc.createDataChannel('bare');
  let sent = 0;
  const pump = (): void => {
    while (sent < total && channel.bufferedAmount() < HIGH_WATER) {
      const size = Math.min(messageSize, total - sent);
      channel.sendMessageBinary(size === messageSize ? chunk : chunk.subarray(0, size));
      sent += size;
    }
  };
  channel.setBufferedAmountLowThreshold(LOW_WATER);
  channel.onBufferedAmountLow(pump);
  channel.onOpen(pump);
  channel.onMessage(() => finish({ kind: 'sent', bytes: sent }));
} else {
  pc.onDataChannel((channel) => {
    let received = 0;
    let first = 0;
    channel.onMessage((message) => {
      if (received === 0) {
        first = performance.now();
      }
      received += typeof message === 'string' ? message.length : message.byteLength;
      if (received >= total) {
        const ms = performance.now() - first;
        channel.sendMessage('done');
        finish({ kind: 'received', bytes: received, ms });
      }
    });
  });
}
