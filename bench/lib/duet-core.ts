import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';
import { BUILD_DIR } from './report.js';

const ENTRY = fileURLToPath(new URL('../pages/duet-core/', import.meta.url));

/**
 * The diagnostic pages, by the path they are served under:
 * - `core`: DuetClient without any UI (bench/pages/duet-core), the code the app ships;
 * - `core-nohash`: the same with `@noble/hashes/sha2.js` replaced by a no-op (pages/duet-core/no-hash.ts).
 */
export type CoreVariant = 'core' | 'core-nohash';

const built = new Map<CoreVariant, Promise<string>>();

/**
 * Bundle a diagnostic page the way the web app is bundled (Vite, the workspace packages compiled
 * from source). Once per process and variant; resolves to the folder to serve at `/<variant>/`.
 */
export function buildDuetCore(variant: CoreVariant = 'core'): Promise<string> {
  let done = built.get(variant);
  if (!done) {
    done = (async () => {
      const outDir = `${BUILD_DIR}duet-${variant}-${process.pid}/`;
      await build({
        configFile: false,
        root: ENTRY,
        base: `/${variant}/`,
        logLevel: 'warn',
        resolve: {
          conditions: ['@duet/source', ...defaultClientConditions],
          alias:
            variant === 'core-nohash'
              ? [{ find: /^@noble\/hashes\/sha2\.js$/, replacement: `${ENTRY}no-hash.ts` }]
              : [],
        },
        build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
      });
      return outDir;
    })();
    built.set(variant, done);
  }
  return done;
}

/** Every variant, built: what `startDuet({ corePages })` serves. */
export async function buildDuetCores(variants: readonly CoreVariant[]): Promise<Record<string, string>> {
  const dirs = await Promise.all(variants.map((v) => buildDuetCore(v)));
  return Object.fromEntries(variants.map((v, i) => [v, dirs[i]!]));
}
