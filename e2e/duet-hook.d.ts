/**
 * The web app's debug hook: `window.__duet` is its DuetClient (packages/web/src/main.ts), read-only.
 * Declared once, with the real type (from the built @duet/rtc, the code the tests run against), so a
 * change of the client's API is a type error in the tests and benchmarks that read it.
 */
import type { DuetClient } from '@duet/rtc';

declare global {
  interface Window {
    /** Absent until the app's script has run (and on pages that are not the app). */
    readonly __duet?: DuetClient;
  }
}
