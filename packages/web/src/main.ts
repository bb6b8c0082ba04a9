import { createWorkerHasherFactory, DuetClient, FileWorker } from '@duet/rtc';
import { createApp } from 'vue';
import App from './App.vue';
import { createDuet, DUET_KEY } from './composables/useDuet.js';
import { applyDocumentLocale, i18n } from './i18n/index.js';
import { createLogger } from './lib/logger.js';
import { readQualityMode } from './lib/quality-setting.js';
import { readSetting, STORAGE_KEYS, writeSetting } from './lib/storage.js';
import { IndexedDbFileStore } from './lib/received-file-store.js';
import { keptCertificates } from './lib/certificate-store.js';
import './styles.css';

// One client for the page's lifetime. It is deliberately not disposed on unload: closing the socket
// on purpose counts as leaving the room at once, while a dropped one keeps the seat for the reconnect
// grace, which is what lets a reload resume the same session (and call).
const log = createLogger('files');

/**
 * The debug switch: `?debug` in the address (`?debug=0` to stop) prints the call core's log lines
 * (ICE restarts, rebuilt connections, resumed transfers) to the console for the rest of this tab's life.
 */
function debugEnabled(): boolean {
  const asked = new URLSearchParams(window.location.search).get('debug');
  if (asked !== null) {
    writeSetting(STORAGE_KEYS.debug, asked === '0' ? null : '1', 'session');
  }
  return readSetting(STORAGE_KEYS.debug, 'session') === '1';
}
const coreLog = createLogger('core');
// File bytes off the main thread. Started once the page has settled (loading its script is work
// the page does not need while it rejoins a call after a reload), well before anyone picks a file;
// a transfer that starts before it is ready simply runs on the page. `?fileworker=0` turns it off
// (a way around a browser bug, and the benchmark's comparison).
const fileWorker =
  typeof Worker === 'undefined' || new URLSearchParams(window.location.search).get('fileworker') === '0'
    ? undefined
    : new FileWorker(
        () => new Worker(new URL('./lib/file-worker.ts', import.meta.url), { type: 'module' }),
        (message, detail) => log.warn(message, detail),
      );
if (fileWorker) {
  const start = (): void => fileWorker.start();
  if (typeof requestIdleCallback === 'function') {
    requestIdleCallback(start, { timeout: 3000 });
  } else {
    setTimeout(start, 1000);
  }
}
const client = new DuetClient({
  isSecureContext: window.isSecureContext,
  // This browser's DTLS certificate, the same in every call: a peer verified once stays verified.
  certificates: keptCertificates(),
  ...(debugEnabled() ? { log: (message: string, detail?: unknown) => coreLog.debug(message, detail) } : {}),
  // Files received in a call survive a reload of the tab.
  ...(typeof indexedDB === 'undefined' ? {} : { receivedFiles: new IndexedDbFileStore() }),
  // File hashes in a worker: on the main thread SHA-256 took most of the time a transfer had to
  // feed its data channel. Without Worker support the factory hashes on this thread instead.
  ...(fileWorker ? { fileWorker } : {}),
  ...(typeof Worker === 'undefined'
    ? {}
    : {
        createHasher: createWorkerHasherFactory(
          () => new Worker(new URL('./lib/hash-worker.ts', import.meta.url), { type: 'module' }),
          { log: (message, detail) => log.warn(message, detail) },
        ),
      }),
});

// The user's video quality setting from an earlier visit (Auto when none).
client.quality.setMode(readQualityMode());

// For e2e tests and debugging from the console. Read-only: a test cannot swap the client out.
Object.defineProperty(window, '__duet', {
  value: client,
  writable: false,
  configurable: false,
  enumerable: false,
});

applyDocumentLocale();
createApp(App).use(i18n).provide(DUET_KEY, createDuet(client)).mount('#app');
