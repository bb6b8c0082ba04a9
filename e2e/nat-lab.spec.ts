/**
 * Calls across NATs, in a lab of network namespaces (e2e/netns.ts has the full picture):
 *
 *   Chromium "Alice"  198.19.1.2 ── NAT a (wan 198.18.0.11) ──┐
 *                                                             ├── "internet" 198.18.0.1: Duet server
 *   Chromium "Bob"    198.19.2.2 ── NAT b (wan 198.18.0.12) ──┘   + its turnserver (STUN/TURN :3478)
 *
 * The server runs the real build (`ip netns exec … node packages/server/dist/main.js --host 198.18.0.1`)
 * with DUET_TURN_SERVER=local; each Chromium runs inside its client namespace through
 * e2e/lab-browser.sh and loads the app from http://198.18.0.1:3000 (treated as a secure origin by flag).
 * ICE transport policy is the default 'all': the browsers choose the path themselves.
 *
 * - Symmetric NATs on both sides (a new external port per destination, nothing unsolicited gets in):
 *   the addresses STUN reports are useless, every direct pair fails, the call runs through TURN —
 *   through one relay: a peer's checks toward the other's relay open a mapping in its NAT that the
 *   relay can answer (the relay permits public peers), so two relays are not needed. With ICE policy
 *   "relay" on both sides the call runs relay to relay, through the relay guard.
 * - Cone NATs on both sides (one external port per socket, still only solicited traffic gets in):
 *   hole punching with the STUN-reported addresses works, the call is direct although TURN is offered.
 * - Alice behind a symmetric NAT, Bob behind a cone NAT: no direct path, and one relay is enough.
 *   ICE picks one side's relay; it sends to the other side's NAT mapping on the lab's "internet" —
 *   a public peer to the relay: what a deny list that refused every peer but another relay broke.
 *
 * The turnserver runs behind the relay guard (loaded by netns.ts as an operator would) and allows the
 * lab's internet 198.18.0.2-198.18.0.255 as peers with the lab setting DUET_TURN_LAB_PEERS: production
 * denies the benchmarking block 198.18.0.0/15, which stands in for the internet here.
 *
 * Each test measures its routers' NAT behaviour before calling (a kernel whose `masquerade` behaves
 * otherwise fails loudly instead of testing the wrong thing). Needs root, iproute2, nftables, coturn;
 * skipped with the reason otherwise. Every namespace and process is removed in the fixtures' teardown.
 */
import { startCall } from './chat-helpers.js';
import { expect, test, type LabFixtures } from './lab-fixtures.js';
import {
  iceReport,
  LAB_SERVER_IP,
  labUnavailableReason,
  pathState,
  type IceReport,
  type NatLab,
} from './netns.js';
import { Person } from './person.js';

// Each test builds five namespaces, measures two NATs, starts the server and turnserver and two
// Chromiums, and calls: ~35 s on an idle 2-core machine, over the default 60 s when other browser
// tests share it (load average 20 seen). The bound is for a stuck test, not a slow machine.
test.describe.configure({ timeout: 240_000 });

test.beforeAll(() => {
  const reason = labUnavailableReason();
  test.skip(reason !== null, `NAT lab unavailable: ${reason ?? ''}`);
});

interface LabCall {
  alice: Person;
  bob: Person;
  /**
   * Each side's ICE report taken as soon as the call connected: Chromium drops failed candidate
   * pairs from its stats some seconds later, so "direct pairs were tried and failed" is read here.
   */
  early: Map<Person, IceReport>;
}

/** Alice (site a) calls Bob (site b), Bob accepts, both see the call connected and media flowing. */
async function callAcrossTheLab(labJoin: LabFixtures['labJoin']): Promise<LabCall> {
  const alice = await labJoin(0, 'Alice');
  const bob = await labJoin(1, 'Bob');
  const early = new Map<Person, IceReport>();
  await test.step('Alice calls Bob, Bob accepts, the call connects', async () => {
    await alice.expectListed('Bob', 'Free');
    await startCall(alice, bob);
    for (const person of [alice, bob]) {
      early.set(person, await ice(person));
    }
  });
  await test.step('media flows both ways', async () => {
    await alice.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
  });
  return { alice, bob, early };
}

/** The NAT of each site behaves as its kind says (measured, not assumed from the ruleset). */
async function expectNat(lab: NatLab): Promise<void> {
  await test.step(`the routers behave as ${lab.sites.map((site) => site.nat).join(' and ')} NATs`, async () => {
    for (const site of lab.sites) {
      const kind = site.nat;
      const probe = await lab.probeNat(site);
      const what = `NAT ${site.id} (${JSON.stringify(probe)})`;
      expect(probe.endpointIndependent, `${what}: same external port towards two destinations`).toBe(
        kind === 'cone',
      );
      expect(probe.replyDelivered, `${what}: a reply gets back in`).toBe(true);
      expect(probe.unsolicitedDelivered, `${what}: an unsolicited datagram is dropped`).toBe(false);
    }
  });
}

/**
 * Exactly one side's selected local candidate is a relay candidate, and its remote end is the other
 * side's router (a public peer to the relay: the WAN address of its site), not another relay. The
 * other side sends from its own address to that relay candidate. Which side ICE picks is its choice.
 */
async function expectOneRelay(lab: NatLab, alice: Person, bob: Person): Promise<void> {
  await test.step("one relay: one side relays to the other side's public address", async () => {
    const people = [alice, bob];
    const relayed = async (): Promise<boolean[]> =>
      Promise.all(people.map(async (p) => (await p.page.evaluate(pathState)).localCandidateType === 'relay'));
    // ICE may settle on its final pair a moment after connecting (a loaded machine: longer).
    await expect
      .poll(async () => (await relayed()).filter(Boolean).length, {
        message: 'exactly one side sends from a relay candidate',
        timeout: 30_000,
      })
      .toBe(1);
    const index = (await relayed()).indexOf(true);
    const [withRelay, without] = [people[index]!, people[1 - index]!];
    const peerSite = lab.sites[1 - index]!;
    const selected = (await ice(withRelay)).pairs.filter((pair) => pair.selected);
    expect(selected, `${withRelay.name}'s selected pair`).toEqual([
      expect.objectContaining({ local: 'relay', localAddress: LAB_SERVER_IP }),
    ]);
    // The far end is the peer's NAT mapping: learned from STUN (srflx) or from its checks (prflx,
    // whose address Chromium hides; the other side's view below shows it).
    expect(['srflx', 'prflx']).toContain(selected[0]!.remote);
    if (selected[0]!.remote === 'srflx') {
      expect(selected[0]!.remoteAddress).toBe(peerSite.wanIp);
    }
    const theirs = (await ice(without)).pairs.filter((pair) => pair.selected);
    expect(theirs, `${without.name}'s selected pair`).toEqual([
      expect.objectContaining({ remote: 'relay', remoteAddress: LAB_SERVER_IP }),
    ]);
    // Seen from that side: it sends from its own address, which its router maps to its WAN address.
    expect(theirs[0]!.local).not.toBe('relay');
    expect([peerSite.lanIp, peerSite.wanIp]).toContain(theirs[0]!.localAddress);
  });
}

/**
 * For the statistics panel's button and text: at load average 30 (other browser tests on the same
 * two cores) a click waited over the default 10 s for the page to settle.
 */
const UI_TIMEOUT_MS = 30_000;

const isDirect = (pair: IceReport['pairs'][number]): boolean =>
  pair.local !== 'relay' && pair.remote !== 'relay';

async function ice(person: Person): Promise<IceReport> {
  const report = await person.page.evaluate(iceReport);
  if (!report) {
    throw new Error(`${person.name}'s page made no RTCPeerConnection`);
  }
  return report;
}

/** One JSON line for the log: which candidate pair each side ended up on. */
async function printSelectedPairs(kind: string, people: Person[]): Promise<void> {
  const selected: Record<string, string> = {};
  for (const person of people) {
    const pair = (await ice(person)).pairs.find((p) => p.selected);
    selected[person.name] = pair ? `${pair.local}->${pair.remote}` : 'none';
  }
  console.log(JSON.stringify({ nat_lab: kind, selected_pair: selected }));
}

test.describe('both peers behind symmetric NATs', () => {
  test.use({ natKinds: ['symmetric', 'symmetric'] });

  test('with ICE policy "all" every direct path fails and the call runs through one TURN relay', async ({
    lab,
    labJoin,
  }) => {
    await expectNat(lab);
    const { alice, bob, early } = await callAcrossTheLab(labJoin);

    for (const person of [alice, bob]) {
      await test.step(`${person.name}: the path is relayed, no direct pair succeeded`, async () => {
        await expect
          .poll(() => person.page.evaluate(pathState), { message: `${person.name}'s path` })
          .toMatchObject({ path: 'relay' });
        const report = early.get(person)!;
        expect(report.iceTransportPolicy, 'the app did not force relay').toBe('all');
        const gathered = new Set(report.local.map((c) => c.type));
        // STUN worked (srflx) and direct pairs were checked: they failed, they were not skipped.
        expect([...gathered].sort(), `${person.name} gathered host, srflx and relay candidates`).toEqual(
          expect.arrayContaining(['host', 'relay', 'srflx']),
        );
        const direct = report.pairs.filter(isDirect);
        expect(direct.length, `${person.name} tried direct pairs`).toBeGreaterThan(0);
        expect(
          direct.filter((pair) => pair.state === 'succeeded'),
          `${person.name}: no direct pair succeeded`,
        ).toEqual([]);
      });
    }
    await expectOneRelay(lab, alice, bob);

    await printSelectedPairs('symmetric', [alice, bob]);
    await test.step('the statistics panel says "Relayed (TURN)"', async () => {
      await bob.button('Statistics').click({ timeout: UI_TIMEOUT_MS });
      await expect(bob.page.getByTestId('stats-path')).toHaveText('Relayed (TURN)', {
        timeout: UI_TIMEOUT_MS,
      });
    });
  });
});

test.describe('both peers behind symmetric NATs, ICE policy "relay"', () => {
  test.use({
    natKinds: ['symmetric', 'symmetric'],
    labServerEnv: { DUET_ICE_TRANSPORT_POLICY: 'relay' },
  });

  test('the call runs relay to relay on one server, with the relay guard loaded', async ({
    lab,
    labJoin,
  }) => {
    const { alice, bob } = await callAcrossTheLab(labJoin);
    for (const person of [alice, bob]) {
      await test.step(`${person.name}: relay to relay, at the lab's relay address`, async () => {
        await expect
          .poll(() => person.page.evaluate(pathState), { message: `${person.name}'s path` })
          .toMatchObject({ path: 'relay', localCandidateType: 'relay', remoteCandidateType: 'relay' });
        const report = await ice(person);
        expect(report.iceTransportPolicy).toBe('relay');
        const selected = report.pairs.filter((pair) => pair.selected);
        expect(selected.map((pair) => `${pair.local}->${pair.remote}@${pair.remoteAddress}`)).toEqual([
          `relay->relay@${LAB_SERVER_IP}`,
        ]);
      });
    }
    await test.step('the guard is loaded and relay-to-relay passed it', async () => {
      expect(await lab.relayGuardRules()).toContain('fib daddr type local');
    });
    await printSelectedPairs('symmetric, policy relay', [alice, bob]);
  });
});

test.describe('both peers behind cone NATs', () => {
  test.use({ natKinds: ['cone', 'cone'] });

  test('the call connects directly through the NAT mappings, not through TURN', async ({ lab, labJoin }) => {
    await expectNat(lab);
    const { alice, bob } = await callAcrossTheLab(labJoin);

    for (const person of [alice, bob]) {
      await test.step(`${person.name}: the selected path is direct, to the peer's NAT mapping`, async () => {
        await expect
          .poll(() => person.page.evaluate(pathState), { message: `${person.name}'s path` })
          .toMatchObject({ path: 'direct' });
        const state = await person.page.evaluate(pathState);
        expect(state.localCandidateType).not.toBe('relay');
        // The peer's host address is private behind its NAT: only its mapping (srflx, or the same
        // address learned from a check as prflx) is reachable.
        expect(['srflx', 'prflx']).toContain(state.remoteCandidateType);
        const report = await ice(person);
        expect(report.iceTransportPolicy).toBe('all');
        // TURN was on offer: direct won on merit, not for want of a relay.
        expect(report.local.map((c) => c.type)).toContain('relay');
      });
    }

    await printSelectedPairs('cone', [alice, bob]);
    await test.step('the statistics panel says "Direct"', async () => {
      await bob.button('Statistics').click({ timeout: UI_TIMEOUT_MS });
      await expect(bob.page.getByTestId('stats-path')).toHaveText('Direct', { timeout: UI_TIMEOUT_MS });
    });
  });
});

test.describe('Alice behind a symmetric NAT, Bob behind a cone NAT', () => {
  test.use({ natKinds: ['symmetric', 'cone'] });

  test("one side uses the relay, and it reaches the other side's public address", async ({
    lab,
    labJoin,
  }) => {
    await expectNat(lab);
    const { alice, bob, early } = await callAcrossTheLab(labJoin);
    for (const person of [alice, bob]) {
      await test.step(`${person.name}: no direct pair succeeded (symmetric against port-restricted)`, async () => {
        const report = early.get(person)!;
        expect(report.iceTransportPolicy, 'the app did not force relay').toBe('all');
        expect(report.pairs.filter(isDirect).filter((pair) => pair.state === 'succeeded')).toEqual([]);
      });
    }
    await expectOneRelay(lab, alice, bob);
    await printSelectedPairs('symmetric+cone', [alice, bob]);
    await test.step('both statistics panels say "Relayed (TURN)"', async () => {
      for (const person of [alice, bob]) {
        await person.button('Statistics').click({ timeout: UI_TIMEOUT_MS });
        await expect(person.page.getByTestId('stats-path')).toHaveText('Relayed (TURN)', {
          timeout: UI_TIMEOUT_MS,
        });
      }
    });
  });
});
