/**
 * The core's log: one function handed down from DuetClient to every part, each part prefixing its
 * scope. The core never writes to the console itself; the app decides where lines go (the web app
 * prints them with its debug switch on, tests collect them), and without a sink they cost nothing.
 */
export type Log = (message: string, detail?: unknown) => void;

/** Drops every line. */
export const silentLog: Log = () => {};

/** `log` with `[scope]` in front of every line. */
export function scopedLog(log: Log, scope: string): Log {
  return log === silentLog ? silentLog : (message, detail) => log(`[${scope}] ${message}`, detail);
}
