/**
 * The README's screenshots, taken from the real app: `DUET_SCREENSHOTS=1 npx playwright test
 * screenshots` writes them to docs/screenshots/ (or DUET_SCREENSHOTS_DIR). Skipped otherwise, so a
 * normal test run never rewrites committed files.
 */
import { mkdirSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { startCall } from './chat-helpers.js';
import { expect, test } from './fixtures.js';

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 360, height: 740 };
const OUT_DIR =
  process.env.DUET_SCREENSHOTS_DIR ?? fileURLToPath(new URL('../docs/screenshots', import.meta.url));

test.skip(process.env.DUET_SCREENSHOTS !== '1', 'writes docs/screenshots/: run with DUET_SCREENSHOTS=1');

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  // Viewport only, no animations or caret: small files that do not change between runs for nothing.
  await page.screenshot({ path: joinPath(OUT_DIR, name), animations: 'disabled', caret: 'hide' });
}

test('desktop: lobby, room, incoming call, in call', async ({ browser, server, room, join }) => {
  const context = await browser.newContext({ viewport: DESKTOP });
  try {
    const lobby = await context.newPage();
    await lobby.goto(`${server.baseURL}/?room=${room}`);
    await lobby.getByLabel('Your name').fill('Ada');
    await expect(lobby.getByRole('button', { name: 'Join', exact: true })).toBeVisible();
    await shoot(lobby, 'lobby.png');
  } finally {
    await context.close();
  }

  const alice = await join('Alice', { viewport: DESKTOP });
  const bob = await join('Bob', { viewport: DESKTOP });
  await alice.expectListed('Bob', 'Free');
  await expect(alice.page.getByTestId('local-video')).toBeVisible();
  await shoot(alice.page, 'room.png');

  await alice.callPerson('Bob');
  await bob.expectIncomingCall('Alice');
  await shoot(bob.page, 'incoming-call.png');

  await bob.accept();
  await alice.expectConnected();
  await alice.expectRemoteMediaFlowing();
  await shoot(alice.page, 'in-call.png');
});

test('mobile: room and in call', async ({ join }) => {
  const alice = await join('Alice', { viewport: MOBILE });
  const bob = await join('Bob', { viewport: DESKTOP });
  await alice.expectListed('Bob', 'Free');
  await shoot(alice.page, 'room-mobile.png');

  await bob.callPerson('Alice');
  await alice.expectIncomingCall('Bob');
  await alice.accept();
  await alice.expectConnected();
  await alice.expectRemoteMediaFlowing();
  await shoot(alice.page, 'in-call-mobile.png');
});

test('desktop: the peer records the call', async ({ join }) => {
  const alice = await join('Alice', { viewport: DESKTOP });
  const bob = await join('Bob', { viewport: DESKTOP });
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await alice.button('Record').click();
  await expect(bob.page.getByTestId('peer-recording')).toBeVisible();
  await bob.expectRemoteMediaFlowing();
  await shoot(bob.page, 'recording-indicator.png');
});

test('desktop: the video quality setting in a call', async ({ join }) => {
  const alice = await join('Alice', { viewport: DESKTOP });
  const bob = await join('Bob', { viewport: DESKTOP });
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await alice.expectRemoteMediaFlowing();
  await alice.button('Settings').click();
  await expect(alice.page.getByTestId('quality-setting')).toBeVisible();
  await shoot(alice.page, 'quality-setting.png');
});
