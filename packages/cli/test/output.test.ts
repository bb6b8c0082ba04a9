import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createReporter,
  formatBytes,
  formatEta,
  formatLine,
  formatSymbols,
  ProgressGate,
  type CliEvent,
} from '../src/index.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const progress = (bytes: number): CliEvent => ({
  event: 'progress',
  id: 't1',
  direction: 'send',
  name: 'a.bin',
  bytes,
  size: 1000,
  bytesPerSecond: 2_500_000,
  secondsLeft: 75,
});

describe('output formats', () => {
  it('formats sizes, speeds and times the way a person reads them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatEta(null)).toBe('--');
    expect(formatEta(42)).toBe('42s');
    expect(formatEta(75)).toBe('1m15s');
    expect(formatEta(7300)).toBe('2h01m');
    expect(formatLine(progress(500))).toBe('sending a.bin: 50% 500 B/1000 B 2.5 MB/s ETA 1m15s');
    expect(formatLine({ event: 'chat', from: 'peer', id: 'x', text: 'hi' })).toBe('< hi');
    expect(formatLine({ event: 'call-ended', outcome: 'peer_left', by: 'remote' })).toBe(
      'call ended: peer left (by the peer)',
    );
  });

  it('says that a room asks to knock, and shows the security symbols in both languages', () => {
    expect(formatLine({ event: 'knocking', room: 'den', timeoutSeconds: 60 })).toBe(
      'room "den" asks to join: waiting up to 60 s for someone there to let you in…',
    );
    const symbols = [
      { emoji: '🍎', en: 'Apple', zh: '苹果' },
      { emoji: '🍌', en: 'Banana', zh: '香蕉' },
    ];
    expect(formatSymbols(symbols)).toBe('🍎 Apple 苹果 · 🍌 Banana 香蕉');
    expect(formatLine({ event: 'security-symbols', peer: 'Ann', symbols, changed: false })).toBe(
      'security symbols with Ann: 🍎 Apple 苹果 · 🍌 Banana 香蕉 — Ann sees the same six under Verify, ' +
        'unless someone is in the middle',
    );
    expect(formatLine({ event: 'security-symbols', peer: 'Ann', symbols, changed: true })).toMatch(
      /^the security symbols changed \(a new connection\); compare them again with Ann: 🍎/,
    );
  });

  it('--json: one parseable object a line, progress thinned, everything else kept', async () => {
    const out = capture();
    const reporter = await createReporter('json', out.stream, capture().stream);
    reporter.emit({ event: 'connected', peer: 'Ann' });
    for (let bytes = 0; bytes <= 1000; bytes += 10) {
      reporter.emit(progress(bytes));
    }
    reporter.emit({ event: 'exit', code: 0, reason: 'ok' });
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CliEvent);
    expect(lines[0]).toEqual({ event: 'connected', peer: 'Ann' });
    expect(lines.at(-1)).toEqual({ event: 'exit', code: 0, reason: 'ok' });
    const reports = lines.flatMap((e) => (e.event === 'progress' ? [e.bytes] : []));
    // The first and the last always pass; the rest at most every 250 ms (none in this instant).
    expect(reports).toEqual([0, 1000]);
  });

  it('plain lines: progress every 10 %, errors on stderr, no exit line', async () => {
    const out = capture();
    const err = capture();
    const reporter = await createReporter('plain', out.stream, err.stream);
    for (let bytes = 0; bytes <= 1000; bytes += 10) {
      reporter.emit(progress(bytes));
    }
    reporter.emit({ event: 'error', message: 'oops' });
    reporter.emit({ event: 'exit', code: 1, reason: 'failed' });
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatch(/^sending a\.bin: 100% /);
    expect(err.text()).toBe('error: oops\n');
  });

  it('gates progress per transfer by time and step', () => {
    const gate = new ProgressGate(100, 5);
    expect(gate.pass('a', 0, 100, 0)).toBe(true);
    expect(gate.pass('a', 10, 100, 50)).toBe(false);
    expect(gate.pass('a', 10, 100, 150)).toBe(true);
    expect(gate.pass('a', 11, 100, 400)).toBe(false);
    expect(gate.pass('b', 11, 100, 400)).toBe(true);
    expect(gate.pass('a', 100, 100, 401)).toBe(true);
    expect(gate.pass('a', 100, 100, 900)).toBe(false);
  });
});
