import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources directly: the workspace packages export them under this condition.
const conditions = ['@duet/source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@duet/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real ports; a little parallelism is fine on 2 cores.
    pool: 'forks',
  },
});
