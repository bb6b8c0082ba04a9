import { isIPv4 } from 'node:net';
import { isLoopbackIp } from './coturn-config.js';

/**
 * Settings for labs and tests only, for the turnserver Duet supervises (`--turn-server local`). They
 * are environment variables, not options in the configuration table, on purpose: no production host
 * should set them, each is narrow (a loopback relay; ranges inside the benchmarking block), and each
 * is logged as a warning at every start.
 *
 * - `DUET_TURN_LAB_UNGUARDED_RELAY=<relay ip>`: start without the relay guard (relay-guard.ts) although
 *   the relay address is then reachable on every UDP port. Accepted only for a loopback relay address
 *   and only when it names that address: a test on one machine (e2e/turn.spec.ts) that cannot load
 *   nftables rules into the host it runs on.
 * - `DUET_TURN_LAB_PEERS=<range>[,<range>…]`: extra `allowed-peer-ip` ranges, only inside
 *   198.18.0.0/15 — the NAT lab's stand-in internet, which the production deny list refuses.
 */
export interface TurnLabSettings {
  unguardedRelayIp: string | undefined;
  extraPeers: string[];
}

const LAB_BLOCK = { first: ipv4Number('198.18.0.0'), last: ipv4Number('198.19.255.255') };

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

const insideLabBlock = (ip: string): boolean =>
  isIPv4(ip) && ipv4Number(ip) >= LAB_BLOCK.first && ipv4Number(ip) <= LAB_BLOCK.last;

/** Read and check the lab settings; throws on a setting that is not a lab's. */
export function readTurnLabSettings(env: NodeJS.ProcessEnv, relayIp: string | undefined): TurnLabSettings {
  const unguarded = env.DUET_TURN_LAB_UNGUARDED_RELAY?.trim() || undefined;
  if (unguarded !== undefined && (unguarded !== relayIp || !isLoopbackIp(unguarded))) {
    throw new Error(
      `DUET_TURN_LAB_UNGUARDED_RELAY=${unguarded}: only for a loopback relay address, and it must name it (the relay address is ${relayIp ?? 'unset'})`,
    );
  }
  const extraPeers = (env.DUET_TURN_LAB_PEERS ?? '')
    .split(',')
    .map((range) => range.trim())
    .filter((range) => range.length > 0);
  for (const range of extraPeers) {
    if (!range.split('-').every((bound) => insideLabBlock(bound.trim()))) {
      throw new Error(`DUET_TURN_LAB_PEERS: ${range} is not inside the lab block 198.18.0.0-198.19.255.255`);
    }
  }
  return { unguardedRelayIp: unguarded, extraPeers };
}
