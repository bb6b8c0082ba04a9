/**
 * A call on a bad network, in the NAT lab (lab-fixtures.ts; both sites behind cone NATs, so the call
 * is direct and only Alice's own link is made bad). Through the real UI, in real Chromium:
 *
 * 1. Alice's link at 400 kbit/s each way, 3 % of UDP lost, and 150 ms more round trip for her media,
 *    for 60 s: the call stays up, audio keeps flowing both ways with concealment under a bound, and
 *    the video Alice sends steps down in size within 15 s;
 * 2. the limit lifted: her video steps back up within 30 s (and the time back to its earlier size is printed);
 * 3. 20 % loss for 5 s: no hang-up, no new peer connection, media back soon after;
 * 4. a network change (Alice's address moves, every socket on the old one dies): media back, on the
 *    same peer connection (ICE restart), without a new call.
 * And with Firefox ESR on the lossy side (lab-firefox.ts), against Chromium: the 20 % loss burst.
 *
 * How each condition is made (impairment.ts): `tbf` for bandwidth and nftables `numgen random` for
 * loss on Alice's router; the delay by a user-space UDP relay in front of the TURN server, through
 * which the call runs (no netem in this kernel; Chromium ignores libwebrtc's fake-network field
 * trials), checked below to really act. The figures are printed as `metric` lines:
 *   {"metric":"bad_network_step_down_s",…} {"metric":"bad_network_step_up_s",…}
 *   {"metric":"bad_network_audio",…} {"metric":"loss_burst_recovery_s",…} {"metric":"network_change_recovery_s",…}
 */
import { writeFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { startCall } from './chat-helpers.js';
import { clearSite, impairSite, moveClient } from './impairment.js';
import { expect, test } from './lab-fixtures.js';
import { sampleMedia, type MediaSample } from './media-probe.js';
import { labUnavailableReason, recordPeerConnections } from './netns.js';
import { FirefoxPerson } from './firefox.js';
import { launchLabFirefox } from './lab-firefox.js';
import type { Participant } from './person.js';
import { printMetric } from './transfer-helpers.js';

/** Added to each direction of Alice's media: 150 ms more round trip. */
const ONE_WAY_DELAY_MS = 75;
const BAD_LINK = { rateKbit: 400, lossPercent: 3 } as const;
const BAD_FOR_MS = 60_000;
/** The bounds: down within 15 s of the limit, back up within 30 s of its end. */
const STEP_DOWN_WITHIN_MS = 15_000;
const STEP_UP_WITHIN_MS = 30_000;
/** How long the return to the full picture is waited for, to print it (not a bound of the issue's). */
const FULL_RECOVERY_REPORTED_WITHIN_MS = 30_000;
/**
 * At most this share of the audio played out may be concealment (NetEq making up samples for lost
 * or late packets) over the bad minute. 3 % random loss alone conceals about 3 % (less with Opus's
 * in-band FEC); the bound leaves room for the jitter of a full 400 kbit/s queue and for a loaded
 * 2-core machine, and still fails for audio that breaks up (one packet in six made up).
 */
const MAX_CONCEALED_SHARE = 0.15;
const BURST = { lossPercent: 20, forMs: 5_000 } as const;
/** Media back after the burst ends, and after the network change (an ICE restart through signaling). */
const BURST_RECOVERY_WITHIN_MS = 10_000;
const NETWORK_CHANGE_RECOVERY_WITHIN_MS = 30_000;
const SAMPLE_EVERY_MS = 1_000;
/** On the good network the picture grows at least this far (the step down is measured from there). */
const MIN_GOOD_HEIGHT = 240;

// The call runs through TURN (relay policy from the server), where the lab can delay Alice's traffic.
test.use({ natKinds: ['cone', 'cone'], labServerEnv: { DUET_ICE_TRANSPORT_POLICY: 'relay' } });
// Building the lab (~15 s), calling, 60 s of bad network, the recoveries: ~2.5 min on an idle machine.
test.describe.configure({ timeout: 360_000 });

test.beforeAll(() => {
  const reason = labUnavailableReason();
  test.skip(reason !== null, `NAT lab unavailable: ${reason ?? ''}`);
});

const sample = async (person: Participant): Promise<MediaSample> => {
  const s = await person.evaluate(sampleMedia, undefined);
  if (!s) {
    throw new Error(`${person.name}'s page has no peer connection`);
  }
  return s;
};

/** The height of the camera track Alice sends: what her video is when nothing limits it. */
const cameraHeight = (page: Page): Promise<number | null> =>
  page.evaluate(() => {
    const made = (window as unknown as { __e2ePeerConnections?: RTCPeerConnection[] }).__e2ePeerConnections;
    const sender = made
      ?.at(-1)
      ?.getSenders()
      .find((s) => s.track?.kind === 'video');
    return sender?.track?.getSettings().height ?? null;
  });

/** Poll `read` every second until `done` holds; the ms it took. Fails after `withinMs`. */
async function timeUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  withinMs: number,
): Promise<{ ms: number; value: T }> {
  const start = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) {
      return { ms: Date.now() - start, value };
    }
    if (Date.now() - start > withinMs) {
      throw new Error(`${what}: not within ${withinMs / 1000} s (last: ${JSON.stringify(value)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS / 2));
  }
}

/** What arrived at each person over ~1 s: video frames decoded and audio packets received. */
async function arrivals(
  people: Participant[],
): Promise<Array<{ name: string; frames: number; packets: number }>> {
  const before = await Promise.all(people.map(sample));
  await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
  const after = await Promise.all(people.map(sample));
  return people.map((person, i) => ({
    name: person.name,
    frames: (after[i]!.receivedVideo?.framesDecoded ?? 0) - (before[i]!.receivedVideo?.framesDecoded ?? 0),
    packets:
      (after[i]!.receivedAudio?.packetsReceived ?? 0) - (before[i]!.receivedAudio?.packetsReceived ?? 0),
  }));
}

const flowing = (seen: Array<{ frames: number; packets: number }>): boolean =>
  seen.every((side) => side.frames > 0 && side.packets > 0);

/** ICE restarts both people's calls have made so far (their Duet logs say each one). */
async function iceRestarts(people: Participant[]): Promise<number> {
  const counts = await Promise.all(
    people.map((person) =>
      person.evaluate(
        () => (window.__duet?.diagnostics().log ?? []).filter((line) => line.includes('ICE restart')).length,
        undefined,
      ),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Run `body`; when it fails, attach each person's Duet log (ICE restarts, reconnects) to the test. */
async function attachLogsOnFailure<T>(people: Participant[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    for (const person of people) {
      const log = await person
        .evaluate(() => window.__duet?.diagnostics().log ?? [], undefined)
        .catch(() => []);
      const path = test.info().outputPath(`${person.name}-duet-log.txt`);
      await writeFile(path, log.join('\n'));
      await test.info().attach(`${person.name}-duet-log.txt`, { path, contentType: 'text/plain' });
    }
    throw error;
  }
}

const seconds = (ms: number): number => Number((ms / 1000).toFixed(1));

// This test found a regression of the first Auto policy: it read the encoder's `bandwidth` limit
// (libwebrtc fitting the picture under our ceiling) as the path's, lowered the ceiling under it, and
// so starved the bandwidth estimate, which grows only with what is sent: over this +150 ms path the
// picture stayed at 135-180 lines. The quality log lines (`[quality] video step …`) in the Duet log
// say why each step was taken; they are attached when the policy's steps fail.
test('a call on a bad network: 400 kbit/s, 150 ms, 3 % loss for a minute; a loss burst; a network change', async ({
  lab,
  labJoin,
}) => {
  const site = lab.sites[0];
  await lab.delayTurn(site, ONE_WAY_DELAY_MS);
  const alice = await labJoin(0, 'Alice');
  const bob = await labJoin(1, 'Bob');
  const people = [alice, bob];
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await alice.expectRemoteMediaFlowing();
  await bob.expectRemoteMediaFlowing();
  const connections = await Promise.all(people.map(async (p) => (await sample(p)).peerConnections));

  const full = await cameraHeight(alice.page);
  expect(full, "Alice's camera track has a height").not.toBeNull();
  // The call starts small and grows as the bandwidth estimate does (slowly over a 150 ms round trip):
  // the picture before the bad minute is the full one, or what it grew to in 30 s.
  const before = await test.step('Alice sends a grown picture on the good network', () =>
    attachLogsOnFailure([alice], async () => {
      const grown = await timeUntil(
        'full picture',
        () => sample(alice),
        (s) => (s.sentVideo?.frameHeight ?? 0) >= full!,
        30_000,
      ).catch(async () => ({ ms: 30_000, value: await sample(alice) }));
      const height = grown.value.sentVideo?.frameHeight ?? 0;
      expect(height, 'the picture grew on the good network').toBeGreaterThanOrEqual(MIN_GOOD_HEIGHT);
      return height;
    }));

  await test.step("the delay acts on the media's path (RTCP and ICE round trips)", async () => {
    const { value } = await timeUntil(
      'RTCP round trip with the added delay',
      () => sample(alice),
      (s) => (s.rtcpRoundTripMs ?? 0) >= 2 * ONE_WAY_DELAY_MS * 0.9,
      15_000,
    );
    printMetric({
      metric: 'bad_network_round_trip_ms',
      rtcp: value.rtcpRoundTripMs,
      ice: value.iceRoundTripMs,
    });
  });

  await test.step(`${BAD_LINK.rateKbit} kbit/s, ${BAD_LINK.lossPercent} % loss for ${BAD_FOR_MS / 1000} s`, async () => {
    const audioStart = await Promise.all(people.map(sample));
    await impairSite(site, BAD_LINK);
    const started = Date.now();
    const down = await timeUntil(
      'sent video steps down',
      () => sample(alice),
      (s) => (s.sentVideo?.frameHeight ?? before) < before,
      STEP_DOWN_WITHIN_MS,
    );
    // The rest of the minute: the call stays up and audio keeps arriving on both sides.
    const lowest = { height: down.value.sentVideo!.frameHeight!, reasons: new Set<string>() };
    let last = audioStart;
    while (Date.now() - started < BAD_FOR_MS) {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const now = await Promise.all(people.map(sample));
      for (const [i, person] of people.entries()) {
        expect(
          now[i]!.receivedAudio!.packetsReceived,
          `${person.name} keeps receiving audio (${Math.round((Date.now() - started) / 1000)} s into the bad minute)`,
        ).toBeGreaterThan(last[i]!.receivedAudio!.packetsReceived);
      }
      const sent = now[0]!.sentVideo;
      lowest.height = Math.min(lowest.height, sent?.frameHeight ?? lowest.height);
      if (sent?.qualityLimitationReason) {
        lowest.reasons.add(sent.qualityLimitationReason);
      }
      last = now;
    }
    for (const person of people) {
      await expect(person.callState).toHaveText('Connected');
    }
    const audio = people.map((person, i) => {
      const a = audioStart[i]!.receivedAudio!;
      const b = last[i]!.receivedAudio!;
      const samples = b.totalSamplesReceived - a.totalSamplesReceived;
      return {
        receiver: person.name,
        packets: b.packetsReceived - a.packetsReceived,
        lost: b.packetsLost - a.packetsLost,
        concealed_share: Number(
          ((b.concealedSamples - a.concealedSamples) / Math.max(1, samples)).toFixed(3),
        ),
      };
    });
    printMetric({
      metric: 'bad_network_step_down_s',
      value: seconds(down.ms),
      from_height: before,
      to_height: down.value.sentVideo!.frameHeight,
      lowest_height: lowest.height,
      limitation: [...lowest.reasons],
    });
    printMetric({ metric: 'bad_network_audio', seconds: BAD_FOR_MS / 1000, sides: audio });
    for (const side of audio) {
      expect(side.concealed_share, `audio concealed at ${side.receiver}`).toBeLessThan(MAX_CONCEALED_SHARE);
    }
  });

  await test.step('the limit lifted: the picture steps back up', async () => {
    await clearSite(site);
    const atLift = (await sample(alice)).sentVideo?.frameHeight ?? 0;
    // The bound: a step back up within 30 s. The quality policy climbs one step at a time
    // (five calm samples, then a hold), so the whole way back from the lowest step takes longer; how
    // long is measured and printed, bounded, not asserted.
    const up = await attachLogsOnFailure([alice], () =>
      timeUntil(
        'sent video steps back up',
        () => sample(alice),
        (s) => (s.sentVideo?.frameHeight ?? 0) > atLift,
        STEP_UP_WITHIN_MS,
      ),
    );
    const full = await timeUntil(
      'sent video back to its size',
      () => sample(alice),
      (s) => (s.sentVideo?.frameHeight ?? 0) >= before,
      FULL_RECOVERY_REPORTED_WITHIN_MS,
    ).catch(() => null);
    printMetric({
      metric: 'bad_network_step_up_s',
      value: seconds(up.ms),
      from_height: atLift,
      to_height: up.value.sentVideo?.frameHeight,
      back_to_full_s: full === null ? null : seconds(up.ms + full.ms),
      full_height: before,
    });
  });

  await test.step(`${BURST.lossPercent} % loss for ${BURST.forMs / 1000} s: no hang-up, media back`, async () => {
    await impairSite(site, { lossPercent: BURST.lossPercent });
    await new Promise((resolve) => setTimeout(resolve, BURST.forMs));
    await clearSite(site);
    const recovered = await timeUntil(
      'media after the burst',
      () => arrivals(people),
      flowing,
      BURST_RECOVERY_WITHIN_MS,
    );
    printMetric({
      metric: 'loss_burst_recovery_s',
      value: seconds(recovered.ms),
      loss_percent: BURST.lossPercent,
    });
    for (const [i, person] of people.entries()) {
      await expect(person.callState).toHaveText('Connected');
      expect((await sample(person)).peerConnections, `${person.name}: the same peer connection`).toBe(
        connections[i],
      );
    }
  });

  await test.step("a network change: Alice's address moves; media back on the same connection", async () => {
    const restartsBefore = await iceRestarts(people);
    const moved = await moveClient(site, site.lanIp);
    // Back: the call restarted ICE since the move (the old path is gone with the address), and
    // media flows both ways again.
    const recovered = await attachLogsOnFailure(people, () =>
      timeUntil(
        'media after the network change',
        async () => ({
          restarts: (await iceRestarts(people)) - restartsBefore,
          arrived: await arrivals(people),
        }),
        ({ restarts, arrived }) => restarts > 0 && flowing(arrived),
        NETWORK_CHANGE_RECOVERY_WITHIN_MS,
      ),
    );
    printMetric({
      metric: 'network_change_recovery_s',
      value: seconds(recovered.ms),
      moved_to: moved,
      ice_restarts: (await iceRestarts(people)) - restartsBefore,
    });
    for (const [i, person] of people.entries()) {
      await expect(person.callState).toHaveText('Connected');
      expect((await sample(person)).peerConnections, `${person.name}: the same peer connection`).toBe(
        connections[i],
      );
    }
  });
});

test('Firefox on the lossy side: a 20 % loss burst, no hang-up, the same connection, media back', async ({
  lab,
  labServer,
  labJoin,
}) => {
  const alice = await labJoin(0, 'Alice');
  const firefox = await launchLabFirefox(lab.sites[1]);
  try {
    const page = await firefox.browser.newPage();
    await page.evaluateOnNewDocument(recordPeerConnections);
    const bob = new FirefoxPerson('Bob', alice.room, page, page.browserContext());
    await bob.submitJoin(labServer.origin);
    await bob.expectInRoom();
    const people = [alice, bob];
    await alice.expectListed('Bob', 'Free');
    await startCall(alice, bob);
    await alice.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
    const connections = await Promise.all(people.map(async (p) => (await sample(p)).peerConnections));

    await impairSite(lab.sites[1], { lossPercent: BURST.lossPercent });
    await new Promise((resolve) => setTimeout(resolve, BURST.forMs));
    await clearSite(lab.sites[1]);
    const recovered = await attachLogsOnFailure(people, () =>
      timeUntil('media after the burst', () => arrivals(people), flowing, BURST_RECOVERY_WITHIN_MS),
    );
    printMetric({
      metric: 'loss_burst_recovery_s',
      value: seconds(recovered.ms),
      loss_percent: BURST.lossPercent,
      lossy_side: 'firefox',
    });
    await alice.expectConnected();
    await bob.expectConnected();
    for (const [i, person] of people.entries()) {
      expect((await sample(person)).peerConnections, `${person.name}: the same peer connection`).toBe(
        connections[i],
      );
    }
  } finally {
    await firefox.close();
  }
});
