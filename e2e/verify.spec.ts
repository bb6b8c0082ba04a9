/**
 * Verified calls: both people compare six symbols derived from the two DTLS certificates of their
 * connection. Through the honest server both browsers show the same symbols (Chromium↔Chromium,
 * Firefox↔Chromium), "They match" on both sides gives both the verified mark, and the next call
 * between the same two browsers is verified by key continuity. Through a malicious relay that puts
 * a man in the middle (e2e/mitm-relay.ts) the call still connects, but the symbols differ, and
 * "They don't match" warns and hangs up in one click.
 */
import { expect, test } from './fixtures.js';
import { startMitmRelay } from './mitm-relay.js';
import type { Participant } from './person.js';
import { chromiumVerifier, firefoxVerifier, type Verifier } from './verify-helpers.js';

/**
 * In the page: how the verification string came out ('unchanged' | 'new') when it was derived again
 * after a log line containing `marker` (an ICE restart, a rebuilt connection) logged since `since`
 * (an ISO time); null until both happened.
 */
function derivedAfter({ marker, since }: { marker: string; since: string }): string | null {
  const lines = (window.__duet?.diagnostics().log ?? []).filter((line) => line >= since);
  const start = lines.findIndex((line) => line.includes(marker));
  const derived = lines.slice(start + 1).find((line) => line.includes('string derived'));
  return start >= 0 && derived ? (derived.endsWith('unchanged') ? 'unchanged' : 'new') : null;
}

async function connect(caller: Participant, callee: Participant): Promise<void> {
  await caller.callPerson(callee.name);
  await callee.expectIncomingCall(caller.name);
  await callee.accept();
  await caller.expectConnected();
  await callee.expectConnected();
}

/** Both open "Verify"; returns what each one's dialog shows. */
async function compare(a: Verifier, b: Verifier): Promise<[string[], string[]]> {
  await a.expectMark('Verify');
  await b.expectMark('Verify');
  await a.openVerify();
  await b.openVerify();
  return [await a.symbols(), await b.symbols()];
}

async function bothMatch(a: Verifier, b: Verifier): Promise<void> {
  for (const side of [a, b]) {
    await side.press('They match');
    await side.expectDialogText('You verified this call.');
    await side.expectMark('Verified');
    await side.press('Close');
  }
}

test('through the honest server both see the same symbols; verified, and the next call too (Chromium)', async ({
  join,
}) => {
  const ann = await join('Ann');
  const bob = await join('Bob');
  await connect(ann, bob);
  const [annSees, bobSees] = await compare(chromiumVerifier(ann), chromiumVerifier(bob));
  expect(annSees).toHaveLength(6);
  expect(bobSees).toEqual(annSees);
  await bothMatch(chromiumVerifier(ann), chromiumVerifier(bob));

  // A rebuilt peer connection keeps both browsers' kept certificates: the string is derived again,
  // the same symbols, still verified. (On loopback the rebuild can be too quick to see "Reconnecting…".)
  const pageNow = () => ann.page.evaluate(() => new Date().toISOString());
  const dropped = await pageNow();
  await ann.page.evaluate(() => window.__duet?.dropConnection());
  await expect
    .poll(() => ann.page.evaluate(derivedAfter, { marker: 'rebuilding the connection', since: dropped }), {
      timeout: 20_000,
    })
    .toBe('unchanged');
  await ann.expectConnected();
  await chromiumVerifier(ann).expectMark('Verified');
  await chromiumVerifier(bob).expectMark('Verified');

  // An ICE restart renegotiates the connection: both re-derive the string, find it unchanged (the
  // DTLS transport stays), and keep the mark without news.
  const restarted = await pageNow();
  await ann.page.evaluate(() => window.__duet?.restartIce());
  await expect
    .poll(() => ann.page.evaluate(derivedAfter, { marker: 'ICE restart', since: restarted }), {
      timeout: 20_000,
    })
    .toBe('unchanged');
  await ann.expectConnected();
  await chromiumVerifier(ann).expectMark('Verified');
  await chromiumVerifier(bob).expectMark('Verified');
  await expect(
    ann.page.getByText('The security symbols of your call with Bob changed', { exact: false }),
  ).toHaveCount(0);

  // The next call between the same two browsers (Bob calls now, so his certificate comes first and
  // the symbols are others): verified by key continuity, dated, and the same on both screens.
  await ann.hangUp();
  await bob.expectNotice('Ann hung up.');
  await bob.callPerson('Ann');
  await ann.expectIncomingCall('Bob');
  await ann.accept();
  await ann.expectConnected();
  const again: string[][] = [];
  for (const person of [ann, bob]) {
    const side = chromiumVerifier(person);
    await side.expectMark(/^Verified on /);
    await side.openVerify();
    await side.expectDialogText('It is the same device, so this call is verified too.');
    again.push(await side.symbols());
  }
  expect(again[0]).toHaveLength(6);
  expect(again[1]).toEqual(again[0]);
});

test('the dialog works from the keyboard: opens on Enter, keeps Tab inside, closes on Escape back to Verify', async ({
  join,
}) => {
  const ann = await join('Ann');
  const bob = await join('Bob');
  await connect(ann, bob);
  const verify = ann.page.getByTestId('verify-status');
  await expect(verify).toHaveText('Verify');
  await verify.focus();
  await ann.page.keyboard.press('Enter');
  const dialog = ann.page.getByRole('dialog', { name: 'Verify your call with Bob' });
  await expect(dialog).toBeVisible();
  // Focus starts on the title, so a screen reader reads the dialog from the top.
  await expect(dialog.getByRole('heading', { name: 'Verify your call with Bob' })).toBeFocused();
  await expect(dialog.getByRole('list', { name: 'Security symbols' }).getByRole('listitem')).toHaveCount(6, {
    timeout: 20_000,
  });
  const names = ["They don't match", 'They match', 'Close', "They don't match"];
  for (const name of names) {
    await ann.page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name, exact: true })).toBeFocused();
  }
  await ann.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(verify).toBeFocused();
  await expect(verify).toHaveText('Verify');
});

test('Firefox and Chromium see the same symbols and both get the verified mark', async ({
  join,
  joinFirefox,
}) => {
  const fox = await joinFirefox('Fox');
  const chrome = await join('Chrome');
  await chrome.expectListed('Fox', 'Free');
  await connect(fox, chrome);
  const [foxSees, chromeSees] = await compare(firefoxVerifier(fox), chromiumVerifier(chrome));
  expect(foxSees).toHaveLength(6);
  expect(chromeSees).toEqual(foxSees);
  await bothMatch(firefoxVerifier(fox), chromiumVerifier(chrome));

  // Both browsers kept their certificates (Firefox too stores its RTCCertificate in IndexedDB):
  // the next call is verified from the start.
  await fox.hangUp();
  await chrome.expectNotice('Fox hung up.');
  await connect(chrome, fox);
  await firefoxVerifier(fox).expectMark(/^Verified on /);
  await chromiumVerifier(chrome).expectMark(/^Verified on /);
});

test('the same name from another browser is a new device: told neutrally, and to be compared', async ({
  join,
}) => {
  const ann = await join('Ann');
  const bob = await join('Bob');
  await connect(ann, bob);
  await compare(chromiumVerifier(ann), chromiumVerifier(bob));
  await bothMatch(chromiumVerifier(ann), chromiumVerifier(bob));
  await ann.hangUp();
  await bob.expectNotice('Ann hung up.');
  await bob.button('Leave room').click();
  // "Bob" again, from a browser profile of its own (a new context: another certificate).
  const otherBob = await join('Bob');
  await ann.expectListed('Bob', 'Free');
  await connect(ann, otherBob);
  const annSide = chromiumVerifier(ann);
  await annSide.expectMark('Verify');
  await annSide.openVerify();
  await annSide.expectDialogText('Bob is using a device or browser you have not verified before.');
  expect(await annSide.symbols()).toEqual(
    await (async () => {
      const other = chromiumVerifier(otherBob);
      await other.openVerify();
      return other.symbols();
    })(),
  );
});

test('a man in the middle: the call connects but the symbols differ, and "They don\'t match" hangs up', async ({
  join,
  browser,
  server,
}) => {
  const relay = await startMitmRelay(browser, server.baseURL);
  try {
    const ann = await join('Ann');
    const bob = await join('Bob', { beforeJoin: (page) => relay.intercept(page) });
    await connect(ann, bob);
    // The man in the middle really carries the call: both get each other's media through it.
    await ann.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
    expect(relay.forged.caller).toBeGreaterThan(0);
    expect(relay.forged.callee).toBeGreaterThan(0);

    const annSide = chromiumVerifier(ann);
    const bobSide = chromiumVerifier(bob);
    const [annSees, bobSees] = await compare(annSide, bobSide);
    expect(annSees).toHaveLength(6);
    expect(bobSees).toHaveLength(6);
    expect(bobSees).not.toEqual(annSees);

    await annSide.press("They don't match");
    await expect(ann.page.getByRole('alertdialog', { name: 'Someone may be listening' })).toBeVisible();
    await annSide.expectMark('Not secure');
    await annSide.press('Hang up');
    await ann.expectInRoom();
    await bob.expectNotice('Ann hung up.');
  } finally {
    await relay.close();
  }
});

test('a man in the middle stepping into a verified call: the mark goes, both are told, the symbols differ', async ({
  join,
  browser,
  server,
}) => {
  const relay = await startMitmRelay(browser, server.baseURL, { active: false });
  try {
    const ann = await join('Ann');
    const bob = await join('Bob', { beforeJoin: (page) => relay.intercept(page) });
    await connect(ann, bob);
    const annSide = chromiumVerifier(ann);
    const bobSide = chromiumVerifier(bob);
    const [before, bobBefore] = await compare(annSide, bobSide);
    expect(bobBefore).toEqual(before);
    await bothMatch(annSide, bobSide);

    // The server takes the next peer connection of the call (here: Ann's connection dropped) into its middle.
    relay.activate();
    await ann.page.evaluate(() => window.__duet?.dropConnection());
    await ann.expectConnected();
    await bob.expectConnected();
    await ann.expectNotice('The security symbols of your call with Bob changed. Verify again.');
    await bob.expectNotice('The security symbols of your call with Ann changed. Verify again.');
    await annSide.expectMark('Verify again');
    await bobSide.expectMark('Verify again');
    expect(relay.forged.caller).toBeGreaterThan(0);
    await annSide.openVerify();
    await bobSide.openVerify();
    const annNow = await annSide.symbols();
    const bobNow = await bobSide.symbols();
    expect(annNow).not.toEqual(bobNow);
    expect(annNow).not.toEqual(before);
  } finally {
    await relay.close();
  }
});
