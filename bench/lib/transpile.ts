import { readFileSync } from 'node:fs';
import ts from 'typescript';

/**
 * TypeScript → JavaScript for the code the benchmarks ship into pages and baseline processes: type
 * annotations stripped, nothing bundled or renamed (no helpers such as esbuild's `__name`, which
 * would break code that runs in a page). Type-only imports disappear; value imports stay as written.
 */
export function transpileFile(file: string): string {
  const source = readFileSync(file, 'utf8');
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      sourceMap: false,
      removeComments: false,
    },
  }).outputText;
}

/** A module with no imports as a classic script (for `addInitScript`): `export {}` dropped, wrapped. */
export function transpileToScript(file: string): string {
  const js = transpileFile(file).replace(/^export \{\s*\};?\s*$/m, '');
  if (/^\s*(import|export)\s/m.test(js)) {
    throw new Error(`${file} must not import or export anything`);
  }
  return `(() => {\n${js}\n})();\n`;
}
