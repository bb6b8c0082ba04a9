import vue from '@vitejs/plugin-vue';
import { defaultClientConditions, defineConfig } from 'vite';

/** The signaling server during development (`npm run dev` at the repository root). */
const SERVER = 'http://localhost:3000';

export default defineConfig({
  plugins: [vue()],
  resolve: {
    // The workspace packages export their TypeScript sources under this condition, so the app is
    // compiled from source (no stale `dist/`). Vite's defaults must follow it: without them packages
    // such as `socket.io-client` would resolve to their Node builds.
    conditions: ['@duet/source', ...defaultClientConditions],
  },
  define: {
    // vue-i18n's esm-bundler build reads these flags; stating them drops the legacy API and the
    // devtools hooks from the bundle and silences its start-up warning. Messages are compiled by its
    // JIT compiler, which needs no `eval`, so the strict CSP (`script-src 'self'`) holds.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    proxy: {
      '/socket.io': { target: SERVER, ws: true },
      '/healthz': SERVER,
    },
  },
  build: {
    outDir: 'dist',
    // The app needs WebRTC, so every browser that runs it supports ES2022.
    target: 'es2022',
  },
});
