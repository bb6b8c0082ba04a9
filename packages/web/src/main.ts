import { DuetClient } from '@duet/rtc';
import { createApp } from 'vue';
import App from './App.vue';
import { createDuet, DUET_KEY } from './composables/useDuet.js';
import { applyDocumentLocale, i18n } from './i18n/index.js';
import './styles.css';

// One client for the page's lifetime. It is deliberately not disposed on unload: closing the socket
// on purpose counts as leaving the room at once, while a dropped one keeps the seat for the reconnect
// grace, which is what lets a reload resume the same session (and call).
const client = new DuetClient({ isSecureContext: window.isSecureContext });

// For e2e tests and debugging from the console. Read-only: a test cannot swap the client out.
Object.defineProperty(window, '__duet', {
  value: client,
  writable: false,
  configurable: false,
  enumerable: false,
});

applyDocumentLocale();
createApp(App).use(i18n).provide(DUET_KEY, createDuet(client)).mount('#app');
