import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** `import { a, b } from './sibling.js';`: the one kind of import a script module may have. */
const SIBLING_IMPORT = /^import \{([\w\s,]*)\} from '\.\/([\w-]+)\.js';$/gm;

/**
 * A module as a classic script (for `addInitScript`), wrapped so its names stay its own. Its imports
 * of sibling modules (code it shares with Node, e.g. pages/test-bytes.ts) are inlined ahead of it,
 * their `export` keywords dropped: names as exported, no renaming, and nothing else imported or
 * exported, in it or in them.
 */
export function transpileToScript(file: string): string {
  const inlined: string[] = [];
  const js = transpileFile(file)
    .replace(SIBLING_IMPORT, (_, names: string, sibling: string) => {
      if (/\sas\s/.test(names)) {
        throw new Error(`${file}: no renaming in script imports`);
      }
      inlined.push(transpileFile(join(dirname(file), `${sibling}.ts`)).replace(/^export /gm, ''));
      return '';
    })
    .replace(/^export \{\s*\};?\s*$/m, '');
  const script = [...inlined, js].join('\n');
  if (/^\s*(import|export)\s/m.test(script)) {
    throw new Error(`${file} imports or exports more than it may`);
  }
  return `(() => {\n${script}\n})();\n`;
}
