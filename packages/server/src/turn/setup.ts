import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { probeRelayGuard, type GuardProbeResult } from './guard-probe.js';
import type { IceServerSettings } from './ice-servers.js';
import { readTurnLabSettings } from './lab-settings.js';
import { TurnSupervisor, type GuardCheck } from './supervisor.js';

export interface TurnSetup {
  settings: IceServerSettings;
  supervisor: TurnSupervisor | undefined;
}

const hostPart = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

/**
 * Where clients reach the local turnserver: its public address behind 1:1 NAT, else the relay
 * address when coturn listens there (all addresses, or that one), else the first address it listens on.
 */
export function reachableTurnAddress(
  config: Pick<ServerConfig, 'turnExternalIp' | 'turnListenIps'>,
  relayIp: string,
): string {
  const external = config.turnExternalIp?.split('/')[0];
  if (external) {
    return external;
  }
  const listening = config.turnListenIps;
  if (listening.length === 0 || listening.includes(relayIp)) {
    return relayIp;
  }
  return listening[0] ?? relayIp;
}

/**
 * The supervised turnserver runs as this process's user, so the probe, run here, sends exactly as
 * turnserver would relay. A failed probe names the commands that fix it.
 */
function guardCheck(relayIp: string, minPort: number, maxPort: number): GuardCheck {
  return {
    probe: () => probeRelayGuard(relayIp, minPort, maxPort),
    explain: (result: GuardProbeResult) =>
      [
        `turnserver not started: the relay guard is not in place (${result.detail}).`,
        `Without it, anyone holding TURN credentials could reach every UDP port of ${relayIp} through the relay.`,
        'Generate and load it as root (docs/deploy.md, "The relay guard"):',
        `  node packages/server/dist/turn-config.js --relay-ip ${relayIp} --min-port ${minPort} --max-port ${maxPort} \\`,
        `    --guard-user ${process.getuid?.() ?? '<uid of this process>'} --guard-out /etc/nftables.d/duet-turn-guard.nft`,
        '  nft -f /etc/nftables.d/duet-turn-guard.nft',
      ].join('\n'),
  };
}

/**
 * Decide what ICE servers clients get and, in `local` mode, start the supervised turnserver. A local
 * turnserver without a configured secret gets a random one: only this process and coturn know it.
 */
export async function setUpTurn(config: ServerConfig, logger: Logger): Promise<TurnSetup> {
  const local = config.turnServer === 'local';
  let secret = config.turnSecret;
  if (!secret && config.turnSecretFile) {
    secret = (await readFile(config.turnSecretFile, 'utf8')).trim();
  }
  if (!secret && local) {
    secret = randomBytes(32).toString('base64url');
  }

  let { turnUrls, stunUrls } = config;
  if (local && config.turnRelayIp) {
    const address = `${hostPart(reachableTurnAddress(config, config.turnRelayIp))}:${config.turnPort}`;
    if (turnUrls.length === 0) {
      turnUrls = [`turn:${address}?transport=udp`, `turn:${address}?transport=tcp`];
    }
    if (stunUrls.length === 0) {
      stunUrls = [`stun:${address}`];
    }
  }

  let supervisor: TurnSupervisor | undefined;
  if (local && secret && config.turnRelayIp) {
    const turnLogger = logger.child({ part: 'turn' });
    const lab = readTurnLabSettings(process.env, config.turnRelayIp);
    if (lab.unguardedRelayIp) {
      turnLogger.warn(
        { relayIp: lab.unguardedRelayIp },
        'LAB SETTING DUET_TURN_LAB_UNGUARDED_RELAY: no relay guard; every UDP port of the relay address is reachable through the relay. Never on a real host.',
      );
    }
    if (lab.extraPeers.length > 0) {
      turnLogger.warn(
        { peers: lab.extraPeers },
        'LAB SETTING DUET_TURN_LAB_PEERS: the relay may reach these lab ranges',
      );
    }
    supervisor = new TurnSupervisor(
      {
        realm: config.turnRealm,
        secret,
        listeningIps: config.turnListenIps,
        relayIps: [config.turnRelayIp],
        allowedPeers: lab.extraPeers,
        externalIp: config.turnExternalIp,
        listeningPort: config.turnPort,
        minPort: config.turnMinPort,
        maxPort: config.turnMaxPort,
      },
      turnLogger,
      lab.unguardedRelayIp ? null : guardCheck(config.turnRelayIp, config.turnMinPort, config.turnMaxPort),
    );
    await supervisor.start();
  }
  if (turnUrls.length > 0) {
    logger.info(
      { turnUrls, ttlSeconds: config.turnTtlSeconds },
      'TURN enabled: clients get short-lived credentials',
    );
  }
  return {
    settings: {
      staticServers: config.iceServers,
      stunUrls,
      turnUrls,
      turnSecret: secret,
      turnTtlSeconds: config.turnTtlSeconds,
    },
    supervisor,
  };
}
