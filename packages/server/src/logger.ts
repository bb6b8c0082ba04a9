import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stdout (pipe through `pino-pretty` to read them by eye). */
export function createLogger(level: string): Logger {
  return pino({ name: 'duet', level, base: { pid: process.pid } });
}
