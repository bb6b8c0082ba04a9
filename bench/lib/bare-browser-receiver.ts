import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { track } from './processes.js';

/*
 * The baseline of the terminal-to-browser benchmark: the bare node-datachannel sender of
 * bare-datachannel-peer.ts (its own process: libdatachannel's API, one buffer sent again and again,
 * Duet's water marks, no protocol, no hashing, no disk) to a bare RTCPeerConnection in a Chromium
 * page that only counts the bytes (no app, no storage, no hashing). Signaling goes through this
 * process: the sender's JSON lines to the page, the page's answer and candidates to the sender.
 */

const BARE = fileURLToPath(new URL('./bare-datachannel-peer.ts', import.meta.url));

interface SignalLine {
  kind: string;
  sdp?: string;
  type?: string;
  candidate?: string;
  mid?: string;
  ms?: number;
}

/** In the page: answer the offer, count `total` bytes, say `done` on the channel; resolves ms first→last. */
function pageReceiver(total: number): void {
  type Out = (line: string) => void;
  const w = window as unknown as {
    __bareOut: Out;
    __bareIn: (line: string) => void;
    __bareMs: Promise<number>;
  };
  const pc = new RTCPeerConnection();
  pc.onicecandidate = (event) => {
    if (event.candidate?.candidate) {
      w.__bareOut(
        JSON.stringify({
          kind: 'candidate',
          candidate: event.candidate.candidate,
          mid: event.candidate.sdpMid,
        }),
      );
    }
  };
  w.__bareMs = new Promise<number>((resolve) => {
    pc.ondatachannel = ({ channel }) => {
      channel.binaryType = 'arraybuffer';
      let received = 0;
      let first = 0;
      channel.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        if (received === 0) {
          first = performance.now();
        }
        received += typeof event.data === 'string' ? event.data.length : event.data.byteLength;
        if (received >= total) {
          resolve(performance.now() - first);
          channel.send('done');
        }
      };
    };
  });
  w.__bareIn = (line: string) => {
    const message = JSON.parse(line) as SignalLine;
    if (message.kind === 'description') {
      void (async () => {
        await pc.setRemoteDescription({ type: message.type as RTCSdpType, sdp: message.sdp! });
        await pc.setLocalDescription();
        w.__bareOut(JSON.stringify({ kind: 'description', sdp: pc.localDescription!.sdp, type: 'answer' }));
      })();
    } else if (message.kind === 'candidate') {
      void pc.addIceCandidate({ candidate: message.candidate!, sdpMid: message.mid! });
    }
  };
}

/** One baseline run into `page` (a blank page of its own); MB/s from the first message to the last. */
export async function bareToBrowser(page: Page, bytes: number, messageSize: number): Promise<number> {
  const sender = spawn(
    process.execPath,
    ['--import', 'tsx', BARE, 'sender', '--bytes', String(bytes), '--message', String(messageSize)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  track(sender);
  const exited = new Promise<void>((resolve) => sender.on('exit', () => resolve()));
  await page.exposeFunction('__bareOut', (line: string) => sender.stdin.write(`${line}\n`));
  await page.evaluate(pageReceiver, bytes);
  createInterface({ input: sender.stdout }).on('line', (line) => {
    void page.evaluate((l) => (window as unknown as { __bareIn(l: string): void }).__bareIn(l), line);
  });
  const ms = await page.evaluate(() => (window as unknown as { __bareMs: Promise<number> }).__bareMs);
  await exited;
  return bytes / 1e6 / (ms / 1000);
}
