/**
 * Bad networks for the NAT lab (netns.ts), made with what this kernel has. It has no `netem` qdisc
 * ("Specified qdisc kind is unknown"), so:
 *
 * - **bandwidth**: a `tbf` qdisc on both of a site router's interfaces, so the limit holds in both
 *   directions (egress of `wan` is the site's upload, egress of `lan` its download), with a queue
 *   bounded in time as a home router's is;
 * - **loss**: an nftables chain in the router's forward hook that drops UDP at random
 *   (`numgen random mod 100 < N`), both directions, before the router's own firewall;
 * - **delay**: the kernel has nothing that adds a fixed delay (tbf only queues when the link is full),
 *   and libwebrtc's degraded-call field trials (`--force-fieldtrials=WebRTC-FakeNetworkSendConfig/
 *   queue_delay_ms:75/…`) do not act in Debian's Chromium 156: measured, the RTCP round trip stays at
 *   2-4 ms with them as without. So the lab delays the site's TURN traffic in user space instead
 *   (`NatLab.delayTurn`, udp-delay-relay.ts) and the call is made to run through TURN. The test checks
 *   that the delay acts: the media's RTCP round trip rises by it.
 *
 * A **network change** moves the client to another address in its namespace: the old address is
 * removed (its sockets die, as on a phone leaving Wi-Fi) and a new one added, with the default route.
 */
import { runCommand } from '../scripts/netns-commands.js';
import type { LabSite } from './netns.js';

const COMMAND_TIMEOUT_MS = 5_000;
const IMPAIR_TABLE = 'duet_impair';

const inNetns = (netns: string, command: string, args: string[], input?: string): Promise<string> =>
  runCommand('ip', ['netns', 'exec', netns, command, ...args], COMMAND_TIMEOUT_MS, input);

export interface LinkConditions {
  /** Bandwidth in each direction; none: as fast as the veth pair. */
  rateKbit?: number;
  /** Random loss of UDP packets in each direction, in percent (0-100). */
  lossPercent?: number;
}

/** Put `conditions` on the site's router, replacing whatever it had. */
export async function impairSite(site: LabSite, conditions: LinkConditions): Promise<void> {
  await clearSite(site);
  if (conditions.rateKbit !== undefined) {
    for (const dev of ['wan', 'lan']) {
      // burst: a few full-size packets (tbf needs at least rate/HZ); latency: how long a packet may
      // wait in the queue before it is dropped, as in a router with a modest buffer.
      await inNetns(site.routerNetns, 'tc', [
        'qdisc', 'replace', 'dev', dev, 'root', 'tbf',
        'rate', `${conditions.rateKbit}kbit`, 'burst', '6kb', 'latency', '250ms',
      ]); // prettier-ignore
    }
  }
  if (conditions.lossPercent !== undefined && conditions.lossPercent > 0) {
    const percent = Math.min(100, Math.max(0, Math.round(conditions.lossPercent)));
    await inNetns(
      site.routerNetns,
      'nft',
      ['-f', '-'],
      `table inet ${IMPAIR_TABLE} {
  chain forward {
    type filter hook forward priority -10; policy accept;
    meta l4proto udp numgen random mod 100 < ${percent} drop
  }
}
`,
    );
  }
}

/** Take every condition off the site's router. */
export async function clearSite(site: LabSite): Promise<void> {
  for (const dev of ['wan', 'lan']) {
    // "No such file" when there is none: nothing to remove.
    await inNetns(site.routerNetns, 'tc', ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
  }
  await inNetns(site.routerNetns, 'nft', ['delete', 'table', 'inet', IMPAIR_TABLE]).catch(() => undefined);
}

/**
 * Move the site's client to another address on its LAN (198.19.x.2 → 198.19.x.3 and back): the old
 * address goes, and with it every socket bound to it. Returns the new address.
 */
export async function moveClient(site: LabSite, current: string): Promise<string> {
  const lan = current.split('.').slice(0, 3).join('.');
  const next = current.endsWith('.2') ? `${lan}.3` : `${lan}.2`;
  await inNetns(site.clientNetns, 'ip', ['addr', 'del', `${current}/24`, 'dev', 'eth0']);
  await inNetns(site.clientNetns, 'ip', ['addr', 'add', `${next}/24`, 'dev', 'eth0']);
  await inNetns(site.clientNetns, 'ip', ['route', 'replace', 'default', 'via', `${lan}.1`]);
  return next;
}
