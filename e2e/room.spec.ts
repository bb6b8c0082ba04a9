/**
 * The lobby and the room between calls: joining from a link, the people list, the local preview and
 * device pickers, the invite link, leaving, and the language switch.
 */
import { expect, test } from './fixtures.js';
import { startCall } from './chat-helpers.js';
import { countVideoFrames } from './media.js';

test('joining from a link: the room lists everyone, shows the preview and devices; leaving removes you', async ({
  join,
}) => {
  const alice = await join('Alice');
  await expect(alice.entry('Alice')).toContainText('(you)');
  await expect(alice.button('Call Alice')).toHaveCount(0);

  const bob = await join('Bob');
  await alice.expectListed('Bob', 'Free');
  await bob.expectListed('Alice', 'Free');
  await expect(bob.people.getByRole('listitem')).toHaveCount(2);

  // The preview plays the camera; both pickers list the fake devices (three microphones, one camera).
  await expect
    .poll(() => bob.evaluate(countVideoFrames, { testId: 'local-video', windowMs: 1000 }), {
      message: "Bob's preview presents frames",
    })
    .toBeGreaterThanOrEqual(3);
  await expect(
    bob.page.getByRole('combobox', { name: 'Microphone', exact: true }).locator('option'),
  ).toHaveCount(3);
  await expect(bob.page.getByRole('combobox', { name: 'Camera', exact: true }).locator('option')).toHaveCount(
    1,
  );

  await bob.button('Leave room').click();
  await expect(bob.button('Join')).toBeVisible();
  await expect(alice.entry('Bob')).toHaveCount(0);
  await expect(alice.people.getByRole('listitem')).toHaveCount(1);
});

test('the invite link is copied and opens the same room', async ({ join, browser, server }) => {
  const alice = await join('Alice');
  await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseURL });
  await alice.button('Copy invite link').click();
  await alice.expectNotice('Invite link copied.');
  const link = await alice.page.evaluate(() => navigator.clipboard.readText());
  expect(new URL(link).searchParams.get('room')).toBe(alice.room);

  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(link);
    await expect(page.getByLabel('Room', { exact: true })).toHaveValue(alice.room);
  } finally {
    await context.close();
  }
});

test('switching the language to 中文 translates the room, survives a reload, and switches back', async ({
  join,
}) => {
  const alice = await join('Alice');
  await join('Bob');
  const page = alice.page;

  await page.getByLabel('Language').selectOption({ label: '中文' });
  await expect(page.getByRole('list', { name: '房间中的成员' })).toBeVisible();
  await expect(page.getByRole('button', { name: '呼叫 Bob', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: '离开房间', exact: true })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', /^zh/);

  // A reload keeps both the language and the seat in the room (the session resumes).
  await page.reload();
  await expect(page.getByRole('heading', { name: alice.room })).toBeVisible();
  await expect(page.getByRole('button', { name: '呼叫 Bob', exact: true })).toBeVisible();

  await page.getByLabel('Language').selectOption({ label: 'English' });
  await expect(alice.people).toBeVisible();
  await expect(alice.button('Call Bob')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
});

test('the page may compile WebAssembly (the hash worker’s SHA-256) but not evaluate strings', async ({
  join,
}) => {
  const alice = await join('Alice');
  const verdict = await alice.page.evaluate(async () => {
    // The smallest valid module: the magic number and version.
    const wasm = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(
      () => 'compiled',
      (error: unknown) => String(error),
    );
    let evaluated: string;
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the very thing the CSP must refuse
      evaluated = String(new Function('return "evaluated"')());
    } catch {
      evaluated = 'refused';
    }
    return { wasm, evaluated };
  });
  expect(verdict).toEqual({ wasm: 'compiled', evaluated: 'refused' });
});

test.describe('a room of three', () => {
  test.use({ serverEnv: { DUET_ROOM_CAPACITY: '3' } });

  test('during a call the people in the room can be seen, and arrivals and departures are told', async ({
    join,
  }) => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await startCall(alice, bob);

    const carol = await join('Carol');
    await alice.expectNotice('Carol joined the room.');
    const peopleButton = alice.button('People in this room: 3');
    await peopleButton.click();
    await expect(peopleButton).toHaveAttribute('aria-expanded', 'true');
    await alice.expectListed('Carol', 'Free');
    await alice.expectListed('Bob', 'In a call');
    // Only who is there: nobody can be called from inside a call.
    await expect(alice.people.getByRole('button')).toHaveCount(0);

    await carol.button('Leave room').click();
    await alice.expectNotice('Carol left the room.');
    await expect(alice.entry('Carol')).toHaveCount(0);
    await expect(alice.button('People in this room: 2')).toBeVisible();
    // Escape closes the panel and gives the focus back to its button.
    await alice.page.keyboard.press('Escape');
    await expect(alice.people).toHaveCount(0);
  });
});
