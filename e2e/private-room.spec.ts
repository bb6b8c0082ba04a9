/**
 * Private rooms through the UI, on a server with its defaults (no open rooms): Alice makes a private
 * room that asks to join, copies its link; Bob opens the link, knocks and waits; Alice admits him;
 * they call and verify the call (both see the same symbols, both get the verified mark). Carol
 * knocks while they talk, and Alice lets her in from the call screen. Eve, with a link of the same
 * room name and a guessed secret, gets nothing.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from './fixtures.js';
import { chromiumVerifier } from './verify-helpers.js';

// Private by default: the other specs' open rooms are off here. Three password tries a minute.
// Three seats, so that someone can knock while the other two are in a call.
test.use({
  serverEnv: { DUET_OPEN_ROOMS: 'false', DUET_PASSWORD_ATTEMPTS_PER_IP: '3', DUET_ROOM_CAPACITY: '3' },
});

test('a private room: copied link, knock, admit, call, verify, admit from the call; a guessed link gets nothing', async ({
  browser,
  server,
  room,
}) => {
  const contexts: BrowserContext[] = [];
  const open = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    contexts.push(context);
    return context.newPage();
  };
  try {
    // Alice makes the room from the lobby and asks newcomers to knock.
    const alice = await open();
    await alice.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseURL });
    await alice.goto(`${server.baseURL}/`);
    await alice.getByLabel('Room', { exact: true }).fill(room);
    await alice.getByLabel('Your name').fill('Alice');
    await alice.getByRole('button', { name: 'New private room', exact: true }).click();
    await expect(alice.getByRole('heading', { name: room })).toBeVisible();
    await expect(alice.getByText('Private room', { exact: true })).toBeVisible();
    await alice.getByRole('checkbox', { name: 'Ask to join' }).check();
    await alice.getByRole('button', { name: 'Copy invite link' }).click();
    const link = await alice.evaluate(() => navigator.clipboard.readText());
    const secret = new URLSearchParams(new URL(link).hash.slice(1)).get('k') ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await alice.getByRole('button', { name: 'Show QR code' }).click();
    await expect(alice.getByTestId('room-qr')).toBeVisible();

    // Bob opens the copied link, knocks, and waits.
    const bob = await open();
    await bob.goto(link);
    await expect(bob.getByText('You are joining a private room from its link.')).toBeVisible();
    await bob.getByLabel('Your name').fill('Bob');
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(bob.getByRole('heading', { name: 'Waiting to be let in' })).toBeVisible();
    await expect(bob.getByRole('button', { name: 'Stop waiting' })).toBeFocused();

    // Alice sees him at the door and lets him in.
    await expect(alice.getByText('Bob is waiting')).toBeVisible();
    await alice.getByRole('button', { name: 'Admit Bob' }).click();
    await expect(bob.getByRole('heading', { name: room })).toBeVisible();
    const people = (page: Page) => page.getByRole('list', { name: 'People in this room' });
    await expect(people(alice).getByRole('listitem')).toHaveCount(2);

    // They call, and the call connects.
    await bob.getByRole('button', { name: 'Call Alice', exact: true }).click();
    const incoming = alice.getByRole('dialog', { name: 'Incoming call' });
    await expect(incoming).toBeVisible();
    await incoming.getByRole('button', { name: 'Accept', exact: true }).click();
    for (const page of [alice, bob]) {
      await expect(page.getByTestId('call-state')).toHaveText('Connected', { timeout: 20_000 });
    }

    // They verify the call: the same six symbols on both sides, then both have the verified mark.
    const aliceSide = chromiumVerifier({ name: 'Alice', page: alice });
    const bobSide = chromiumVerifier({ name: 'Bob', page: bob });
    await aliceSide.openVerify();
    await bobSide.openVerify();
    const symbols = await aliceSide.symbols();
    expect(symbols).toHaveLength(6);
    expect(await bobSide.symbols()).toEqual(symbols);
    for (const side of [aliceSide, bobSide]) {
      await side.press('They match');
      await side.expectDialogText('You verified this call.');
      await side.press('Close');
      await side.expectMark('Verified');
    }

    // Carol knocks while they talk: Alice is told, and lets her in from the call screen.
    const carol = await open();
    await carol.goto(link);
    await carol.getByLabel('Your name').fill('Carol');
    await carol.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(carol.getByRole('heading', { name: 'Waiting to be let in' })).toBeVisible();
    const door = alice.getByRole('region', { name: 'Waiting to come in' });
    await expect(door.getByText('Carol is waiting')).toBeVisible();
    await door.getByRole('button', { name: 'Admit Carol' }).click();
    await expect(carol.getByRole('heading', { name: room })).toBeVisible();
    await expect(people(carol).getByRole('listitem')).toHaveCount(3);
    await expect(door).toHaveCount(0);
    await expect(alice.getByTestId('call-state')).toHaveText('Connected');
    await aliceSide.expectMark('Verified');

    // Eve guesses: the same room name, another secret. The answer is that there is no such room.
    const eve = await open();
    const guessed = new URL(link);
    guessed.hash = `k=${'A'.repeat(22)}`;
    await eve.goto(guessed.href);
    await eve.getByLabel('Your name').fill('Eve');
    await eve.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(eve.getByText('There is no room at this link.', { exact: false })).toBeVisible();
    await expect(eve.getByRole('heading', { name: room })).toHaveCount(0);
    // Alice, in her call, heard of nobody: no knock, no arrival.
    await expect(alice.getByText('Eve', { exact: false })).toHaveCount(0);
    await expect(alice.getByTestId('call-state')).toHaveText('Connected');
  } finally {
    for (const context of contexts) {
      await context.close();
    }
  }
});

test('a room password: asked for, refused when wrong, limited with a retry-after; the lock shows to members', async ({
  browser,
  room,
  server,
}) => {
  const contexts: BrowserContext[] = [];
  const open = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    contexts.push(context);
    return context.newPage();
  };
  try {
    const alice = await open();
    await alice.goto(`${server.baseURL}/`);
    await alice.getByLabel('Room', { exact: true }).fill(room);
    await alice.getByLabel('Your name').fill('Alice');
    await alice.getByLabel('Room password (optional)').fill('sesame');
    await alice.getByRole('button', { name: 'New private room', exact: true }).click();
    await expect(alice.getByText('This room has a password.')).toBeVisible();
    // The address carries the link (with its secret) from the moment the room is made.
    const link = alice.url();
    expect(new URL(link).hash).toMatch(/^#k=[A-Za-z0-9_-]{22}$/);

    const bob = await open();
    await bob.goto(link);
    await bob.getByLabel('Your name').fill('Bob');
    const password = bob.getByLabel('Room password (optional)');
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(password).toHaveAccessibleDescription(/This room has a password\./);
    await expect(password).toBeFocused();
    for (const guess of ['open', 'please', 'letmein']) {
      await password.fill(guess);
      await bob.getByRole('button', { name: 'Join', exact: true }).click();
      await expect(password).toHaveAccessibleDescription(/That password is not right\./);
    }
    // The limit holds even for the right password, and says how long to wait.
    await password.fill('sesame');
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    await expect(password).toHaveAccessibleDescription(/Too many password attempts\. Try again in \d+ s\./);
    await expect(bob.getByRole('heading', { name: room })).toHaveCount(0);

    // Alice locks the room; the box stays checked for her, and the room says so to everyone inside.
    const lock = alice.getByRole('checkbox', { name: 'Lock room' });
    await lock.check();
    await expect(lock).toBeChecked();
  } finally {
    for (const context of contexts) {
      await context.close();
    }
  }
});
