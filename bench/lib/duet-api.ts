import type { Page } from '@playwright/test';
import type { CoreVariant } from './duet-core.js';

/**
 * Driving Duet through its client API (`window.__duet`) instead of its buttons: the diagnostic core
 * pages have no UI, and the app's own choices (an audio call) are reached without clicking through.
 */

/** Open the core page `variant` as Alice and Bob in `room`; resolve once both see the pair and watch. */
export async function openCorePages(
  origin: string,
  variant: CoreVariant,
  room: string,
  [alice, bob]: readonly [Page, Page],
): Promise<void> {
  const url = (name: string): string =>
    `${origin}/${variant}/index.html?room=${encodeURIComponent(room)}&name=${name}`;
  await Promise.all([alice.goto(url('Alice')), bob.goto(url('Bob'))]);
  for (const page of [alice, bob]) {
    await page.waitForFunction(
      () => document.body.dataset.ready === 'true' && window.__duet?.snapshot.room?.users.length === 2,
    );
    await page.evaluate(() => window.__bench.watchDuet());
  }
}

/** Call the other person in the room (a room of two), as the UI's "Call" / "Audio call" choices do. */
export async function callTheOtherPerson(page: Page, video: boolean): Promise<void> {
  await page.evaluate(async (withVideo) => {
    const duet = window.__duet!;
    const peer = duet.snapshot.room!.users.find((u) => u.id !== duet.snapshot.self!.id)!;
    await duet.call(peer.id, { video: withVideo });
  }, video);
}
