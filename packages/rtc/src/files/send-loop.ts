import type { FileChannelHeader } from '@duet/protocol';
import type { FlowControl } from './flow-control.js';
import type { SliceReader } from './slice-reader.js';
import type { FileChannelLike } from './transfer-types.js';

/*
 * The sender's inner loop: the header, then views into slices read ahead, paced by FlowControl (the
 * water marks and the receiver's acks), until the end of the file or until the channel is dropped.
 * Why a module of its own: the same loop runs on the page (OutgoingTransfer, where data channels
 * cannot leave the main thread) and in the file worker (channel-worker.ts, where Chromium lets a new
 * channel move), and must behave the same in both.
 */

export interface SendLoop {
  channel: FileChannelLike;
  /** Aborted when the channel is dropped (a resume replaced it, the transfer ended). */
  signal: AbortSignal;
  reader: SliceReader;
  flow: FlowControl;
  transferId: string;
  from: number;
  size: number;
  chunkSize: number;
  /** After each chunk handed to the channel: the furthest byte sent on it. */
  onSent(offset: number): void;
}

export type SendLoopEnd =
  /** Every byte up to `size` was handed to the channel. */
  | { end: 'sent' }
  /** The channel was dropped or closed: someone else decides what next. */
  | { end: 'stopped' }
  /** The file could not be read. */
  | { end: 'read_failed'; error: unknown }
  /** `send` threw on a channel that still looked open. */
  | { end: 'send_failed'; error: unknown };

/**
 * A file channel's header. Both senders (the page's and the file worker's) move their window on the
 * receiver's acks on the channel, and say so: the receiver may then spare its main thread the
 * frequent `file-ack`s (incoming-transfer.ts).
 */
export function channelHeader(transferId: string, offset: number): FileChannelHeader {
  return { v: 1, transferId, offset, channelAcks: true };
}

export async function runSendLoop(loop: SendLoop): Promise<SendLoopEnd> {
  const { channel, signal, reader, flow, size, chunkSize } = loop;
  const live = (): boolean => !signal.aborted && channel.readyState === 'open';
  if (!live()) {
    return { end: 'stopped' };
  }
  let offset = loop.from;
  try {
    channel.send(JSON.stringify(channelHeader(loop.transferId, offset)));
    while (offset < size) {
      let slice: { start: number; bytes: Uint8Array<ArrayBuffer> };
      try {
        slice = await reader.read(offset);
      } catch (error) {
        return signal.aborted ? { end: 'stopped' } : { end: 'read_failed', error };
      }
      const { start, bytes } = slice;
      let at = offset - start;
      while (at < bytes.byteLength) {
        if (!live()) {
          return { end: 'stopped' };
        }
        const wait = flow.wait(channel, offset, signal);
        if (wait) {
          await wait;
          continue;
        }
        const length = Math.min(chunkSize, bytes.byteLength - at);
        channel.send(bytes.subarray(at, at + length));
        at += length;
        offset += length;
        loop.onSent(offset);
      }
    }
  } catch (error) {
    // send() throws once the channel is closing; its close event handles that.
    return live() ? { end: 'send_failed', error } : { end: 'stopped' };
  }
  return { end: 'sent' };
}
