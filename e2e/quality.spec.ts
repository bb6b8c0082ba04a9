/**
 * The video quality setting through the UI, in real Chromium: Auto is the default, and choosing
 * Data saver in Settings during a call limits what the sender really sends (its RTP parameters) and
 * what the other side really decodes.
 */
import { startCall } from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import { videoState } from './media.js';
import type { Person } from './person.js';

/** Data saver's step: at most 240 lines at 15 fps and 300 kbit/s (packages/rtc/src/media/quality-policy.ts). */
const SAVER = { maxHeight: 240, maxFramerate: 15, maxBitrate: 300_000 };

/**
 * What the video sender is set to, read back from the real RTCRtpSender, and the most lines it can
 * send: the camera's height over the sender's scale.
 */
function videoEncoding(): { maxBitrate?: number; maxFramerate?: number; maxLines: number } | null {
  const duet = window.__duet;
  const encoding = duet?.quality.senderParameters()?.video?.encodings[0];
  const camera = duet?.snapshot.local.stream?.getVideoTracks()[0]?.getSettings().height ?? 0;
  return encoding
    ? {
        maxBitrate: encoding.maxBitrate,
        maxFramerate: encoding.maxFramerate,
        maxLines: Math.floor(camera / (encoding.scaleResolutionDownBy ?? 1)),
      }
    : null;
}

/** The height the camera captures (Data saver also asks the camera for less). */
function cameraHeight(): number {
  return window.__duet?.snapshot.local.stream?.getVideoTracks()[0]?.getSettings().height ?? 0;
}

function audioPriority(): { priority?: string; networkPriority?: string } | null {
  const encoding = window.__duet?.quality.senderParameters()?.audio?.encodings[0];
  return encoding ? { priority: encoding.priority, networkPriority: encoding.networkPriority } : null;
}

/** The height of the frames `person` decodes from the peer. */
async function decodedHeight(person: Person): Promise<number> {
  return (await person.evaluate(videoState, 'remote-video')).videoHeight;
}

test('Data saver chosen in Settings during a call limits the video really sent; Auto is the default', async ({
  join,
}) => {
  const alice = await join('Alice');
  const bob = await join('Bob');
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);

  await test.step('Auto is the default: in Settings, in the client, and on the senders', async () => {
    await alice.button('Settings').click();
    await expect(alice.page.getByRole('radio', { name: 'Auto', exact: true })).toBeChecked();
    expect(await alice.page.evaluate(() => window.__duet!.snapshot.quality.mode)).toBe('auto');
    // The top step: the 720p camera goes out unscaled once the start scale ends (2 s after connecting).
    await expect
      .poll(() => alice.page.evaluate(videoEncoding), { message: "Alice's video sender under Auto" })
      .toEqual({ maxBitrate: 2_500_000, maxFramerate: 30, maxLines: 720 });
    await expect
      .poll(() => decodedHeight(bob), {
        message: 'Bob decodes more than 240 lines of Alice',
        timeout: 15_000,
      })
      .toBeGreaterThan(SAVER.maxHeight);
    // Audio goes first whatever the setting.
    expect(await alice.page.evaluate(audioPriority)).toEqual({ priority: 'high', networkPriority: 'high' });
  });

  await test.step('Alice picks Data saver with the keyboard (arrow keys in the radio group)', async () => {
    await alice.page.getByRole('radio', { name: 'Auto', exact: true }).focus();
    await alice.page.keyboard.press('ArrowDown');
    await expect(alice.page.getByRole('radio', { name: 'Data saver', exact: true })).toBeChecked();
  });

  await test.step("Alice's sender is limited, and Bob decodes the smaller picture", async () => {
    await expect
      .poll(() => alice.page.evaluate(videoEncoding), { message: "Alice's video sender under Data saver" })
      .toEqual({ maxBitrate: SAVER.maxBitrate, maxFramerate: SAVER.maxFramerate, maxLines: SAVER.maxHeight });
    // Chromium's fake camera captures whatever is asked: Data saver asks for 240 lines.
    expect(await alice.page.evaluate(cameraHeight)).toBe(SAVER.maxHeight);
    await expect
      .poll(() => decodedHeight(bob), { message: 'Bob decodes at most 240 lines of Alice', timeout: 15_000 })
      .toBeLessThanOrEqual(SAVER.maxHeight);
    expect(await decodedHeight(bob)).toBeGreaterThan(0);
    // Alice's own statistics say the same (a sample a second, so wait for one after the change).
    await expect
      .poll(() => alice.page.evaluate(() => window.__duet!.snapshot.stats?.sending.frameHeight ?? 0), {
        message: 'the encoder sends at most 240 lines',
      })
      .toBeLessThanOrEqual(SAVER.maxHeight);
    // Only Alice chose it: Bob still sends at Auto's top step.
    expect(await bob.page.evaluate(videoEncoding)).toMatchObject({ maxBitrate: 2_500_000, maxLines: 720 });
  });

  await test.step('the statistics panel shows the step, and the setting is remembered', async () => {
    await alice.page.getByRole('button', { name: 'Statistics' }).click();
    await expect(alice.page.getByTestId('stats-quality-step')).toHaveText('step 5 of 6: up to 240p, 15 fps');
    expect(await alice.page.evaluate(() => localStorage.getItem('duet.quality'))).toBe('saver');
  });
});
