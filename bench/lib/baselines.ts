import type { Page } from '@playwright/test';
import type { Stage } from './stage.js';

/**
 * Open a baseline's page for both people and ring, the same way in every browser benchmark: raw's
 * pages meet in `room`; PeerJS's get ids made from it (PeerJS wants letters and digits, single dashes
 * between). Once both pages are ready the caller presses Call, and this resolves when the callee's
 * Accept is enabled (bounded). `query`: more page parameters, each starting with `&` (data mode and
 * Duet's tuning, the 720p camera).
 */
export async function ringBaseline(
  stage: Stage,
  system: 'raw' | 'peerjs',
  [caller, callee]: readonly [Page, Page],
  room: string,
  query: string,
  timeoutMs: number,
): Promise<void> {
  const url = (params: string): string => `${stage.pages.origin}/${system}/index.html?${params}${query}`;
  if (system === 'raw') {
    const as = (role: string): string =>
      url(`signal=${stage.raw.origin}&room=${encodeURIComponent(room)}&role=${role}`);
    await Promise.all([caller.goto(as('caller')), callee.goto(as('callee'))]);
    for (const page of [caller, callee]) {
      await page.waitForFunction(() => window.__raw.ready);
    }
  } else {
    const id = room.replace(/[^A-Za-z0-9]+/g, 'x');
    const as = (me: string, other: string): string =>
      url(`signal=${stage.peerjs.origin}&id=${id}-${me}&peer=${id}-${other}`);
    await Promise.all([caller.goto(as('a', 'b')), callee.goto(as('b', 'a'))]);
    for (const page of [caller, callee]) {
      await page.waitForFunction(() => window.__peerjs.ready);
    }
  }
  await caller.locator('#call').click();
  await callee.locator('#accept:enabled').waitFor({ timeout: timeoutMs });
}
