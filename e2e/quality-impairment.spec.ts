/**
 * Auto quality under a real bandwidth limit, in the NAT lab (e2e/netns.ts): Alice and Bob behind
 * cone NATs call each other directly, then Alice's uplink (her router's WAN interface) is limited
 * with a `tbf` qdisc to 400 kbit/s. The kernel here has no `netem`; `tbf` is what limits rate and,
 * with its queue, adds the delay a congested uplink has. Auto must step Alice's sent resolution down
 * within 15 s, both sides' quality indicators must name Alice's connection (Bob learns it from her
 * `quality` frame), and Auto must step back up once the limit is lifted (one step, within 45 s: each
 * step up needs five calm samples after a hold of three).
 *
 * Prints the figures as metric lines:
 *   {"metric":"quality_step_down_s","value":…,"from_lines":…,"to_lines":…}
 *   {"metric":"quality_step_up_s","value":…}
 * Needs what the NAT lab needs (root, iproute2, nftables, coturn); skipped with the reason otherwise.
 */
import { runCommand } from '../scripts/netns-commands.js';
import { startCall } from './chat-helpers.js';
import { expect, test } from './lab-fixtures.js';
import { labUnavailableReason } from './netns.js';
import { printMetric } from './transfer-helpers.js';

/** The limit of the impaired network, and a queue of ~150 ms at that rate. */
const LIMIT = { rate: '400kbit', burst: '8kb', latency: '150ms' };
const CAMERA = { width: 640, height: 480 };
/** Bounds with room for a loaded 2-core machine: the policy needs ~3 s of pressure after the estimate drops. */
const STEP_DOWN_WITHIN_MS = 15_000;
const STEP_UP_WITHIN_MS = 45_000;

test.use({ natKinds: ['cone', 'cone'] });
test.describe.configure({ timeout: 240_000 });

test.beforeAll(() => {
  const reason = labUnavailableReason();
  test.skip(reason !== null, `NAT lab unavailable: ${reason ?? ''}`);
});

/** What Alice's app says of her sending side: the policy's step and what the encoder sends. */
function sending(): {
  step: number;
  limitedBy: string | null;
  lines: number;
  availableKbps: number | null;
  encoder: string | null;
} {
  const snapshot = window.__duet!.snapshot;
  return {
    step: snapshot.quality.step,
    limitedBy: snapshot.quality.limitedBy,
    lines: snapshot.stats?.sending.frameHeight ?? 0,
    availableKbps: snapshot.stats?.sending.availableKbps ?? null,
    encoder: snapshot.stats?.sending.limitation ?? null,
  };
}

const tc = (netns: string, ...args: string[]): Promise<string> =>
  runCommand('ip', ['netns', 'exec', netns, 'tc', ...args], 5_000);

test('Auto steps the sent resolution down within 15 s on a 400 kbit/s uplink, and back up after', async ({
  lab,
  labJoin,
}) => {
  // A VGA camera: two 720p encoders and decoders on a loaded 2-core machine make Chromium's CPU
  // adaptation shrink the picture before any bandwidth limit does, which is not what this measures.
  const alice = await labJoin(0, 'Alice', { camera: CAMERA });
  const bob = await labJoin(1, 'Bob', { camera: CAMERA });
  await alice.expectListed('Bob', 'Free');
  await startCall(alice, bob);
  await bob.expectRemoteMediaFlowing();

  const before = await test.step("unlimited: Alice sends her camera's full 480 lines", async () => {
    await expect
      .poll(async () => (await alice.page.evaluate(sending)).lines, {
        message: 'Alice sends 480 lines',
        timeout: 20_000,
      })
      .toBe(CAMERA.height);
    return alice.page.evaluate(sending);
  });

  const router = lab.sites[0].routerNetns;
  /** What Alice's app said while the limit held, for the report of a failure. */
  const trace: unknown[] = [];
  const limitedAt = Date.now();
  await tc(router, 'qdisc', 'add', 'dev', 'wan', 'root', 'tbf', 'rate', LIMIT.rate, 'burst', LIMIT.burst, 'latency', LIMIT.latency); // prettier-ignore

  const down =
    await test.step('limited to 400 kbit/s: the policy steps down and the encoder sends fewer lines', async () => {
      try {
        await expect
          .poll(
            async () => {
              const now = await alice.page.evaluate(sending);
              trace.push({ ms: Date.now() - limitedAt, ...now });
              return now.step > before.step && now.lines > 0 && now.lines < before.lines;
            },
            { message: "Alice's sent resolution steps down", timeout: STEP_DOWN_WITHIN_MS, intervals: [250] },
          )
          .toBe(true);
      } finally {
        await test.info().attach('alice-sending-trace.json', {
          body: JSON.stringify(trace, null, 1),
          contentType: 'application/json',
        });
      }
      return { seconds: (Date.now() - limitedAt) / 1000, ...(await alice.page.evaluate(sending)) };
    });
  printMetric({
    metric: 'quality_step_down_s',
    value: Number(down.seconds.toFixed(1)),
    from_lines: before.lines,
    to_lines: down.lines,
    to_step: down.step,
    limited_by: down.limitedBy,
    available_kbps: down.availableKbps === null ? null : Math.round(down.availableKbps),
  });
  await test.step("each side's quality indicator names Alice's connection as the problem", async () => {
    await expect(alice.page.getByTestId('quality-blame')).toHaveText('Your connection');
    // Told over the data channel (the `quality` frame).
    await expect(bob.page.getByTestId('quality-blame')).toHaveText("Alice's connection");
  });
  // The call carries on through it: audio keeps arriving.
  await bob.expectRemoteMediaFlowing();

  await tc(router, 'qdisc', 'del', 'dev', 'wan', 'root');
  const liftedAt = Date.now();
  // The step may still go down a little while the queue drains: "back up" is from the worst seen.
  let worst = 0;
  await test.step('the limit lifted: the policy steps back up', async () => {
    await expect
      .poll(
        async () => {
          const { step } = await alice.page.evaluate(sending);
          worst = Math.max(worst, step);
          return step < worst;
        },
        { message: "Alice's step comes back up", timeout: STEP_UP_WITHIN_MS, intervals: [500] },
      )
      .toBe(true);
  });
  printMetric({ metric: 'quality_step_up_s', value: Number(((Date.now() - liftedAt) / 1000).toFixed(1)) });
});
