/**
 * A page reload mid-call, of the callee and of the caller, through the UI:
 * - media flows both ways again soon after the reloaded page has loaded (new frames presented by each
 *   side's remote <video>, audio packets arriving on each side);
 * - the reloaded side's microphone and camera buttons work and say what is sent (a mute chosen before
 *   the reload stays on: a reload never unmutes anyone);
 * - files received before the reload are still listed, verified, and can be saved.
 * Prints {"metric":"reload_media_back_ms","reloaded":"callee"|"caller","value":…} for the closing note.
 */
import { openChat, startCall } from './chat-helpers.js';
import type { Evaluate } from './media.js';
import type { Person } from './person.js';
import {
  answerOffer,
  downloadAndHash,
  expect,
  expectTransferState,
  MiB,
  printMetric,
  sendFileThroughUi,
  shownSha256,
  test,
  transferItem,
} from './transfer-helpers.js';

/** Media back both ways within this long after the reloaded page has loaded (the target). */
const MEDIA_BACK_MS = 3_000;

/**
 * In the page: the time (epoch ms) at which the remote <video> presents its first frame after now, or
 * null if none comes within `timeoutMs`. A frozen picture presents no frames, so this sees only media
 * that flows again.
 */
function nextRemoteFrameAt(timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const watch = (): void => {
      const video = document.querySelector<HTMLVideoElement>('video[data-testid="remote-video"]');
      if (!video) {
        if (Date.now() > deadline) {
          resolve(null);
        } else {
          setTimeout(watch, 20);
        }
        return;
      }
      const timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now()));
      video.requestVideoFrameCallback(() => {
        clearTimeout(timer);
        resolve(Date.now());
      });
    };
    watch();
  });
}

/** In the page: inbound audio packets so far (the app's stats, sampled about once a second). */
function audioPackets(): number {
  return window.__duet!.snapshot.stats?.audioPacketsReceived ?? -1;
}

async function expectAudioArriving(evaluate: Evaluate, who: string): Promise<void> {
  const before = await evaluate(audioPackets, undefined);
  await expect
    .poll(() => evaluate(audioPackets, undefined), {
      message: `${who}: inbound audio packets keep arriving`,
      timeout: 10_000,
    })
    .toBeGreaterThan(Math.max(0, before));
}

/**
 * Reload `reloaded` mid-call and return how long after its page load both remote videos presented a
 * new frame. Frames are watched on the other side from before the reload, so no frame is missed.
 */
async function reloadAndMeasure(reloaded: Person, other: Person): Promise<number> {
  const otherFrame = other.evaluate(nextRemoteFrameAt, 30_000);
  // Let the other side see the old connection go first: its frames must come from the new one.
  await reloaded.page.reload();
  const loadedAt = Date.now();
  const reloadedFrame = reloaded.evaluate(nextRemoteFrameAt, 30_000);
  // The other side's pending watch may have fired on a last old frame before the reload: watch again.
  const [first, second] = await Promise.all([otherFrame, reloadedFrame]);
  let otherAt = first;
  if (otherAt !== null && otherAt < loadedAt) {
    otherAt = await other.evaluate(nextRemoteFrameAt, 30_000);
  }
  expect(otherAt, `${other.name} sees ${reloaded.name}'s video again`).not.toBeNull();
  expect(second, `${reloaded.name} sees ${other.name}'s video again`).not.toBeNull();
  return Math.max(otherAt!, second!) - loadedAt;
}

async function expectControls(person: Person, state: { mic: boolean; camera: boolean }): Promise<void> {
  const mic = person.button(state.mic ? 'Mute microphone' : 'Unmute microphone');
  const camera = person.button(state.camera ? 'Turn camera off' : 'Turn camera on');
  await expect(mic).toBeEnabled();
  await expect(camera).toBeEnabled();
}

for (const reloadedRole of ['callee', 'caller'] as const) {
  test(`the ${reloadedRole} reloads mid-call: media both ways within 3 s, controls work, received files stay`, async ({
    join,
    scratch,
  }) => {
    test.slow();
    const alice = await join('Alice');
    const bob = await join('Bob');
    await startCall(alice, bob);
    const reloaded = reloadedRole === 'callee' ? bob : alice;
    const other = reloaded === bob ? alice : bob;
    await reloaded.expectRemoteMediaFlowing();
    await other.expectRemoteMediaFlowing();

    // A file the reloaded side received before the reload.
    const file = await scratch.randomFile('before-reload.bin', 2 * MiB);
    await sendFileThroughUi(other, file.path);
    await answerOffer(reloaded, file.name, 'Accept');
    await expectTransferState(reloaded, file.name, 'done', 30_000);

    const elapsed = await reloadAndMeasure(reloaded, other);
    printMetric({ metric: 'reload_media_back_ms', reloaded: reloadedRole, value: elapsed });
    expect(elapsed, `media back both ways after the ${reloadedRole}'s reload`).toBeLessThanOrEqual(
      MEDIA_BACK_MS,
    );
    await reloaded.expectConnected();
    await expectAudioArriving(reloaded.evaluate, reloaded.name);
    await expectAudioArriving(other.evaluate, other.name);

    // The reloaded side sends what its buttons say, and the other side shows it.
    await expectControls(reloaded, { mic: true, camera: true });
    await expect.poll(() => other.remoteMedia()).toEqual({ microphone: true, camera: true, screen: false });
    await reloaded.button('Mute microphone').click();
    await expect.poll(() => other.remoteMedia()).toMatchObject({ microphone: false });

    // The file received before the reload is still there, verified, and saves intact.
    await openChat(reloaded);
    await expect(transferItem(reloaded, file.name)).toBeVisible();
    expect(await shownSha256(reloaded, file.name)).toBe(file.sha256);
    const saved = await downloadAndHash(reloaded, file.name, scratch.path('saved.bin'));
    expect(saved.sha256).toBe(file.sha256);

    // A mute chosen before a reload survives it: a reload never unmutes anyone.
    await reloaded.page.reload();
    await reloaded.expectConnected();
    await expectControls(reloaded, { mic: false, camera: true });
    await expect.poll(() => other.remoteMedia(), { timeout: 10_000 }).toMatchObject({ microphone: false });
    await other.expectRemoteMediaFlowing();
  });
}
