import type { CallLink } from '../call/call-link.js';
import type { Log } from '../logger.js';
import type { ClientSnapshot, Diagnostics } from './client-types.js';

/*
 * `client.diagnostics()`: what a user can paste into a bug report. Why its own module: it decides
 * what leaves the tab (ids, states, counts and log lines; never credentials, names of files only
 * as the user sees them), which deserves one place to read.
 */

/** The last `size` log lines, whether or not anyone prints them. */
export class RecentLog {
  private readonly entries: Array<{ at: number; line: string }> = [];

  constructor(private readonly size: number) {}

  /** A log that records every line here and passes it on to `sink`. */
  tee(sink: Log | undefined): Log {
    return (message, detail) => {
      this.entries.push({
        at: Date.now(),
        line: detail === undefined ? message : `${message}: ${describe(detail)}`,
      });
      if (this.entries.length > this.size) {
        this.entries.shift();
      }
      sink?.(message, detail);
    };
  }

  /** Oldest first, each with its ISO time. */
  lines(): string[] {
    return this.entries.map(({ at, line }) => `${new Date(at).toISOString()} ${line}`);
  }
}

export interface DiagnosticsInput {
  snapshot: ClientSnapshot;
  call: { id: string; phase: string; role: 'caller' | 'callee' } | null;
  link: CallLink | null;
  ice: Diagnostics['ice'];
  log: string[];
}

export function buildDiagnostics({ snapshot, call, link, ice, log }: DiagnosticsInput): Diagnostics {
  return {
    at: new Date().toISOString(),
    connection: snapshot.connection,
    self: snapshot.self ? { id: snapshot.self.id, name: snapshot.self.name } : null,
    room: snapshot.room ? { name: snapshot.room.name, people: snapshot.room.users.length } : null,
    call: call && {
      ...call,
      epoch: link?.session?.epoch ?? null,
      dataChannelOpen: snapshot.dataChannelOpen,
      connectedAt: snapshot.call?.connectedAt ?? null,
      messenger: link ? { ...link.messenger.stats } : null,
    },
    ice,
    local: {
      microphone: snapshot.local.microphone,
      camera: snapshot.local.camera,
      screen: snapshot.local.screen,
      error: snapshot.local.error,
    },
    stats: snapshot.stats,
    transfers: snapshot.transfers.map(({ id, direction, state, size, bytes, error }) => ({
      id,
      direction,
      state,
      size,
      bytes,
      error,
    })),
    log,
  };
}

/** A log line's detail as text (errors by name and message; the rest as JSON where it can be). */
function describe(detail: unknown): string {
  if (detail instanceof Error) {
    return `${detail.name}: ${detail.message}`;
  }
  try {
    // undefined for a function or a symbol
    const text = JSON.stringify(detail) as string | undefined;
    return text ?? String(detail);
  } catch {
    return String(detail);
  }
}
