import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources directly: the workspace packages export them under this condition,
// ahead of Vite's usual conditions (which must stay, or e.g. `ws` resolves to its browser stub).
const SOURCE = '@duet/source';

export default defineConfig({
  resolve: { conditions: [SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // Vitest's default is one worker per core but one, which on CI's two cores is one: the files then
    // run in series although most of their time is spent waiting on sockets, Redis and coturn. Two
    // workers, one a core: three took the suite from ~330 s to ~170 s, but on a machine loaded by
    // other work as well, a Duet process then took over 20 s to start; two leave more room.
    maxWorkers: 2,
  },
});
