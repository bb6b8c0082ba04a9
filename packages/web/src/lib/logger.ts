/** A scoped logger for the web app: problems worth a developer's attention, never user-facing text. */
export interface Logger {
  /** Diagnostics (the call core's lines with the debug switch on). */
  debug(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

export function createLogger(scope: string): Logger {
  const prefix = `[duet:${scope}]`;
  return {
    // The console is this logger's sink; everywhere else `no-console` keeps stray logs out.
    // eslint-disable-next-line no-console
    debug: (message, detail) => console.debug(prefix, message, ...(detail === undefined ? [] : [detail])),
    // eslint-disable-next-line no-console
    warn: (message, detail) => console.warn(prefix, message, ...(detail === undefined ? [] : [detail])),
    // eslint-disable-next-line no-console
    error: (message, detail) => console.error(prefix, message, ...(detail === undefined ? [] : [detail])),
  };
}
