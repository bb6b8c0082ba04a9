import { z } from 'zod';
import { ProtocolErrorSchema, type ErrorCode, type ProtocolError } from './errors.js';

/** An acknowledgement: `{ ok: true, ...value }` or `{ ok: false, error }`. */
export type Result<T extends object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

export type Failure = { ok: false; error: ProtocolError };

export function ok<T extends object>(value: T): { ok: true } & T {
  return { ok: true, ...value };
}

export function fail(code: ErrorCode, message: string, retryAfterMs?: number): Failure {
  return {
    ok: false,
    error: retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs },
  };
}

export const FailureSchema = z.object({ ok: z.literal(false), error: ProtocolErrorSchema });

/** Schema of an acknowledgement whose success carries the fields of `success`. */
export function resultSchema<S extends z.ZodRawShape>(success: S) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), ...success }), FailureSchema]);
}
