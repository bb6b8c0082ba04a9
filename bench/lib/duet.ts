import type { Page } from '@playwright/test';

/** Driving Duet's real web app the way a person does (the e2e suite's selectors). */

const STEP_TIMEOUT_MS = 15_000;

/** Open the room link, type the name, press Join; resolve once in the room. */
export async function joinRoom(
  page: Page,
  origin: string,
  room: string,
  name: string,
  query: Record<string, string> = {},
): Promise<void> {
  await page.goto(`${origin}/?${new URLSearchParams({ room, ...query }).toString()}`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForFunction(() => Boolean(window.__duet?.snapshot.room), null, { timeout: STEP_TIMEOUT_MS });
  await page.evaluate(() => window.__bench.watchDuet());
}

/** Both people are listed and both previews (camera and microphone) are live. */
export async function waitForPair(pages: readonly Page[]): Promise<void> {
  for (const page of pages) {
    await page.waitForFunction(
      () => window.__duet?.snapshot.room?.users.length === 2 && window.__duet.snapshot.local.stream !== null,
      null,
      { timeout: STEP_TIMEOUT_MS },
    );
  }
}

/** The caller presses "Call <name>" (a video call, the UI's default). */
export async function clickCall(page: Page, calleeName: string): Promise<void> {
  await page.getByRole('button', { name: `Call ${calleeName}`, exact: true }).click();
}

/** The incoming-call dialog's Accept button, once it rings. */
export async function waitForRing(page: Page): Promise<void> {
  await page
    .getByRole('dialog', { name: 'Incoming call' })
    .getByRole('button', { name: 'Accept', exact: true })
    .waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
}

export async function clickAccept(page: Page): Promise<void> {
  await page
    .getByRole('dialog', { name: 'Incoming call' })
    .getByRole('button', { name: 'Accept', exact: true })
    .click();
}

/** Open the call's chat panel (where files are sent and offers answered), unless it is open. */
export async function openChat(page: Page): Promise<void> {
  const button = page.getByRole('button', { name: 'Chat', exact: true });
  if ((await button.getAttribute('aria-expanded')) !== 'true') {
    await button.click();
  }
  await page
    .getByRole('textbox', { name: 'Message' })
    .waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
}

/** Offer a file on disk the way a person does: the chat's file input (what its paper clip opens). */
export async function sendFileThroughUi(page: Page, path: string): Promise<void> {
  await openChat(page);
  await page.getByTestId('file-input').setInputFiles(path);
}

/** Wait for the offer of `name` in the receiver's chat and press its "Accept <name>" button. */
export async function acceptFileThroughUi(
  page: Page,
  name: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
  await openChat(page);
  await page.getByRole('button', { name: `Accept ${name}`, exact: true }).click({ timeout: timeoutMs });
}
