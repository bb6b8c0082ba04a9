import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/browsers.js';
import { transpileToScript } from './transpile.js';

const BENCH = fileURLToPath(new URL('../', import.meta.url));

/**
 * Debian's Chromium, headless, with the e2e suite's flags (fake camera and microphones, loopback ICE
 * candidates, no mDNS names, autoplay): see TESTING.md. Never a downloaded browser.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: run \`bash scripts/ensure-system-deps.sh\` (as root)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

let probe: string | undefined;

/**
 * A fresh context (its own storage, like another person's browser) with the probe injected into
 * every page before the page's own scripts.
 */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  probe ??= transpileToScript(`${BENCH}pages/probe.ts`);
  await context.addInitScript({ content: probe });
  return context;
}

/** A page whose console errors and crashes are kept, to explain a failed run. */
export async function newPage(context: BrowserContext, log: string[], who: string): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      log.push(`[${who} ${message.type()}] ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => log.push(`[${who} pageerror] ${error.stack ?? error.message}`));
  return page;
}

/**
 * One run with two people: a fresh context each (another person's browser) and a page whose console
 * errors are kept; `body` drives the two pages, within `timeoutMs` if given. The contexts are closed
 * afterwards, whatever happened. Resolves to null, or to why the run failed followed by the pages'
 * last console lines.
 */
export async function withTwoPeople(
  browser: Browser,
  who: readonly [string, string],
  body: (first: Page, second: Page) => Promise<void>,
  timeoutMs?: number,
): Promise<string | null> {
  const log: string[] = [];
  const contexts = await Promise.all([newContext(browser), newContext(browser)]);
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await newPage(contexts[0], log, who[0]);
    const second = await newPage(contexts[1], log, who[1]);
    await Promise.race([
      body(first, second),
      new Promise<never>((_, reject) => {
        if (timeoutMs === undefined) {
          return;
        }
        timer = setTimeout(() => reject(new Error(`run exceeded ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (error) {
    return `${error instanceof Error ? error.message : String(error)}\n${log.slice(-20).join('\n')}`;
  } finally {
    clearTimeout(timer);
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  }
}

export interface Mark {
  name: string;
  at: number;
}

export function marksOf(page: Page): Promise<Mark[]> {
  return page.evaluate(() => window.__bench.marks());
}

/** Wait (bounded) until the page has recorded all of `names`. */
export async function waitForMarks(page: Page, names: readonly string[], timeoutMs: number): Promise<void> {
  await page.waitForFunction((wanted) => wanted.every((name) => window.__bench.has(name)), names, {
    timeout: timeoutMs,
    polling: 20,
  });
}

/** The same for each of `pages`, at once. */
export async function waitForMarksOnEach(
  pages: readonly Page[],
  names: readonly string[],
  timeoutMs: number,
): Promise<void> {
  await Promise.all(pages.map((page) => waitForMarks(page, names, timeoutMs)));
}
