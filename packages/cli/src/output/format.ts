import type { CliEvent } from './events.js';

/*
 * Plain-text rendering of events: one line each, for a person or a log file. Pure functions, so the
 * wording is unit-tested and the progress bars reuse the same units.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; binary units, as `ls -h` and file managers show sizes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Bytes per second as MB/s (decimal, as network speeds are quoted). */
export function formatSpeed(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/** 75 → "1m15s"; null → "--". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return '--';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function percent(bytes: number, size: number): number {
  return size === 0 ? 100 : Math.floor((bytes / size) * 100);
}

/** "🍎 Apple 苹果 · 🔑 Key 钥匙 · …": the picture and both names, to read aloud in either language. */
export function formatSymbols(symbols: ReadonlyArray<{ emoji: string; en: string; zh: string }>): string {
  return symbols.map((symbol) => `${symbol.emoji} ${symbol.en} ${symbol.zh}`).join(' · ');
}

const VERB = { send: 'sending', receive: 'receiving' } as const;

/** The line printed for an event in plain mode; null for events plain mode does not print. */
export function formatLine(event: CliEvent): string | null {
  switch (event.event) {
    case 'knocking':
      return `room "${event.room}" asks to join: waiting up to ${event.timeoutSeconds} s for someone there to let you in…`;
    case 'joined':
      return `joined room "${event.room}" on ${event.server} as ${event.name} — ${event.link}`;
    case 'waiting':
      return 'waiting for someone to join the room…';
    case 'calling':
      return `calling ${event.peer}…`;
    case 'incoming':
      return `${event.peer} is calling${event.terminal ? ' (terminal)' : ''}; answering`;
    case 'connected':
      return `connected to ${event.peer}`;
    case 'security-symbols':
      return (
        `${event.changed ? 'the security symbols changed (a new connection); compare them again' : 'security symbols'} ` +
        `with ${event.peer}: ${formatSymbols(event.symbols)} — ${event.peer} sees the same six under Verify, ` +
        `unless someone is in the middle`
      );
    case 'offer':
      return event.direction === 'send'
        ? `offering ${event.name} (${formatBytes(event.size)})`
        : `${event.name} (${formatBytes(event.size)}) offered; accepting`;
    case 'progress':
      return (
        `${VERB[event.direction]} ${event.name}: ${percent(event.bytes, event.size)}% ` +
        `${formatBytes(event.bytes)}/${formatBytes(event.size)} ${formatSpeed(event.bytesPerSecond)} ` +
        `ETA ${formatEta(event.secondsLeft)}`
      );
    case 'file-done':
      return (
        `${event.direction === 'send' ? 'sent' : 'received'} ${event.name} (${formatBytes(event.size)}), ` +
        `sha256 ${event.sha256} verified${event.path ? ` → ${event.path}` : ''}`
      );
    case 'file-failed':
      return `${event.name}: ${event.reason.replace(/_/g, ' ')}`;
    case 'chat':
      return event.from === 'peer' ? `< ${event.text}` : `> ${event.text}`;
    case 'delivered':
      return `✓ delivered`;
    case 'call-ended':
      return `call ended: ${event.outcome.replace(/_/g, ' ')}${event.by === 'self' ? '' : ' (by the peer)'}`;
    case 'room':
      return event.link;
    case 'sent':
      return event.wireBytes > event.fileBytes
        ? `resent ${formatBytes(event.wireBytes - event.fileBytes)} after reconnecting`
        : null;
    case 'error':
      return `error: ${event.message}`;
    case 'exit':
      return null;
  }
}
