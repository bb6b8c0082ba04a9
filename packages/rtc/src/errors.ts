import type { ErrorCode } from '@duet/protocol';

/**
 * Why something failed, in terms the UI can translate. Signaling refusals keep the server's code
 * (`room_full`, `busy`, …); media and connection failures have reasons of their own.
 */
export type MediaErrorReason =
  /** The user or the browser denied camera/microphone access. */
  | 'permission_denied'
  /** No camera or microphone exists. */
  | 'no_device'
  /** The device exists but another application holds it. */
  | 'device_busy'
  /** The page is not a secure context (plain HTTP on a non-localhost host), so there is no media API. */
  | 'insecure_context'
  /** The constraints (e.g. a device id that was unplugged) cannot be met. */
  | 'overconstrained'
  /** The user cancelled or denied the screen picker. */
  | 'screen_share_denied'
  /** The browser lacks the API (e.g. getDisplayMedia on a phone). */
  | 'unsupported'
  | 'unknown';

export type ConnectionErrorReason =
  /** Could not reach the signaling server. */
  | 'server_unreachable'
  /** The server speaks another protocol version: reload the page. */
  | 'unsupported_protocol_version'
  /** The peer connection failed and ICE restarts did not bring it back. */
  | 'connection_failed'
  /** The server did not answer a request in time. */
  | 'timeout'
  /** The connection to the server dropped before it answered (the request may or may not have landed). */
  | 'connection_lost'
  /** Another tab or window took over this tab's session (the same session token). */
  | 'session_replaced'
  /** The user stopped waiting to be let into a room. */
  | 'join_cancelled';

export type DuetErrorReason = ErrorCode | MediaErrorReason | ConnectionErrorReason;

/** The one error class the call core throws; `reason` is what the UI translates. */
export class DuetError extends Error {
  override readonly name = 'DuetError';

  /** With a limit (`too_many_attempts`): how long the server asked to wait before trying again. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly reason: DuetErrorReason,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}
