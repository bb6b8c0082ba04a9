/**
 * A call whose tab goes to the background keeps going. Headless Chromium never puts a tab in the
 * background (every page stays "visible", its timers unthrottled, whatever tab is in front), so
 * Alice's browser here is a headed Chromium on a virtual display (xvfb.ts), driven by puppeteer-core
 * and launched without the three flags drivers add to stop background throttling. She opens another
 * tab in front of the call, as someone looking something up mid-call would; Bob (headless) stays.
 *
 * Checked while she is away (15 s): her page is really hidden (`visibilityState`), her audio and
 * video keep reaching Bob, his video keeps reaching her, the call stays connected on the same peer
 * connection, and a chat message from Bob is delivered (her hidden page acknowledges it). Back in
 * front: her remote video plays. Her page's timer rate is printed, not asserted: Chromium 156 does
 * not throttle this tab (measured: a 50 ms timer still runs 20 times a second, with Bob's voice
 * playing and with Bob muted), while a hidden tab in the same browser that only captures the camera
 * and microphone, or only holds a peer connection, drops to once a second. Something else the call
 * page does exempts it (playing the remote stream is the likely one; not isolated further); the day
 * it no longer does, the figure shows it and the media checks still hold the call to account.
 *   {"metric":"background_tab","seconds":…,"timerTicksPerS":…,"framesAtBob":…,"audioPacketsAtBob":…,"framesAtAlice":…}
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browsers.js';
import { expectAllDelivered, expectPeerTexts, openChat, startCall, typeAndSend } from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import { FirefoxPerson } from './firefox.js';
import { sampleMedia, type MediaSample } from './media-probe.js';
import { recordPeerConnections } from './netns.js';
import type { Participant } from './person.js';
import { printMetric } from './transfer-helpers.js';
import { startXvfb, xvfbUnavailableReason, type VirtualDisplay } from './xvfb.js';

/** Long enough for Chromium's background throttling to be in force and several stats rounds to pass. */
const BACKGROUND_FOR_MS = 15_000;
const SAMPLE_EVERY_MS = 5_000;
/** What drivers add to keep background tabs running at full speed; left out, the tab is throttled. */
const UNTHROTTLING_FLAGS = [
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

test.describe.configure({ timeout: 120_000 });

let display: VirtualDisplay | null = null;
let headed: Browser | null = null;

test.beforeAll(async () => {
  const reason = xvfbUnavailableReason();
  test.skip(reason !== null, reason ?? '');
  display = await startXvfb();
  headed = await puppeteer.launch({
    headless: false,
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: UNTHROTTLING_FLAGS,
    env: { ...process.env, DISPLAY: display.display },
  });
});

test.afterAll(async () => {
  await headed?.close();
  await display?.stop();
});

const sample = async (person: Participant): Promise<MediaSample> => {
  const s = await person.evaluate(sampleMedia, undefined);
  if (!s) {
    throw new Error(`${person.name}'s page has no peer connection`);
  }
  return s;
};

/** In-page: count timer callbacks asked for every 50 ms, to see the page's timers throttled. */
function startTimerProbe(): void {
  const probe = { ticks: 0 };
  (window as unknown as { __e2eTimerProbe: typeof probe }).__e2eTimerProbe = probe;
  setInterval(() => probe.ticks++, 50);
}
const timerTicks = (): number =>
  (window as unknown as { __e2eTimerProbe?: { ticks: number } }).__e2eTimerProbe?.ticks ?? 0;

interface Away {
  seconds: number;
  timerTicksPerS: number;
  framesAtBob: number;
  audioPacketsAtBob: number;
  framesAtAlice: number;
}

/**
 * Watch for `forMs` while Alice's tab is hidden: every few seconds, Bob decodes more of her video and
 * receives more of her audio, and she decodes more of his video. What arrived, and her timers' rate.
 */
async function watchAway(alice: Participant, bob: Participant, page: Page, forMs: number): Promise<Away> {
  const read = async () => ({
    alice: await sample(alice),
    bob: await sample(bob),
    ticks: await page.evaluate(timerTicks),
  });
  const start = await read();
  const startedAt = Date.now();
  let last = start;
  while (Date.now() - startedAt < forMs) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    const now = await read();
    expect(await page.evaluate(() => document.visibilityState), 'the call tab stays hidden').toBe('hidden');
    const at = `${Math.round((Date.now() - startedAt) / 1000)} s in`;
    expect(now.bob.receivedVideo!.framesDecoded, `Bob decodes Alice's video (${at})`).toBeGreaterThan(
      last.bob.receivedVideo!.framesDecoded,
    );
    expect(now.bob.receivedAudio!.packetsReceived, `Bob receives Alice's audio (${at})`).toBeGreaterThan(
      last.bob.receivedAudio!.packetsReceived,
    );
    expect(now.alice.receivedVideo!.framesDecoded, `Alice decodes Bob's video (${at})`).toBeGreaterThan(
      last.alice.receivedVideo!.framesDecoded,
    );
    last = now;
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const round = (n: number) => Number(n.toFixed(1));
  return {
    seconds: round(seconds),
    timerTicksPerS: round((last.ticks - start.ticks) / seconds),
    framesAtBob: last.bob.receivedVideo!.framesDecoded - start.bob.receivedVideo!.framesDecoded,
    audioPacketsAtBob: last.bob.receivedAudio!.packetsReceived - start.bob.receivedAudio!.packetsReceived,
    framesAtAlice: last.alice.receivedVideo!.framesDecoded - start.alice.receivedVideo!.framesDecoded,
  };
}

test('a call goes on while its tab is in the background: media both ways, chat delivered', async ({
  server,
  join,
  room,
}) => {
  const context = await headed!.createBrowserContext();
  try {
    const page = await context.newPage();
    await page.evaluateOnNewDocument(recordPeerConnections);
    const alice = new FirefoxPerson('Alice', room, page, context, 'chromium');
    await alice.submitJoin(server.baseURL);
    await alice.expectInRoom();
    const bob = await join('Bob', { beforeJoin: (p) => p.addInitScript(recordPeerConnections) });
    await alice.expectListed('Bob');
    await startCall(bob, alice);
    await alice.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
    await openChat(bob);
    const connections = (await sample(alice)).peerConnections;

    // Another tab in front of the call.
    await page.evaluate(startTimerProbe);
    const other = await context.newPage();
    await other.bringToFront();
    await expect
      .poll(() => page.evaluate(() => document.visibilityState), { message: "Alice's call tab is hidden" })
      .toBe('hidden');

    const away = await watchAway(alice, bob, page, BACKGROUND_FOR_MS);

    await typeAndSend(bob, 'still there?', 'enter');
    await expectAllDelivered(bob, 1);
    await expectPeerTexts(alice, ['still there?']);
    expect(await page.evaluate(() => document.visibilityState)).toBe('hidden');
    await expect(bob.callState).toHaveText('Connected');
    expect((await sample(alice)).peerConnections, 'the same peer connection').toBe(connections);

    printMetric({ metric: 'background_tab', ...away });

    // Back in front: her call view plays the remote video again.
    await page.bringToFront();
    await expect.poll(() => page.evaluate(() => document.visibilityState)).toBe('visible');
    await alice.expectConnected();
    await alice.expectRemoteMediaFlowing();
  } finally {
    await context.close();
  }
});
