/**
 * Chat and call helpers for the chat, file and resilience specs: placing a call between any two
 * participants, using the chat through the UI (Chromium through Playwright locators, Firefox through
 * plain DOM code like FirefoxPerson), and reading what the app holds (`window.__duet.snapshot`).
 * In-page functions are serialized into the page, so they reference nothing outside themselves.
 */
import { expect, type Locator } from '@playwright/test';
import type { FirefoxPerson } from './firefox.js';
import type { Evaluate } from './media.js';
import type { Participant, Person } from './person.js';

/** `caller` calls `callee`, who accepts; both see the call connected. */
export async function startCall(caller: Participant, callee: Participant): Promise<void> {
  await caller.callPerson(callee.name);
  await callee.expectIncomingCall(caller.name);
  await callee.accept();
  await caller.expectConnected();
  await callee.expectConnected();
}

// -------------------------------------------------------------------------------------------------
// In the page
// -------------------------------------------------------------------------------------------------

/** The texts of the chat messages the app holds from `from`, in order. */
export function chatTexts(from: 'self' | 'peer'): string[] {
  return (window.__duet?.snapshot.chat ?? []).filter((m) => m.from === from).map((m) => m.text);
}

/** Our own messages' delivery states, as the app holds them. */
export function chatStatuses(): string[] {
  return (window.__duet?.snapshot.chat ?? []).filter((m) => m.from === 'self').map((m) => m.status);
}

/** Whether the messenger channel to the peer is open (both sides said hello). */
export function dataChannelOpen(): boolean {
  return window.__duet?.snapshot.dataChannelOpen ?? false;
}

/** The texts of the rendered chat messages from `from` (each bubble's text paragraph), in order. */
export function renderedChatTexts(from: 'self' | 'peer'): string[] {
  return [...document.querySelectorAll(`[data-testid="chat-message"][data-from="${from}"] .text`)].map(
    (element) => element.textContent,
  );
}

/**
 * Start recording, per own message (by position), every distinct "Sending…"/"Delivered" text the DOM
 * shows, as it changes (a MutationObserver): proof that the first state was rendered, however short.
 */
export function watchChatStatuses(): void {
  const seen: string[][] = [];
  (window as unknown as { __e2eChatStatuses: string[][] }).__e2eChatStatuses = seen;
  const read = (): void => {
    document.querySelectorAll('[data-testid="chat-status"]').forEach((element, index) => {
      const text = element.textContent.trim();
      const list = (seen[index] ??= []);
      if (list.at(-1) !== text) {
        list.push(text);
      }
    });
  };
  new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  read();
}

export function readChatStatuses(): string[][] {
  return (window as unknown as { __e2eChatStatuses?: string[][] }).__e2eChatStatuses ?? [];
}

// -------------------------------------------------------------------------------------------------
// Chromium (Playwright)
// -------------------------------------------------------------------------------------------------

export function chatButton(person: Person): Locator {
  return person.button('Chat');
}

export function messageBox(person: Person): Locator {
  return person.page.getByRole('textbox', { name: 'Message' });
}

export function chatMessages(person: Person, from: 'self' | 'peer'): Locator {
  return person.page.locator(`[data-testid="chat-message"][data-from="${from}"]`);
}

/** The text paragraphs of the rendered messages from `from` (without sender and time). */
export function messageTexts(person: Person, from: 'self' | 'peer'): Locator {
  return chatMessages(person, from).locator('.text');
}

/** Open the chat panel (if closed) and wait for its message box. */
export async function openChat(person: Person): Promise<void> {
  if ((await chatButton(person).getAttribute('aria-expanded')) !== 'true') {
    await chatButton(person).click();
  }
  await expect(chatButton(person)).toHaveAttribute('aria-expanded', 'true');
  await expect(messageBox(person)).toBeVisible();
}

/** Close the chat panel (if open). */
export async function closeChat(person: Person): Promise<void> {
  if ((await chatButton(person).getAttribute('aria-expanded')) === 'true') {
    await chatButton(person).click();
  }
  await expect(messageBox(person)).toHaveCount(0);
}

/** Type `text` into the open chat and send it with Enter or the Send button; the box empties. */
export async function typeAndSend(person: Person, text: string, via: 'enter' | 'button'): Promise<void> {
  const box = messageBox(person);
  await box.fill(text);
  if (via === 'enter') {
    await box.press('Enter');
  } else {
    await person.button('Send').click();
  }
  await expect(box).toHaveValue('');
}

/** The app holds exactly `texts` from the peer, in this order (bounded). */
export async function expectPeerTexts(
  who: { name: string; evaluate: Evaluate },
  texts: string[],
  timeout = 10_000,
): Promise<void> {
  await expect
    .poll(() => who.evaluate(chatTexts, 'peer'), {
      message: `${who.name} holds the peer's messages`,
      timeout,
    })
    .toEqual(texts);
}

/** Every own message the app holds is delivered (acknowledged by the peer). */
export async function expectAllDelivered(
  who: { name: string; evaluate: Evaluate },
  count: number,
  timeout = 10_000,
): Promise<void> {
  await expect
    .poll(() => who.evaluate(chatStatuses, undefined), {
      message: `${who.name}'s ${count} messages are delivered`,
      timeout,
    })
    .toEqual(Array<string>(count).fill('delivered'));
}

// -------------------------------------------------------------------------------------------------
// Firefox (puppeteer-core)
// -------------------------------------------------------------------------------------------------

/** Open the chat in Firefox by clicking "Chat", and wait for the message box. */
export async function openChatFirefox(fox: FirefoxPerson): Promise<void> {
  await fox.click('Chat');
  await (await fox.find('label', 'Message')).dispose();
}

/** Type `text` into Firefox's message box and press Enter (real key input over WebDriver BiDi). */
export async function typeAndSendFirefox(fox: FirefoxPerson, text: string): Promise<void> {
  const box = await fox.find('label', 'Message');
  await box.click();
  await box.type(text);
  await fox.page.keyboard.press('Enter');
  await box.dispose();
  await expect
    .poll(
      () =>
        fox.evaluate(
          () => document.querySelector<HTMLTextAreaElement>('textarea.composer-input')?.value ?? null,
          undefined,
        ),
      { message: `${fox.name}'s message box empties after Enter` },
    )
    .toBe('');
}
