import { baseCompile, type CompileError, createParser, detectHtmlTag } from '@intlify/message-compiler';
import { describe, expect, it } from 'vitest';
import { createI18n } from 'vue-i18n';
import { en, type Messages, zhCN } from '../src/i18n/messages.js';

const LOCALES = { en, 'zh-CN': zhCN } satisfies Record<string, Messages>;

/** Every message as `dotted.key → text`. */
function flatten(tree: object, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') {
      out.set(`${prefix}${key}`, value);
    } else {
      for (const [k, v] of flatten(value as object, `${prefix}${key}.`)) {
        out.set(k, v);
      }
    }
  }
  return out;
}

/** The message compiler's node types (a `const enum` in its typings, which isolated modules cannot read). */
const NODE = { message: 2, text: 3, named: 4 } as const;

interface Parsed {
  /** The node types of the message's parts; a plural (`|`) has no single message body, so `null`. */
  parts: number[] | null;
  /** Named placeholders (`{name}`), sorted. */
  placeholders: string[];
}

function parse(text: string): Parsed {
  const body = createParser({ location: false }).parse(text).body as {
    type: number;
    items?: Array<{ type: number; key?: string }>;
  };
  if (body.type !== NODE.message || !body.items) {
    return { parts: null, placeholders: [] };
  }
  return {
    parts: body.items.map((item) => item.type),
    placeholders: body.items
      .flatMap((item) => (item.type === NODE.named && item.key ? [item.key] : []))
      .sort(),
  };
}

/** Compiled as the production build compiles it (@intlify/bundle-utils: JIT form, minified AST). */
function compile(text: string): { ast: unknown; errors: CompileError[] } {
  const errors: CompileError[] = [];
  const { ast } = baseCompile(text, {
    jit: true,
    minify: true,
    location: false,
    onError: (e) => errors.push(e),
  });
  return { ast, errors };
}

/**
 * The same tree with every message replaced by its compiled form, typed as the source: so is the app's
 * bundled JSON, which vue-i18n takes either way.
 */
function compileTree<T extends object>(tree: T): T {
  return Object.fromEntries(
    Object.entries(tree).map(([key, value]) => [
      key,
      typeof value === 'string' ? compile(value).ast : compileTree(value as object),
    ]),
  ) as T;
}

const english = flatten(en);

describe('locale files', () => {
  it('have exactly the same keys', () => {
    for (const messages of Object.values(LOCALES)) {
      expect([...flatten(messages).keys()].sort()).toEqual([...english.keys()].sort());
    }
  });

  it.each(Object.entries(LOCALES))('%s: every message compiles, without markup', (_locale, messages) => {
    for (const [key, text] of flatten(messages)) {
      expect(
        compile(text).errors.map((e) => e.message),
        key,
      ).toEqual([]);
      // The build rejects messages with HTML tags (`strictMessage`).
      expect(detectHtmlTag(text), key).toBe(false);
    }
  });

  it.each(Object.entries(LOCALES))(
    '%s: every message is text and {named} placeholders only (no plural, linked or list syntax)',
    (_locale, messages) => {
      for (const [key, text] of flatten(messages)) {
        const { parts } = parse(text);
        expect(parts, key).not.toBeNull();
        expect(
          parts?.filter((type) => type !== NODE.text && type !== NODE.named),
          key,
        ).toEqual([]);
      }
    },
  );

  it('have the placeholders of the English message in every translation', () => {
    for (const [locale, messages] of Object.entries(LOCALES)) {
      const texts = flatten(messages);
      for (const [key, text] of english) {
        expect(parse(texts.get(key) ?? '').placeholders, `${locale} ${key}`).toEqual(
          parse(text).placeholders,
        );
      }
    }
  });

  it('render the same compiled as from source', () => {
    const locales = Object.keys(LOCALES) as Array<keyof typeof LOCALES>;
    const options = { legacy: false, locale: 'en', missingWarn: false, fallbackWarn: false } as const;
    const source = createI18n({ ...options, messages: LOCALES });
    const compiled = createI18n({
      ...options,
      messages: compileTree(LOCALES),
    });
    for (const locale of locales) {
      for (const [key, text] of english) {
        const params = Object.fromEntries(parse(text).placeholders.map((name) => [name, `<${name}>`]));
        const expected = source.global.t(key, params, { locale });
        expect(expected, `${locale} ${key}`).not.toBe(key);
        expect(compiled.global.t(key, params, { locale }), `${locale} ${key}`).toBe(expected);
      }
    }
  });
});
