/**
 * Calls through the TURN relay Duet runs itself, on one machine:
 *
 *   Chromium "Alice" ──┐  TURN/STUN 127.0.0.1:<free port>      ┌── Chromium "Bob"
 *   (relay candidate   ├─ turnserver (supervised by the Duet ──┤   (relay candidate
 *    127.0.0.2:<port>) │   server, DUET_TURN_SERVER=local)     │    127.0.0.2:<port>)
 *                      └─ relayed media: 127.0.0.2 ⇄ 127.0.0.2 ┘
 *
 * The relay address is a second loopback address (127.0.0.2), so it differs from every other loopback
 * peer: the generated coturn config denies loopback and private peers except its own relay address
 * (allowed-peer-ip), which is exactly the relay-to-relay path two relay-only peers need. On a real
 * host the relay guard (nftables) keeps that address's other ports closed, and Duet refuses to start
 * turnserver without it; a test must not load firewall rules into the machine it runs on, so this one
 * opts out with the lab setting DUET_TURN_LAB_UNGUARDED_RELAY=127.0.0.2 (loopback only, logged as a
 * warning). The guarded start is what the NAT lab (nat-lab.spec.ts) runs, inside its namespaces. With
 * DUET_ICE_TRANSPORT_POLICY=relay the browsers gather nothing but relay candidates, so a connected call
 * proves media and data both cross the relay. The relay ports are a private range outside the kernel's
 * ephemeral ports.
 *
 * The same file measures how long a callee waits from pressing Accept to the first remote video frame
 * (requestVideoFrameCallback), through TURN and directly (no TURN configured), and prints JSON lines:
 *   {"metric":"accept_to_first_frame_ms","path":"relay","value":…,"samples":[…],…}
 */
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { expect, test, type OpenOptions } from './fixtures.js';
import { iceReport, pathState, recordPeerConnections, type IceReport } from './netns.js';
import type { Person } from './person.js';

/** Calls per measurement: the value printed is their median. */
const ROUNDS = 3;

// Three calls with hang-ups per test: ~40 s on an idle 2-core machine, over the default 60 s when
// other browser tests share it. The bound is for a stuck test, not a slow machine.
test.describe.configure({ timeout: 240_000 });

/** A port free for both TCP and UDP on `host` (TURN listens on both). Bounded attempts. */
async function freeTcpUdpPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, host, () => socket.close(() => resolve(true)));
    });
    if (port > 0 && udpFree) {
      return port;
    }
  }
  throw new Error(`no port free for both TCP and UDP on ${host} after 20 attempts`);
}

// ---------------------------------------------------------------------------------------------
// Accept → first remote frame, measured inside the pages (serialized: self-contained functions).
// ---------------------------------------------------------------------------------------------

interface FrameTiming {
  /** Epoch milliseconds (performance.timeOrigin + now): comparable across pages of one machine. */
  acceptAt: number | null;
  firstFrameAt: number | null;
}

/**
 * Start watching: the time of the next click on an "Accept" button, and of the first frame any
 * remote `<video>` presents from now on (each new element gets a requestVideoFrameCallback). Polls
 * for new elements every 5 ms, for at most 60 s.
 */
function armFrameTimer(): void {
  const timing: FrameTiming = { acceptAt: null, firstFrameAt: null };
  (window as unknown as { __e2eFrameTiming: FrameTiming }).__e2eFrameTiming = timing;
  const epochNow = (): number => performance.timeOrigin + performance.now();
  const onClick = (event: MouseEvent): void => {
    const button = event.target instanceof Element ? event.target.closest('button') : null;
    if (timing.acceptAt === null && button?.textContent.trim() === 'Accept') {
      timing.acceptAt = epochNow();
    }
  };
  document.addEventListener('click', onClick, { capture: true });
  const seen = new WeakSet<HTMLVideoElement>();
  const started = performance.now();
  const timer = setInterval(() => {
    if (timing.firstFrameAt !== null || performance.now() - started > 60_000) {
      clearInterval(timer);
      document.removeEventListener('click', onClick, { capture: true });
      return;
    }
    for (const video of document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]')) {
      if (seen.has(video)) {
        continue;
      }
      seen.add(video);
      video.requestVideoFrameCallback(() => {
        timing.firstFrameAt ??= epochNow();
      });
    }
  }, 5);
}

function readFrameTimer(): FrameTiming | null {
  return (window as unknown as { __e2eFrameTiming?: FrameTiming }).__e2eFrameTiming ?? null;
}

interface CallTiming {
  /** Bob (callee): his Accept click to the first frame of Alice's video on his screen. */
  callee: number;
  /** Alice (caller): Bob's Accept click to the first frame of Bob's video on her screen. */
  caller: number;
}

/**
 * Alice calls Bob, Bob accepts (then `afterAccept` runs), both connect; resolves with both sides'
 * accept → first frame.
 */
async function timedCall(alice: Person, bob: Person, afterAccept?: () => Promise<void>): Promise<CallTiming> {
  await alice.evaluate(armFrameTimer, undefined);
  await bob.evaluate(armFrameTimer, undefined);
  await alice.callPerson('Bob');
  await bob.expectIncomingCall('Alice');
  await bob.accept();
  await afterAccept?.();
  await alice.expectConnected();
  await bob.expectConnected();
  const both = async (): Promise<[FrameTiming | null, FrameTiming | null]> => [
    await alice.evaluate(readFrameTimer, undefined),
    await bob.evaluate(readFrameTimer, undefined),
  ];
  await expect
    .poll(async () => (await both()).map((t) => t?.firstFrameAt !== null && t?.firstFrameAt !== undefined), {
      message: 'both remote videos present a first frame',
      timeout: 20_000,
    })
    .toEqual([true, true]);
  const [aliceTiming, bobTiming] = await both();
  const acceptAt = bobTiming?.acceptAt;
  if (acceptAt === null || acceptAt === undefined) {
    throw new Error("Bob's Accept click was not seen");
  }
  return {
    callee: Math.round(bobTiming!.firstFrameAt! - acceptAt),
    caller: Math.round(aliceTiming!.firstFrameAt! - acceptAt),
  };
}

async function hangUpAndWait(alice: Person, bob: Person): Promise<void> {
  await alice.hangUp();
  await alice.expectListed('Bob', 'Free');
  await bob.expectListed('Alice', 'Free');
  await expect(alice.remoteVideo).toHaveCount(0);
  await expect(bob.remoteVideo).toHaveCount(0);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * `ROUNDS` more calls between Alice and Bob (the first `first`, already made), then print the metric:
 * the median callee value, with every sample of both sides.
 */
async function measure(
  alice: Person,
  bob: Person,
  path: 'relay' | 'direct',
  first: CallTiming,
): Promise<void> {
  const samples = [first];
  for (let round = 1; round < ROUNDS; round++) {
    await hangUpAndWait(alice, bob);
    samples.push(await timedCall(alice, bob));
  }
  const callee = samples.map((s) => s.callee);
  const caller = samples.map((s) => s.caller);
  console.log(
    JSON.stringify({
      metric: 'accept_to_first_frame_ms',
      path,
      value: median(callee),
      samples: callee,
      caller_median: median(caller),
      caller_samples: caller,
    }),
  );
}

/** Alice and Bob join (their pages record RTCPeerConnections) and see each other. */
async function joinBoth(
  join: (name: string, options?: OpenOptions) => Promise<Person>,
): Promise<{ alice: Person; bob: Person }> {
  const beforeJoin = (page: Person['page']): Promise<unknown> => page.addInitScript(recordPeerConnections);
  const alice = await join('Alice', { beforeJoin });
  const bob = await join('Bob', { beforeJoin });
  await alice.expectListed('Bob', 'Free');
  await bob.expectListed('Alice', 'Free');
  return { alice, bob };
}

async function ice(person: Person): Promise<IceReport> {
  const report = await person.page.evaluate(iceReport);
  if (!report) {
    throw new Error(`${person.name}'s page made no RTCPeerConnection`);
  }
  return report;
}

test.describe('through the local TURN server with ICE transport policy "relay"', () => {
  test.use({
    // Playwright reads fixture dependencies from the first parameter's destructuring: `{}` is none.
    // eslint-disable-next-line no-empty-pattern
    serverEnv: async ({}, use) => {
      const turnPort = await freeTcpUdpPort('127.0.0.1');
      // 100 relay ports on 127.0.0.2, below the kernel's ephemeral range (32768+): nobody else's.
      const minPort = 20_000 + 100 * randomInt(0, 100);
      await use({
        DUET_TURN_SERVER: 'local',
        DUET_TURN_LISTEN_IPS: '127.0.0.1',
        DUET_TURN_RELAY_IP: '127.0.0.2',
        // No relay guard on the test machine's own host: see the top of this file.
        DUET_TURN_LAB_UNGUARDED_RELAY: '127.0.0.2',
        DUET_TURN_PORT: String(turnPort),
        DUET_TURN_MIN_PORT: String(minPort),
        DUET_TURN_MAX_PORT: String(minPort + 99),
        DUET_ICE_TRANSPORT_POLICY: 'relay',
        // The turnserver's own output is logged at debug level: attached to a failed test's server.log.
        DUET_LOG_LEVEL: 'debug',
      });
    },
  });

  test('the call connects through the relay: media both ways, data channel open, stats say relay', async ({
    join,
    serverEnv,
  }) => {
    const { alice, bob } = await joinBoth(join);
    // coturn listens on DUET_TURN_LISTEN_IPS only: the URLs clients get must name that address, not
    // the relay address (nothing listens there; relay-only clients would gather no candidates at all).
    const turnAt = `127.0.0.1:${serverEnv.DUET_TURN_PORT}`;
    const urlsPointAtTheListener = async (): Promise<void> => {
      for (const person of [alice, bob]) {
        await expect
          .poll(
            async () => (await person.page.evaluate(iceReport))?.iceServerUrls ?? 'no RTCPeerConnection',
            {
              message: `${person.name}'s TURN URLs name the address the turnserver listens on (${turnAt})`,
            },
          )
          .toEqual(expect.arrayContaining([`turn:${turnAt}?transport=udp`, `turn:${turnAt}?transport=tcp`]));
      }
    };
    const first = await test.step('Alice calls Bob, Bob accepts, the call connects', () =>
      timedCall(alice, bob, urlsPointAtTheListener));

    await test.step('media flows both ways', async () => {
      await alice.expectRemoteMediaFlowing();
      await bob.expectRemoteMediaFlowing();
    });

    for (const person of [alice, bob]) {
      await test.step(`${person.name}: the path is the relay, the data channel is open`, async () => {
        await expect
          .poll(() => person.page.evaluate(pathState), { message: `${person.name}'s path and data channel` })
          .toMatchObject({ path: 'relay', localCandidateType: 'relay', dataChannelOpen: true });
        const report = await ice(person);
        expect(report.iceTransportPolicy, 'the server told the client to use relay only').toBe('relay');
        // Relay only: every local candidate is a relay candidate on the relay address, none is host.
        expect(report.local.length).toBeGreaterThan(0);
        for (const candidate of report.local) {
          expect(candidate, `${person.name}'s local candidates`).toMatchObject({
            type: 'relay',
            address: '127.0.0.2',
          });
        }
        const selected = report.pairs.filter((pair) => pair.selected);
        expect(selected.map((pair) => `${pair.local}->${pair.remote}`)).toEqual(['relay->relay']);
      });
    }

    await test.step('the statistics panel says "Relayed (TURN)"', async () => {
      for (const person of [alice, bob]) {
        await person.button('Statistics').click();
        await expect(person.page.getByTestId('stats-path')).toHaveText('Relayed (TURN)');
        await person.button('Statistics').click();
      }
    });

    await test.step(`accept → first frame through TURN (${ROUNDS} calls)`, () =>
      measure(alice, bob, 'relay', first));
  });
});

test.describe('without TURN (direct, for comparison)', () => {
  test('accept → first frame on a direct path', async ({ join }) => {
    const { alice, bob } = await joinBoth(join);
    const first = await test.step('Alice calls Bob, Bob accepts, the call connects', () =>
      timedCall(alice, bob));
    await test.step('the path is direct on both sides', async () => {
      for (const person of [alice, bob]) {
        await expect
          .poll(() => person.page.evaluate(pathState), { message: `${person.name}'s path` })
          .toMatchObject({ path: 'direct' });
        expect((await ice(person)).iceTransportPolicy).toBe('all');
      }
    });
    await test.step(`accept → first frame directly (${ROUNDS} calls)`, () =>
      measure(alice, bob, 'direct', first));
  });
});
