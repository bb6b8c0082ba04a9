/**
 * Firefox ESR as a call peer: puppeteer-core drives Debian's /usr/bin/firefox-esr over WebDriver
 * BiDi (no geckodriver, no downloaded browser). Tests stay in Playwright's runner; only the page
 * driving differs, so FirefoxPerson offers the same helpers as Person.
 */
import { expect } from '@playwright/test';
import puppeteer, { type Browser, type BrowserContext, type ElementHandle, type Page } from 'puppeteer-core';
import { FIREFOX_PATH, FIREFOX_PREFS } from './browsers.js';
import { expectRemoteMediaFlowing, type Evaluate } from './media.js';
import type { Participant } from './person.js';

const TIMEOUT_MS = 10_000;

export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS },
  });
}

/**
 * In-page: the element of `selector` whose text (or aria-label) is exactly `name`, outside any inert
 * part of the page and rendered; for a `label`, the control it labels. Lookups by accessible name in
 * plain DOM code: puppeteer's ARIA queries hang in Firefox while the app shows its modal call dialog.
 */
function findByName(arg: { selector: string; name: string }): Element | null {
  for (const element of document.querySelectorAll(arg.selector)) {
    const text = (element.getAttribute('aria-label') ?? element.textContent).replace(/\s+/g, ' ').trim();
    if (text !== arg.name || element.closest('[inert]') || element.getClientRects().length === 0) {
      continue;
    }
    return element instanceof HTMLLabelElement ? element.control : element;
  }
  return null;
}

/**
 * Someone using Duet in a browser puppeteer-core drives: Firefox ESR, or a headed Chromium on a
 * virtual display (background-tab.spec.ts: only a headed browser really puts a tab in the background).
 */
export class FirefoxPerson implements Participant {
  private readonly console: string[] = [];

  constructor(
    readonly name: string,
    readonly room: string,
    readonly page: Page,
    readonly context: BrowserContext,
    readonly browserName: 'firefox' | 'chromium' = 'firefox',
  ) {
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on('console', (message) => this.console.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) =>
      this.console.push(
        `[pageerror] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
    );
  }

  readonly evaluate: Evaluate = <Arg, R>(fn: (arg: Arg) => R | Promise<R>, arg: Arg): Promise<R> =>
    this.page.evaluate(fn as (arg: unknown) => R | Promise<R>, arg);

  consoleLog(): string {
    return this.console.join('\n');
  }

  async submitJoin(baseURL: string): Promise<void> {
    await this.page.goto(`${baseURL}/?room=${encodeURIComponent(this.room)}`);
    const input = await this.find('label', 'Your name');
    await input.click();
    await input.type(this.name);
    await this.click('Join');
  }

  async expectInRoom(): Promise<void> {
    await (await this.find('h1', this.room)).dispose();
    await (await this.find('ul', 'People in this room')).dispose();
  }

  /** Someone named `name` is in the people list. */
  async expectListed(name: string): Promise<void> {
    await this.waitFor(
      (who) =>
        [
          ...document.querySelectorAll(
            '[aria-label="People in this room"] li, [aria-label="People in this room"] [role="listitem"]',
          ),
        ].some((item) => item.textContent.includes(who)),
      name,
      `${this.name} sees ${name} in the room`,
    );
  }

  /** Wait (bounded) for the element `findByName` finds, and return it. */
  async find(selector: string, name: string, timeout = TIMEOUT_MS): Promise<ElementHandle> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const handle = await this.page.evaluateHandle(findByName, { selector, name });
      const element = handle.asElement();
      if (element) {
        return element as ElementHandle;
      }
      await handle.dispose();
      if (Date.now() > deadline) {
        throw new Error(`${this.name} (Firefox): no ${selector} named "${name}"`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Click the button named `name` (real pointer input, through WebDriver BiDi). */
  async click(name: string): Promise<void> {
    const button = await this.find('button', name);
    await button.click();
    await button.dispose();
  }

  async callPerson(name: string): Promise<void> {
    await this.click(`Call ${name}`);
    await this.expectText(`Calling ${name}…`);
  }

  async expectIncomingCall(from: string): Promise<void> {
    await (await this.find('[role="dialog"]', 'Incoming call')).dispose();
    await this.expectText(`${from} is calling`);
  }

  async accept(): Promise<void> {
    await this.click('Accept');
  }

  async decline(): Promise<void> {
    await this.click('Decline');
  }

  async hangUp(): Promise<void> {
    await this.click('Hang up');
  }

  async expectConnected(): Promise<void> {
    await this.waitFor(
      () => document.querySelector('[data-testid="call-state"]')?.textContent.trim() === 'Connected',
      undefined,
      `${this.name}'s call state is Connected`,
      20_000,
    );
  }

  /** A notice with exactly this text is on screen (the notice region holds a list of them). */
  async expectNotice(text: string): Promise<void> {
    await this.waitFor(
      (wanted) =>
        [...document.querySelectorAll('[data-testid="notice"] *')].some(
          (element) => element.children.length === 0 && element.textContent.trim() === wanted,
        ),
      text,
      `${this.name} sees the notice "${text}"`,
    );
  }

  async expectText(text: string): Promise<void> {
    await this.waitFor(
      (wanted) => document.body.innerText.includes(wanted),
      text,
      `${this.name} sees "${text}"`,
    );
  }

  async expectRemoteMediaFlowing(): Promise<void> {
    await expectRemoteMediaFlowing(this.evaluate, `${this.name} (Firefox)`);
  }

  /** Poll an in-page predicate with Playwright's expect.poll, so failures read like the others. */
  private async waitFor<Arg>(
    predicate: (arg: Arg) => boolean,
    arg: Arg,
    message: string,
    timeout = TIMEOUT_MS,
  ): Promise<void> {
    await expect.poll(() => this.evaluate(predicate, arg), { message, timeout }).toBe(true);
  }
}
