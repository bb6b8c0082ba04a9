/**
 * Recording a call, and picture-in-picture, through the UI in Chromium. The recorded file is
 * checked with Debian's ffprobe/ffmpeg (scripts/ensure-system-deps.sh installs them): one video and
 * one audio stream, the duration written (Chromium's MediaRecorder leaves it out), cues for seeking,
 * frames that decode, and sound in it. Prints
 *   {"metric":"recording_duration_s","value":…,"expected_s":…,"recorded_span_s":…,"frames":…,"max_volume_db":…,"bytes":…}
 *   {"metric":"recording_remote_voice_max_volume_db","value":…}
 *   {"metric":"picture_in_picture_enabled","value":true|false}
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startCall } from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import type { Person } from './person.js';
import { printMetric } from './transfer-helpers.js';

const run = promisify(execFile);

/** What ffprobe and ffmpeg say about a recorded file. */
interface Probe {
  streams: string[];
  durationS: number;
  videoFrames: number;
  /** ffmpeg's volumedetect: the loudest sample, in dBFS (-91 is digital silence). */
  maxVolumeDb: number;
  /** The file has a Cues element (what players seek with). */
  cues: boolean;
}

async function probe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_type,nb_read_frames:format=duration',
    '-of',
    'json',
    path,
  ]);
  const info = JSON.parse(stdout) as {
    streams: Array<{ codec_type: string; nb_read_frames?: string }>;
    format: { duration?: string };
  };
  // Every packet of both streams decodes: ffmpeg prints at level error (or exits non-zero) otherwise.
  const decoded = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
  expect(decoded.stderr.trim(), 'ffmpeg decoding errors').toBe('');
  // volumedetect reports at level info.
  const volume = await run('ffmpeg', [
    '-hide_banner',
    '-i',
    path,
    '-vn',
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const maxVolume = /max_volume: (-?[\d.]+) dB/.exec(volume.stderr)?.[1];
  const video = info.streams.find((s) => s.codec_type === 'video');
  return {
    streams: info.streams.map((s) => s.codec_type).sort(),
    durationS: Number(info.format.duration ?? NaN),
    videoFrames: Number(video?.nb_read_frames ?? 0),
    maxVolumeDb: Number(maxVolume ?? -Infinity),
    cues: readFileSync(path).includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b])),
  };
}

/** Save the finished recording through its link; the path of the file and the name it was offered under. */
async function saveRecording(person: Person, dir: string): Promise<{ path: string; name: string }> {
  const card = person.page.getByRole('region', { name: 'Call recording' });
  const save = card.getByRole('link', { name: 'Save recording' });
  // Finishing the file (a remux of the whole recording) takes a moment after Stop.
  await expect(save).toBeVisible({ timeout: 20_000 });
  const downloading = person.page.waitForEvent('download');
  await save.click();
  const download = await downloading;
  const name = download.suggestedFilename();
  const path = `${dir}/${name}`;
  await download.saveAs(path);
  // Saved: the card goes.
  await expect(card).toHaveCount(0);
  return { path, name };
}

test('a 10 s recording: the peer sees the mark while it lasts, and the file is a complete WebM of 10 s', async ({
  join,
}, testInfo) => {
  const alice = await join('Alice');
  const bob = await join('Bob');
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await alice.expectRemoteMediaFlowing();
  // Bob stays muted throughout: the sound in Alice's file is her own voice, and in Bob's file it can
  // only be Alice's, through the call. Both halves of the mix are proven that way.
  await bob.button('Mute microphone').click();
  await expect(alice.page.getByTestId('remote-muted')).toBeVisible();

  const record = alice.button('Record');
  const stop = alice.button('Stop recording');
  const peerMark = bob.page.getByTestId('peer-recording');
  const expectedS = 10;
  // When the page got each key press (the recorder starts and stops in that same task): the
  // recording's real span, whatever the test runner's own delays on a loaded machine.
  await alice.page.evaluate(() => {
    const keys: number[] = [];
    Object.assign(window, { recordingKeys: keys });
    window.addEventListener('keydown', () => keys.push(Date.now()), true);
  });
  const keyTimes = (): Promise<number[]> =>
    alice.page.evaluate(() => (window as unknown as { recordingKeys: number[] }).recordingKeys);

  await test.step('Alice presses Record with the keyboard; Bob is told at once', async () => {
    await expect(record).toHaveAttribute('aria-pressed', 'false');
    await record.focus();
    await alice.page.keyboard.press('Enter');
    // The same button, pressed now, and still focused: Enter again stops.
    await expect(stop).toHaveAttribute('aria-pressed', 'true');
    await expect(stop).toBeFocused();
    await expect(alice.page.getByTestId('self-recording')).toHaveText('You are recording');
    // In a live region, so a screen reader says it too.
    await expect(bob.page.getByRole('status').filter({ has: peerMark })).toHaveText(
      'Alice is recording this call',
    );
  });

  let spanS = 0;
  await test.step(`${expectedS} s later Alice stops (Enter); the mark goes on Bob’s side`, async () => {
    const [startedAt] = await keyTimes();
    await alice.page.waitForTimeout(Math.max(0, startedAt! + expectedS * 1000 - Date.now()));
    await alice.page.keyboard.press('Enter');
    await expect(record).toHaveAttribute('aria-pressed', 'false');
    const [, stoppedAt] = await keyTimes();
    spanS = (stoppedAt! - startedAt!) / 1000;
    await expect(peerMark).toHaveCount(0);
    await expect(alice.page.getByTestId('self-recording')).toHaveCount(0);
  });

  await test.step('the file: clear name, one video and one audio stream, 10 ± 1.5 s, seekable, decodable, with sound', async () => {
    const { path, name } = await saveRecording(alice, testInfo.outputDir);
    expect(name).toMatch(/^duet-call-Bob-\d{8}-\d{6}\.webm$/);
    const result = await probe(path);
    printMetric({
      metric: 'recording_duration_s',
      value: result.durationS,
      expected_s: expectedS,
      recorded_span_s: spanS,
      frames: result.videoFrames,
      max_volume_db: result.maxVolumeDb,
      bytes: readFileSync(path).length,
    });
    expect(result.streams).toEqual(['audio', 'video']);
    expect(result.durationS).toBeGreaterThan(expectedS - 1.5);
    expect(result.durationS).toBeLessThan(expectedS + 1.5);
    // And it is the time the page really recorded (a late key press makes a longer file, rightly).
    expect(Math.abs(result.durationS - spanS)).toBeLessThan(1);
    expect(result.cues).toBe(true);
    expect(result.videoFrames).toBeGreaterThan(0);
    // Chromium's fake microphone plays a beep: Alice's own voice is in the file.
    expect(result.maxVolumeDb).toBeGreaterThan(-40);
  });

  await test.step('Bob (muted) records too; his hang-up stops it, the file is offered in the room and has Alice’s voice', async () => {
    await bob.button('Record').click();
    await expect(alice.page.getByTestId('peer-recording')).toHaveText('Bob is recording this call');
    await bob.page.waitForTimeout(2000);
    await bob.hangUp();
    await alice.expectInRoom();
    await bob.expectInRoom();
    const { path, name } = await saveRecording(bob, testInfo.outputDir);
    expect(name).toMatch(/^duet-call-Alice-\d{8}-\d{6}\.webm$/);
    const result = await probe(path);
    expect(result.streams).toEqual(['audio', 'video']);
    expect(result.durationS).toBeGreaterThan(1);
    expect(result.videoFrames).toBeGreaterThan(0);
    // Bob's microphone is muted: this sound came from Alice, mixed in from the call.
    expect(result.maxVolumeDb).toBeGreaterThan(-40);
    printMetric({ metric: 'recording_remote_voice_max_volume_db', value: result.maxVolumeDb });
  });
});

test('picture-in-picture of the peer’s video where the browser offers it, no button where not', async ({
  join,
}, testInfo) => {
  const alice = await join('Alice');
  const bob = await join('Bob');
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await alice.expectRemoteMediaFlowing();
  const pip = alice.page.getByTestId('pip-button');
  const enabled = await alice.page.evaluate(() => document.pictureInPictureEnabled);
  testInfo.annotations.push({ type: 'pictureInPictureEnabled', description: String(enabled) });
  printMetric({ metric: 'picture_in_picture_enabled', value: enabled });
  if (!enabled) {
    await expect(pip).toHaveCount(0);
    return;
  }
  await expect(pip).toHaveAccessibleName('Picture in picture');
  await expect(pip).toHaveAttribute('aria-pressed', 'false');
  await pip.click();
  await expect(pip).toHaveAttribute('aria-pressed', 'true');
  expect(
    await alice.page.evaluate(() => document.pictureInPictureElement?.getAttribute('data-testid') ?? null),
  ).toBe('remote-video');
  // The call goes on meanwhile: the peer's media still flows.
  await alice.expectRemoteMediaFlowing();
  await pip.click();
  await expect(pip).toHaveAttribute('aria-pressed', 'false');
  expect(await alice.page.evaluate(() => document.pictureInPictureElement)).toBeNull();
});
