/// <reference types="vite/client" />
import type { DuetClient } from '@duet/rtc';

declare global {
  interface Window {
    /** The running call client, for end-to-end tests and debugging in the console (read-only). */
    readonly __duet?: DuetClient;
  }
}
