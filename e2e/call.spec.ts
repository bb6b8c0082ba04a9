/**
 * Chromium to Chromium: two people in two browser contexts call each other through the UI, and every
 * control changes what the other side actually receives (decoded frames, audio level, video size).
 */
import { startCall } from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import {
  expectRemoteVideoDecoding,
  expectRemoteVideoShape,
  expectRemoteVideoSize,
  framesDecodedOver,
  maxAudioLevel,
  videoState,
} from './media.js';
import type { Page } from '@playwright/test';
import type { Person } from './person.js';

/** Chromium's fake screen. (Its fake camera delivers whatever size the app asks for: 1280x720.) */
const SCREEN = { width: 1280, height: 720 };
const VGA = { width: 640, height: 480 };
/** Inbound audio level (0..1) below which the peer counts as silent. */
const SILENT = 0.01;

/** The size of what `person`'s camera captures, from their own preview. */
async function cameraSize(person: Person): Promise<{ width: number; height: number }> {
  let size = { width: 0, height: 0 };
  await expect
    .poll(
      async () => {
        const state = await person.evaluate(videoState, 'local-video');
        size = { width: state.videoWidth, height: state.videoHeight };
        return size.width * size.height;
      },
      { message: `${person.name}'s camera preview has a size` },
    )
    .toBeGreaterThan(0);
  return size;
}

/** Alice and Bob join the room; Alice calls Bob, Bob accepts; both see the call connected. */
async function joinAndCall(join: (name: string) => Promise<Person>): Promise<{ alice: Person; bob: Person }> {
  return test.step('Alice and Bob join, Alice calls Bob, Bob accepts', async () => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.expectListed('Bob', 'Free');
    await bob.expectListed('Alice', 'Free');
    await startCall(alice, bob);
    return { alice, bob };
  });
}

/** Records the Socket.IO `signal` events a page receives, from before it connects. */
function recordSignals(into: string[]) {
  return (page: Page): Promise<void> => {
    page.on('websocket', (socket) =>
      socket.on('framereceived', ({ payload }) => {
        const text = String(payload);
        if (text.startsWith('42["signal"')) {
          into.push(text);
        }
      }),
    );
    return Promise.resolve();
  };
}

test('two people in a room call each other and media flows both ways', async ({ join }) => {
  const toAlice: string[] = [];
  const toBob: string[] = [];
  const { alice, bob } =
    await test.step('Alice calls Bob: her offer reaches him as it rings, nothing of his reaches her before Accept', async () => {
      const alice = await join('Alice', { beforeJoin: recordSignals(toAlice) });
      const bob = await join('Bob', { beforeJoin: recordSignals(toBob) });
      await alice.expectListed('Bob', 'Free');
      await alice.callPerson('Bob');
      await bob.expectIncomingCall('Alice');
      await expect
        .poll(() => bob.page.evaluate(() => window.__duet!.diagnostics().log.join('\n')), {
          message: "Bob's connection applied Alice's offer while it rang",
        })
        .toContain('offer applied');
      expect(toBob.some((frame) => frame.includes('"type":"offer"'))).toBe(true);
      // A moment for anything Bob's side might say: nothing may come.
      await bob.page.waitForTimeout(300);
      expect(toAlice).toEqual([]);
      await bob.accept();
      await alice.expectConnected();
      await bob.expectConnected();
      expect(toAlice.some((frame) => frame.includes('"type":"answer"'))).toBe(true);
      return { alice, bob };
    });

  await test.step('both remote videos play the other camera, both remote audio tracks are live', async () => {
    await alice.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
    const aliceCamera = await cameraSize(alice);
    const bobCamera = await cameraSize(bob);
    await expectRemoteVideoShape(alice.evaluate, 'Alice', bobCamera);
    await expectRemoteVideoShape(bob.evaluate, 'Bob', aliceCamera);
  });

  await test.step('the app counts the frames it decodes and the audio packets it receives', async () => {
    await expect
      .poll(async () => (await bob.stats())?.framesDecoded ?? 0, { message: "Bob's framesDecoded" })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => (await bob.stats())?.audioPacketsReceived ?? 0, { message: "Bob's audio packets" })
      .toBeGreaterThan(0);
  });

  await test.step('the statistics panel shows a direct path', async () => {
    await alice.button('Statistics').click();
    await expect(alice.page.getByTestId('stats-panel')).toBeVisible();
    await expect(alice.page.getByTestId('stats-path')).toHaveText('Direct');
    await alice.button('Statistics').click();
    await expect(alice.page.getByTestId('stats-panel')).toBeHidden();
  });
});

test('muting the microphone silences what the peer hears, unmuting brings it back', async ({ join }) => {
  const { alice, bob } = await joinAndCall(join);

  // Chromium's fake microphone beeps: the level is well above silence at times, so take the maximum.
  await expect
    .poll(() => bob.evaluate(maxAudioLevel, 1500), { message: 'Bob hears Alice', timeout: 20_000 })
    .toBeGreaterThan(SILENT);

  await alice.button('Mute microphone').click();
  await expect(alice.button('Unmute microphone')).toBeVisible();
  await expect(bob.page.getByTestId('remote-muted')).toBeVisible();
  expect((await bob.remoteMedia())?.microphone).toBe(false);
  await expect
    .poll(() => bob.evaluate(maxAudioLevel, 2500), {
      message: 'Bob hears silence while Alice is muted',
      timeout: 20_000,
    })
    .toBeLessThan(SILENT);

  await alice.button('Unmute microphone').click();
  await expect(alice.button('Mute microphone')).toBeVisible();
  await expect(bob.page.getByTestId('remote-muted')).toBeHidden();
  await expect
    .poll(() => bob.evaluate(maxAudioLevel, 1500), {
      message: 'Bob hears Alice again after she unmutes',
      timeout: 20_000,
    })
    .toBeGreaterThan(SILENT);
});

test('turning the camera off stops the video the peer decodes, turning it on resumes it', async ({
  join,
}) => {
  const { alice, bob } = await joinAndCall(join);
  await expectRemoteVideoDecoding(bob.evaluate, 'Bob');
  await expect(bob.page.getByTestId('remote-camera-off')).toBeHidden();

  await alice.button('Turn camera off').click();
  await expect(alice.button('Turn camera on')).toBeVisible();
  await expect(bob.page.getByTestId('remote-camera-off')).toBeVisible();
  expect((await bob.remoteMedia())?.camera).toBe(false);
  // Stats are sampled about once a second: 2.5 s without a new decoded frame means none arrive.
  await expect
    .poll(
      async () => {
        const [before, after] = await bob.evaluate(framesDecodedOver, 2500);
        return before >= 0 ? after - before : 'no stats';
      },
      { message: "Bob's framesDecoded stops rising", timeout: 20_000 },
    )
    .toBe(0);

  await alice.button('Turn camera on').click();
  await expect(alice.button('Turn camera off')).toBeVisible();
  await expect(bob.page.getByTestId('remote-camera-off')).toBeHidden();
  await expectRemoteVideoDecoding(bob.evaluate, 'Bob');
  await expect
    .poll(
      async () => {
        const [before, after] = await bob.evaluate(framesDecodedOver, 2500);
        return after - before;
      },
      { message: "Bob's framesDecoded rises again", timeout: 20_000 },
    )
    .toBeGreaterThan(0);
});

test('sharing the screen sends the 1280x720 screen, stopping restores the camera', async ({ join }) => {
  // A 640x480 camera, so that the peer can tell it from the 1280x720 screen by its size alone.
  const { alice, bob } = await joinAndCall((name) => join(name, name === 'Alice' ? { cameraSize: VGA } : {}));
  expect(await cameraSize(alice)).toEqual(VGA);
  await expectRemoteVideoShape(bob.evaluate, 'Bob', VGA);

  await alice.button('Share screen').click();
  await expect(alice.button('Stop sharing')).toBeVisible();
  await expectRemoteVideoSize(bob.evaluate, 'Bob', SCREEN.width, SCREEN.height);
  await expectRemoteVideoDecoding(bob.evaluate, 'Bob');
  expect((await bob.remoteMedia())?.screen).toBe(true);
  await expect(bob.page.getByTestId('remote-camera-off')).toBeHidden();

  await alice.button('Stop sharing').click();
  await expect(alice.button('Share screen')).toBeVisible();
  await expectRemoteVideoShape(bob.evaluate, 'Bob', VGA);
  await expectRemoteVideoDecoding(bob.evaluate, 'Bob');
  expect((await bob.remoteMedia())?.screen).toBe(false);
});

test('switching to another microphone during a call keeps the audio flowing', async ({ join }) => {
  const { alice, bob } = await joinAndCall(join);
  await bob.expectRemoteMediaFlowing();

  await alice.button('Settings').click();
  const microphone = alice.page.getByRole('combobox', { name: 'Microphone', exact: true });
  await expect(microphone).toBeVisible();
  const current = await microphone.inputValue();
  const options = await microphone
    .locator('option')
    .evaluateAll((all) => all.map((option) => (option as HTMLOptionElement).value));
  // Chromium offers three fake audio inputs.
  expect(options.length, 'microphones offered').toBeGreaterThanOrEqual(2);
  const other = options.find((value) => value !== current)!;
  await microphone.selectOption(other);

  await expect
    .poll(() => alice.page.evaluate(() => window.__duet?.snapshot.local.microphoneId), {
      message: "Alice's microphone is the one she picked",
    })
    .toBe(other);
  const packets = (await bob.stats())?.audioPacketsReceived ?? 0;
  await expect
    .poll(async () => (await bob.stats())?.audioPacketsReceived ?? 0, {
      message: 'Bob keeps receiving audio packets after the switch',
      timeout: 15_000,
    })
    .toBeGreaterThan(packets + 50);
  await expect(alice.callState).toHaveText('Connected');
  await bob.expectRemoteMediaFlowing();
});

test('hanging up (on a phone-sized screen) returns both to the room with a notice', async ({ join }) => {
  // Alice is on a phone: the controls keep their accessible names when their labels are hidden.
  const { alice, bob } = await joinAndCall((name) =>
    join(name, name === 'Alice' ? { viewport: { width: 360, height: 740 } } : {}),
  );
  await alice.expectRemoteMediaFlowing();

  await alice.hangUp();
  await bob.expectNotice('Alice hung up.');
  await alice.expectNotice('Call ended.');
  for (const [person, other] of [
    [alice, 'Bob'],
    [bob, 'Alice'],
  ] as const) {
    await person.expectInRoom();
    await expect(person.remoteVideo).toHaveCount(0);
    await person.expectListed(other, 'Free');
    await expect(person.button(`Call ${other}`)).toBeEnabled();
  }
});
