/**
 * Every way a call can end or fail to start, as both people see it in the UI.
 */
import { expect, test } from './fixtures.js';
import { gatePresence, type PresenceGate } from './network.js';

test('declining: the caller is told, both stay in the room', async ({ join }) => {
  const alice = await join('Alice');
  const bob = await join('Bob');
  await alice.callPerson('Bob');
  await bob.expectIncomingCall('Alice');

  await bob.decline();
  await alice.expectNotice('Bob declined the call.');
  await bob.expectNotice('Call declined.');
  await expect(alice.page.getByText('Calling Bob…')).toBeHidden();
  await alice.expectListed('Bob', 'Free');
  await bob.expectListed('Alice', 'Free');
  await expect(alice.button('Call Bob')).toBeEnabled();
});

test('cancelling: the ringing stops on the callee side with a missed-call notice', async ({ join }) => {
  const alice = await join('Alice');
  const bob = await join('Bob');
  await alice.callPerson('Bob');
  await bob.expectIncomingCall('Alice');

  await alice.cancel();
  await expect(bob.incomingDialog).toBeHidden();
  await bob.expectNotice('Call cancelled. Missed call from Alice.');
  await alice.expectNotice('Call cancelled.');
  await expect(alice.page.getByText('Calling Bob…')).toBeHidden();
  await bob.expectListed('Alice', 'Free');
});

test.describe('in a room of three', () => {
  test.use({ serverEnv: { DUET_ROOM_CAPACITY: '3' } });

  test('someone in a call cannot be called: the button is disabled, and the server answers busy', async ({
    join,
  }) => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    let gate: PresenceGate | undefined;
    const carol = await join('Carol', { beforeJoin: async (page) => (gate = await gatePresence(page)) });
    await carol.expectListed('Bob', 'Free');

    // Carol's list falls behind (a slow network): she still sees Bob free when he is in a call.
    gate!.hold();
    await alice.callPerson('Bob');
    await bob.expectIncomingCall('Alice');
    await bob.accept();
    await alice.expectConnected();
    await carol.expectListed('Bob', 'Free');
    expect(gate!.held(), 'presence updates held back from Carol').toBeGreaterThan(0);

    await carol.button('Call Bob').click();
    await carol.expectNotice('Bob is busy in another call.');
    await expect(carol.page.getByText('Calling Bob…')).toBeHidden();
    // The call Carol tried to interrupt goes on.
    await expect(bob.incomingDialog).toBeHidden();
    await expect(alice.callState).toHaveText('Connected');
    await expect(bob.callState).toHaveText('Connected');

    // With the list up to date, the UI does not even offer the call.
    gate!.release();
    await carol.expectListed('Bob', 'In a call');
    await carol.expectListed('Alice', 'In a call');
    await expect(carol.button('Call Bob')).toBeDisabled();
  });
});

test.describe('with a 3 s ring timeout', () => {
  test.use({ serverEnv: { DUET_RING_TIMEOUT_MS: '3000' } });

  test('nobody answers: the caller hears "did not answer", the callee sees a missed call', async ({
    join,
  }) => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.callPerson('Bob');
    await bob.expectIncomingCall('Alice');

    await alice.expectNotice('Bob did not answer.');
    await bob.expectNotice('Missed call from Alice.');
    await expect(bob.incomingDialog).toBeHidden();
    await expect(alice.page.getByText('Calling Bob…')).toBeHidden();
    await alice.expectListed('Bob', 'Free');
  });
});

test.describe('with a 1 s reconnect grace', () => {
  test.use({ serverEnv: { DUET_RECONNECT_GRACE_MS: '1000' } });

  test('the peer closes the tab mid-call: the other is told and returns to the room', async ({ join }) => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.callPerson('Bob');
    await bob.expectIncomingCall('Alice');
    await bob.accept();
    await alice.expectConnected();
    await alice.expectRemoteMediaFlowing();

    await bob.page.close();
    await alice.expectNotice('Bob left the call.');
    await alice.expectInRoom();
    await expect(alice.remoteVideo).toHaveCount(0);
    await expect(alice.entry('Bob')).toHaveCount(0);
  });
});

test('camera and microphone denied: the user is told and can still use the room', async ({
  denyingBrowser,
  join,
}) => {
  const alice = await join('Alice');
  const dave = await join('Dave', { browser: denyingBrowser });
  await dave.expectNotice('Camera and microphone access was denied.');
  await dave.expectInRoom();
  await dave.expectListed('Alice', 'Free');
  await alice.expectListed('Dave', 'Free');
  // The browser really refuses (so this checks the app, not the flags).
  const error = await dave.page.evaluate(() =>
    navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(
      () => 'granted',
      (reason: unknown) => (reason instanceof Error ? reason.name : String(reason)),
    ),
  );
  expect(error).toBe('NotAllowedError');
});

test('a full room turns the next person away', async ({ join }) => {
  await join('Alice');
  await join('Bob');
  const carol = await join('Carol', { expectJoined: false });
  await carol.expectNotice('This room is full.');
  await expect(carol.page.getByRole('heading', { name: carol.room })).toBeHidden();
  await expect(carol.button('Join')).toBeVisible();
});
