/**
 * What `duet` tells a script by its exit status. Distinct codes so a script can tell "the person
 * said no" from "the network broke" without parsing text. Listed in every command's `--help`.
 */
export const EXIT = {
  /** Everything asked was done (files sent and verified, received and verified, chat ended). */
  ok: 0,
  /** Anything else that went wrong (the connection to the peer failed, a file could not be read). */
  failed: 1,
  /** Bad arguments or environment (unknown option, missing file, bad room link). */
  usage: 2,
  /** The signaling server could not be reached (or speaks another protocol version). */
  unreachable: 3,
  /** The peer declined the call or a file, or cancelled a file. */
  declined: 4,
  /** The peer hung up or left before everything was done. */
  peerLeft: 5,
  /** A file's SHA-256 did not match on the receiving side. */
  hashMismatch: 6,
  /** Nobody answered the call, or nobody came within --wait. */
  noAnswer: 7,
  /** Interrupted (Ctrl-C): the transfers were cancelled and the peer told. 128 + SIGINT, as shells do. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
export type ExitName = keyof typeof EXIT;

/** The exit-status table printed at the end of `--help`. */
export function exitCodeHelp(): string {
  const rows: Array<[number, string]> = [
    [EXIT.ok, 'done'],
    [EXIT.failed, 'failed (connection to the peer, unreadable file, …)'],
    [EXIT.usage, 'bad arguments (or the room password is missing or wrong)'],
    [EXIT.unreachable, 'server unreachable'],
    [EXIT.declined, 'declined (the call, a file, or your knock) or cancelled by the peer'],
    [EXIT.peerLeft, 'peer left or hung up before the end'],
    [EXIT.hashMismatch, 'hash mismatch (SHA-256)'],
    [EXIT.noAnswer, 'no answer / nobody came within --wait / nobody let you in'],
    [EXIT.interrupted, 'interrupted (Ctrl-C); the peer is told'],
  ];
  return ['Exit status:', ...rows.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`)].join('\n');
}

/** A failure that ends the command with a given exit status. */
export class CliFailure extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}
