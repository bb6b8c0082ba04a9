import { fileURLToPath } from 'node:url';
import vueI18n from '@intlify/unplugin-vue-i18n/vite';
import vue from '@vitejs/plugin-vue';
import { defaultClientConditions, defineConfig } from 'vite';

/** The signaling server during development (`npm run dev` at the repository root). */
const SERVER = 'http://localhost:3000';

export default defineConfig({
  plugins: [
    vue(),
    // Compiles the messages at build time (to ASTs, which need no `eval`: the CSP is
    // `script-src 'self'`), so the app ships vue-i18n without its message compiler and the first render
    // parses no message. A message from anywhere else would not be compiled: it would show as is.
    vueI18n({
      include: [fileURLToPath(new URL('./src/i18n/locales/*.json', import.meta.url))],
      runtimeOnly: true,
      dropMessageCompiler: true,
      // Composition API only; `<i18n-t>` and `v-t` are not used, so not installed.
      compositionOnly: true,
      fullInstall: false,
    }),
  ],
  resolve: {
    // The workspace packages export their TypeScript sources under this condition, so the app is
    // compiled from source (no stale `dist/`). Vite's defaults must follow it: without them packages
    // such as `socket.io-client` would resolve to their Node builds.
    conditions: ['@duet/source', ...defaultClientConditions],
  },
  define: {
    // The plugin sets vue-i18n's other feature flags; this one keeps the devtools hooks out.
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
