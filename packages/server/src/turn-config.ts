#!/usr/bin/env node
/**
 * duet-turn-config: print (or write) a hardened coturn configuration for a Duet deployment and the
 * Duet settings that go with it; write the nftables relay guard that belongs beside it; check that
 * the guard holds.
 *
 *   duet-turn-config --realm turn.example.org --relay-ip 192.0.2.7 --out /etc/turnserver.conf \
 *     --guard-out /etc/nftables.d/duet-turn-guard.nft
 *   nft -f /etc/nftables.d/duet-turn-guard.nft
 *   sudo -u turnserver duet-turn-config --check-guard --relay-ip 192.0.2.7
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { renderCoturnConfig } from './turn/coturn-config.js';
import { probeRelayGuard } from './turn/guard-probe.js';
import { renderRelayGuard } from './turn/relay-guard.js';

const program = new Command('duet-turn-config')
  .description(
    'Write a hardened turnserver.conf (coturn) for Duet: TURN REST API auth, no relay into private space',
  )
  .option('--realm <domain>', 'the TURN realm, usually the TURN host name (needed for a configuration)')
  .requiredOption(
    '--relay-ip <ip...>',
    'address(es) relayed traffic leaves from (the public address on a plain host)',
  )
  .option('--external-ip <ip>', 'public[/private] address when the host is behind 1:1 NAT (cloud VMs)')
  .option('--listening-ip <ip...>', 'addresses to listen on (default: all)')
  .addOption(new Option('--port <n>', 'TURN port (UDP and TCP)').default('3478'))
  .option('--tls-port <n>', 'TURN over TLS port (turns:), needs --cert and --key')
  .option('--cert <path>', 'PEM certificate chain for TURN over TLS')
  .option('--key <path>', 'PEM private key for TURN over TLS')
  .addOption(new Option('--min-port <n>', 'lowest relay port').default('49152'))
  .addOption(new Option('--max-port <n>', 'highest relay port').default('65535'))
  .option('--secret <secret>', 'shared secret (default: a new random one, printed once)')
  .addOption(new Option('--user-quota <n>', 'allocations per user').default('12'))
  .addOption(new Option('--total-quota <n>', 'allocations in total').default('1200'))
  .option('--max-bps <n>', 'bytes per second per allocation')
  .option(
    '--allow-peer <range...>',
    'also relay to these addresses or first-last ranges (a LAN; default none)',
  )
  .option('--out <file>', 'write the configuration here (mode 600) instead of standard output')
  .option('--guard-out <file>', 'write the nftables relay guard here (load it as root with nft -f <file>)')
  .addOption(
    new Option(
      '--guard-user <user>',
      'the user turnserver runs as, whose relayed datagrams the guard matches',
    ).default('turnserver'),
  )
  .option(
    '--check-guard',
    'check that the guard holds for the current user on each --relay-ip, then exit (0: it holds, 1: not)',
  );

program.parse();

const port = z.coerce.number().int().min(1).max(65535);
const FlagsSchema = z.object({
  realm: z.string().optional(),
  relayIp: z.array(z.string()).min(1),
  externalIp: z.string().optional(),
  listeningIp: z.array(z.string()).optional(),
  port,
  tlsPort: port.optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  minPort: port,
  maxPort: port,
  secret: z.string().optional(),
  userQuota: z.coerce.number().int().min(1),
  totalQuota: z.coerce.number().int().min(1),
  maxBps: z.coerce.number().int().min(0).optional(),
  allowPeer: z.array(z.string()).optional(),
  out: z.string().optional(),
  guardOut: z.string().optional(),
  guardUser: z.string(),
  checkGuard: z.boolean().optional(),
});

type Flags = z.infer<typeof FlagsSchema>;

/** Probe each relay address as this user; print what was seen; exit 0 only when all hold. */
async function checkGuard(flags: Flags): Promise<never> {
  let allHold = true;
  for (const relayIp of flags.relayIp) {
    const result = await probeRelayGuard(relayIp, flags.minPort, flags.maxPort);
    allHold &&= result.holds;
    process.stdout.write(`${result.holds ? 'guarded' : 'NOT GUARDED'}: ${result.detail}\n`);
  }
  process.exit(allHold ? 0 : 1);
}

/** The configuration (stdout or --out) and the Duet settings that go with it (stderr). */
function writeConfig(flags: Flags & { realm: string }): void {
  const secret = flags.secret ?? randomBytes(32).toString('base64url');
  const config = renderCoturnConfig({
    realm: flags.realm,
    secret,
    relayIps: flags.relayIp,
    allowedPeers: flags.allowPeer,
    listeningIps: flags.listeningIp,
    externalIp: flags.externalIp,
    listeningPort: flags.port,
    tlsPort: flags.tlsPort,
    certPath: flags.cert,
    keyPath: flags.key,
    minPort: flags.minPort,
    maxPort: flags.maxPort,
    userQuota: flags.userQuota,
    totalQuota: flags.totalQuota,
    maxBps: flags.maxBps,
  });
  if (flags.out) {
    writeFileSync(flags.out, config, { mode: 0o600 });
  } else {
    process.stdout.write(config);
  }

  const host = flags.externalIp?.split('/')[0] ?? flags.relayIp[0] ?? '';
  const address = `${host.includes(':') ? `[${host}]` : host}:${flags.port}`;
  const urls = [`turn:${address}?transport=udp`, `turn:${address}?transport=tcp`];
  if (flags.tlsPort) {
    urls.push(`turns:${flags.realm}:${flags.tlsPort}?transport=tcp`);
  }
  process.stderr.write(
    [
      '',
      'Give Duet the same secret and these URLs:',
      `  DUET_TURN_URLS=${urls.join(',')}`,
      `  DUET_STUN_URLS=stun:${address}`,
      flags.secret ? '  DUET_TURN_SECRET=<the secret you gave>' : `  DUET_TURN_SECRET=${secret}`,
      '',
    ].join('\n'),
  );
}

/** The relay guard, for the relay ports and the public side of a 1:1 NAT. */
function writeGuard(flags: Flags, file: string): void {
  const publicIp = flags.externalIp?.split('/')[0];
  const guard = renderRelayGuard({
    user: flags.guardUser,
    minPort: flags.minPort,
    maxPort: flags.maxPort,
    externalIps: publicIp ? [publicIp] : [],
  });
  writeFileSync(file, guard, { mode: 0o644 });
  process.stderr.write(`Relay guard written to ${file}: load it as root with \`nft -f ${file}\`.\n`);
}

try {
  const flags = FlagsSchema.parse(program.opts());
  if (flags.minPort > flags.maxPort) {
    throw new Error('--min-port must not exceed --max-port');
  }
  if (flags.checkGuard) {
    await checkGuard(flags);
  }
  const { realm } = flags;
  if (realm === undefined && !flags.guardOut) {
    throw new Error('nothing to do: --realm for a configuration, --guard-out for the relay guard');
  }
  if (realm !== undefined) {
    writeConfig({ ...flags, realm });
  }
  if (flags.guardOut) {
    writeGuard(flags, flags.guardOut);
  }
} catch (error) {
  const message =
    error instanceof z.ZodError
      ? z.prettifyError(error)
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`duet-turn-config: ${message}\n`);
  process.exit(2);
}
