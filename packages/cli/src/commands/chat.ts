import { createInterface } from 'node:readline';
import { DuetError, type ClientSnapshot } from '@duet/rtc';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { endedFailure } from '../peer/session.js';
import type { PeerContext } from './peer-command.js';

/** After stdin ends, how long our last messages may take to be acknowledged before we hang up anyway. */
const DELIVERY_WAIT_MS = 10_000;

/**
 * `duet chat`: each line of stdin is a message (the web app's chat protocol: acknowledged, resent
 * across reconnects), each message from the peer a line out, each of ours marked once delivered.
 * End of input (Ctrl-D, or the end of a piped file) hangs up once everything was delivered; the
 * peer hanging up ends it too.
 */
export async function chat(context: PeerContext): Promise<ExitCode> {
  const { client, watch, reporter, io } = context;
  const shown = new Set<string>();
  const delivered = new Set<string>();
  const onChange = (snapshot: ClientSnapshot): void => {
    for (const message of snapshot.chat) {
      if (!shown.has(message.id)) {
        shown.add(message.id);
        reporter.emit({ event: 'chat', from: message.from, id: message.id, text: message.text });
      }
      if (message.status === 'delivered' && !delivered.has(message.id)) {
        delivered.add(message.id);
        reporter.emit({ event: 'delivered', id: message.id });
      }
    }
  };
  const offChange = client.on('change', onChange);
  onChange(client.snapshot);
  const lines = createInterface({ input: io.stdin, terminal: false });
  lines.on('line', (line) => {
    const text = line.trim();
    if (!text || watch.ended) {
      return;
    }
    try {
      client.chat.send(text);
    } catch (error) {
      reporter.emit({ event: 'error', message: error instanceof DuetError ? error.message : String(error) });
    }
  });
  const inputDone = new Promise<'input'>((resolve) => lines.once('close', () => resolve('input')));
  try {
    const first = await Promise.race([inputDone, watch.whenEnded()]);
    if (first === 'input') {
      await Promise.race([
        watch.until((s) => s.chat.every((m) => m.status !== 'sending')),
        new Promise((resolve) => setTimeout(resolve, DELIVERY_WAIT_MS)),
      ]);
      await watch.hangUp(false);
      return EXIT.ok;
    }
    // The peer ended the chat: a hang-up is the normal end of a conversation.
    if (first.outcome === 'hangup') {
      return EXIT.ok;
    }
    throw endedFailure(first.outcome);
  } finally {
    lines.close();
    offChange();
  }
}
