/**
 * Firefox ESR (puppeteer-core over WebDriver BiDi) and Chromium (Playwright) call each other, each
 * way round, and media flows both ways.
 */
import { test } from './fixtures.js';
import type { Participant } from './person.js';

async function callAndTalk(caller: Participant, callee: Participant): Promise<void> {
  await caller.callPerson(callee.name);
  await callee.expectIncomingCall(caller.name);
  await callee.accept();
  await caller.expectConnected();
  await callee.expectConnected();

  await caller.expectRemoteMediaFlowing();
  await callee.expectRemoteMediaFlowing();

  await caller.hangUp();
  await callee.expectNotice(`${caller.name} hung up.`);
  await caller.expectInRoom();
  await callee.expectInRoom();
}

test('Firefox calls Chromium', async ({ join, joinFirefox }) => {
  const fox = await joinFirefox('Fox');
  const chrome = await join('Chrome');
  await fox.expectListed('Chrome');
  await chrome.expectListed('Fox', 'Free');
  await callAndTalk(fox, chrome);
});

test('Chromium calls Firefox', async ({ join, joinFirefox }) => {
  const chrome = await join('Chrome');
  const fox = await joinFirefox('Fox');
  await chrome.expectListed('Fox', 'Free');
  await fox.expectListed('Chrome');
  await callAndTalk(chrome, fox);
});
