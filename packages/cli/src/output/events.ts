import type { CallOutcome } from '@duet/rtc';

/*
 * What a command reports, as data. The three outputs (JSON lines, plain lines, TTY progress bars)
 * render the same events, so a script reading `--json` sees exactly what a person sees.
 */

export type Direction = 'send' | 'receive';

/** Why a file did not arrive. */
export type FileFailure =
  | 'declined'
  | 'cancelled'
  | 'hash_mismatch'
  | 'size_exceeded'
  | 'read_failed'
  | 'storage_failed'
  | 'too_large'
  | 'peer_failed'
  | 'call_ended';

/** One symbol of the call's short authentication string, as the browser's Verify dialog shows it. */
export interface SecuritySymbol {
  emoji: string;
  en: string;
  zh: string;
}

export type CliEvent =
  /** The room asks newcomers to knock: waiting for a member to let us in (at most `timeoutSeconds`). */
  | { event: 'knocking'; room: string; timeoutSeconds: number }
  | { event: 'joined'; server: string; room: string; name: string; link: string }
  /** Alone in the room (or nobody answers our way): waiting for someone. */
  | { event: 'waiting' }
  | { event: 'calling'; peer: string }
  | { event: 'incoming'; peer: string; terminal: boolean }
  | { event: 'connected'; peer: string }
  /**
   * The call's security symbols (the same six the browser's Verify dialog shows), for comparing by
   * voice; again, with `changed`, when a new connection brought other ones.
   */
  | { event: 'security-symbols'; peer: string; symbols: SecuritySymbol[]; changed: boolean }
  | { event: 'offer'; id: string; direction: Direction; name: string; size: number }
  | {
      event: 'progress';
      id: string;
      direction: Direction;
      name: string;
      bytes: number;
      size: number;
      bytesPerSecond: number;
      secondsLeft: number | null;
    }
  | {
      event: 'file-done';
      id: string;
      direction: Direction;
      name: string;
      size: number;
      sha256: string;
      /** Where a received file was saved. */
      path?: string;
    }
  | { event: 'file-failed'; id: string; direction: Direction; name: string; reason: FileFailure }
  | { event: 'chat'; from: 'self' | 'peer'; id: string; text: string }
  | { event: 'delivered'; id: string }
  | { event: 'call-ended'; outcome: CallOutcome; by: 'self' | 'remote' }
  | { event: 'room'; room: string; link: string }
  /** `duet send`, at the end: file bytes put on the wire (resends included) against the files' sizes. */
  | { event: 'sent'; fileBytes: number; wireBytes: number }
  | { event: 'error'; message: string }
  | { event: 'exit'; code: number; reason: string };

export type EventName = CliEvent['event'];
