/**
 * The verification dialog, driven as a person would, in Chromium (Playwright) and Firefox
 * (puppeteer-core): open "Verify", read the symbols' names, press a verdict, read the mark.
 */
import { expect, type Locator } from '@playwright/test';
import type { FirefoxPerson } from './firefox.js';
import type { Person } from './person.js';

export interface Verifier {
  readonly name: string;
  /** Press the call bar's verification button (its text is the state: "Verify", "Verified", …). */
  openVerify(): Promise<void>;
  /** The names of the six symbols the dialog shows, once it shows them. */
  symbols(): Promise<string[]>;
  /** Press a button of the dialog. */
  press(button: string): Promise<void>;
  /** The call bar's verification mark, as shown. */
  expectMark(text: string | RegExp): Promise<void>;
  /** The dialog shows this text. */
  expectDialogText(text: string): Promise<void>;
}

const readSymbols = (): string[] =>
  [...document.querySelectorAll('[data-testid="sas-name"]')].map((e) => e.textContent.trim());
const readMark = (): string | null =>
  document.querySelector('[data-testid="verify-status"]')?.textContent.trim() ?? null;

export function chromiumVerifier(person: Pick<Person, 'name' | 'page'>): Verifier {
  const dialog = (): Locator => person.page.getByTestId('verify-dialog');
  return {
    name: person.name,
    async openVerify() {
      await person.page.getByTestId('verify-status').click();
      await expect(dialog()).toBeVisible();
    },
    async symbols() {
      const names = dialog().getByRole('list', { name: 'Security symbols' }).getByTestId('sas-name');
      await expect(names).toHaveCount(6, { timeout: 20_000 });
      return names.allTextContents().then((all) => all.map((t) => t.trim()));
    },
    async press(button) {
      await dialog().getByRole('button', { name: button, exact: true }).click();
    },
    async expectMark(text) {
      await expect(person.page.getByTestId('verify-status')).toHaveText(text, { timeout: 20_000 });
    },
    async expectDialogText(text) {
      await expect(dialog()).toContainText(text);
    },
  };
}

export function firefoxVerifier(person: FirefoxPerson): Verifier {
  const poll = <T>(read: () => Promise<T>, message: string, timeout = 20_000) =>
    expect.poll(read, { message, timeout });
  return {
    name: person.name,
    async openVerify() {
      const mark = await person.find('[data-testid="verify-status"]', 'Verify', 20_000);
      await mark.click();
      await mark.dispose();
    },
    async symbols() {
      await poll(
        () => person.evaluate(readSymbols, undefined).then((s) => s.length),
        `${person.name} sees six symbols`,
      ).toBe(6);
      return person.evaluate(readSymbols, undefined);
    },
    async press(button) {
      await person.click(button);
    },
    async expectMark(text) {
      const matcher = poll(() => person.evaluate(readMark, undefined), `${person.name}'s verification mark`);
      await (typeof text === 'string' ? matcher.toBe(text) : matcher.toMatch(text));
    },
    async expectDialogText(text) {
      await person.expectText(text);
    },
  };
}
