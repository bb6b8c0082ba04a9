import { createI18n } from 'vue-i18n';
import { readSetting, STORAGE_KEYS, writeSetting } from '../lib/storage.js';
import { en, type Messages, zhCN } from './messages.js';

export type { MessageKey, Messages } from './messages.js';

/** The languages offered, each named in itself so anyone can find their own. */
export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '中文' },
] as const;
export type Locale = (typeof LOCALES)[number]['code'];

function isLocale(value: unknown): value is Locale {
  return LOCALES.some((locale) => locale.code === value);
}

/** A remembered choice wins; otherwise the first browser language we have (any `zh*` → zh-CN). */
export function detectLocale(stored: string | null, languages: readonly string[]): Locale {
  if (isLocale(stored)) {
    return stored;
  }
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (lower.startsWith('zh')) {
      return 'zh-CN';
    }
    if (lower.startsWith('en')) {
      return 'en';
    }
  }
  return 'en';
}

const initial = detectLocale(
  readSetting(STORAGE_KEYS.locale),
  typeof navigator === 'undefined'
    ? []
    : navigator.languages.length
      ? navigator.languages
      : [navigator.language],
);

export const i18n = createI18n<[Messages], Locale, false>({
  // Deprecated is legacy *mode*; `false` selects the Composition API, the only mode from v12 on.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  legacy: false,
  locale: initial,
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
  // Missing keys are a type error already; no console noise in production.
  missingWarn: import.meta.env.DEV,
  fallbackWarn: import.meta.env.DEV,
});

/** Switch language, remember it, and keep `<html lang>` in step (screen readers pick voices by it). */
export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  writeSetting(STORAGE_KEYS.locale, locale);
  applyDocumentLocale(locale);
}

export function applyDocumentLocale(locale: Locale = i18n.global.locale.value): void {
  document.documentElement.lang = locale;
}

export { isLocale };
