/**
 * A NAT lab out of Linux network namespaces, for the browser tests that must cross NATs
 * (nat-lab.spec.ts). Needs root, `ip` (iproute2) and `nft` (nftables). Nothing here touches the host's
 * own interfaces or addresses: every address lives inside namespaces the lab creates, in the
 * 198.18.0.0/15 benchmarking range, and the lab deletes them again.
 *
 *   duet-lab-<pid>-<rand>-inet     "the internet": bridge br0 198.18.0.1/24
 *     │  the Duet server (node packages/server/dist/main.js --host 198.18.0.1) and the turnserver
 *     │  it supervises (STUN/TURN on 198.18.0.1:3478, relay ports on 198.18.0.1), behind the relay
 *     │  guard that `duet-turn-config --guard-out` generates, loaded into this namespace
 *     ├── veth ── duet-lab-…-nat-a   wan 198.18.0.11/24 │ lan 198.19.1.1/24, nftables NAT + firewall
 *     │             └── veth ── duet-lab-…-client-a   eth0 198.19.1.2/24, default via 198.19.1.1 (Chromium)
 *     └── veth ── duet-lab-…-nat-b   wan 198.18.0.12/24 │ lan 198.19.2.1/24
 *                   └── veth ── duet-lab-…-client-b   eth0 198.19.2.2/24, default via 198.19.2.1 (Chromium)
 *
 * Each router forwards LAN → WAN, masquerades on the WAN and drops everything unsolicited from the WAN
 * (only `ct state established,related` comes back in): port-restricted filtering. Its mapping is
 * - `cone`:      `masquerade persistent` — one external port per internal socket, whatever the
 *                destination (endpoint-independent mapping), so STUN's answer is the port peers can use;
 * - `symmetric`: `masquerade fully-random` — a new random external port per destination
 *                (endpoint-dependent mapping), so the address STUN reports is useless to the peer.
 * (On this kernel plain `masquerade` already picks a new port per destination; `persistent` is what keeps
 * it. `probeNat` measures the behaviour instead of trusting the rule, and the tests assert it.)
 *
 * Namespace names carry the creating process id: a lab left behind by a killed test run is removed
 * (its processes killed) by the next `createNatLab`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from '@playwright/test';
import {
  commandWorks,
  destroyNamespace,
  runCommand,
  sweepStaleNamespaces,
} from '../scripts/netns-commands.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browsers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER_MAIN = fileURLToPath(new URL('../packages/server/dist/main.js', import.meta.url));
const WEB_INDEX = fileURLToPath(new URL('../packages/web/dist/index.html', import.meta.url));
/** `exec ip netns exec "$DUET_LAB_NETNS" chromium "$@"`: Playwright drives it over a pipe, across namespaces. */
export const LAB_BROWSER = fileURLToPath(new URL('./lab-browser.sh', import.meta.url));
const TURNSERVER = '/usr/bin/turnserver';

const COMMAND_TIMEOUT_MS = 5_000;
const SERVER_START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const BROWSER_CLOSE_TIMEOUT_MS = 10_000;
const NAMESPACE_PREFIX = 'duet-lab-';

export type NatKind = 'cone' | 'symmetric';

/** The "internet" side: the server's address and its ports (fixed: the namespace is ours alone). */
export const LAB_SERVER_IP = '198.18.0.1';
export const LAB_HTTP_PORT = 3000;
export const LAB_TURN_PORT = 3478;
export const LAB_RELAY_PORTS = { min: 49152, max: 49251 } as const;
/**
 * The lab's stand-in for the public internet: the routers' WAN addresses. Production denies the whole
 * benchmarking block 198.18.0.0/15 as a peer (it is not the internet), so the lab allows this part of
 * it with the lab setting DUET_TURN_LAB_PEERS; the server's own address (.1) is not in it.
 */
export const LAB_INTERNET_PEERS = '198.18.0.2-198.18.0.255';
const TURN_CONFIG_CLI = fileURLToPath(new URL('../packages/server/dist/turn-config.js', import.meta.url));

export interface LabSite {
  /** 'a' or 'b'. */
  readonly id: string;
  readonly nat: NatKind;
  /** The client's namespace (the browser runs here) and its router's. */
  readonly clientNetns: string;
  readonly routerNetns: string;
  /** The client's private address, and its router's public (WAN) address that the internet sees. */
  readonly lanIp: string;
  readonly wanIp: string;
}

export interface NatProbe {
  /** The client's own UDP port and the external ports two destinations on the internet saw. */
  localPort: number;
  mappedPorts: [number, number];
  /** Both destinations saw the same external port (endpoint-independent mapping). */
  endpointIndependent: boolean;
  /** A reply from the contacted address and port came back in. */
  replyDelivered: boolean;
  /** A datagram to the same mapping from a port the client never contacted came in (must not). */
  unsolicitedDelivered: boolean;
}

export interface LabServer {
  /** `http://198.18.0.1:3000` */
  readonly origin: string;
  log(): string;
  unexpectedExit(): string | null;
  stop(): Promise<void>;
}

export interface NatLab {
  readonly id: string;
  readonly internetNetns: string;
  readonly sites: readonly [LabSite, LabSite];
  /** Measure the NAT of `site`: which external ports two destinations see, and what gets back in. */
  probeNat(site: LabSite): Promise<NatProbe>;
  /** The built Duet server in the internet namespace, with `env` on top of the lab's TURN settings. */
  startServer(env?: Record<string, string>): Promise<LabServer>;
  /** Chromium (the suite's flags) in the site's client namespace, with `origin` treated as secure. */
  launchChromium(site: LabSite, origin: string): Promise<Browser>;
  /**
   * Delay the site's traffic to and from the TURN server by `oneWayMs` each way (udp-delay-relay.ts
   * behind an nftables redirect in the internet namespace). Before the site's first TURN packet:
   * flows that already exist keep their path.
   */
  delayTurn(site: LabSite, oneWayMs: number): Promise<void>;
  /** The relay guard as loaded in the internet namespace (`nft list table`), once a server started. */
  relayGuardRules(): Promise<string>;
  /** Close the browsers, stop the server, kill whatever still runs in the namespaces, delete them. */
  dispose(): Promise<void>;
}

/** Why this machine cannot run the lab (the tests skip with this reason), or null when it can. */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') {
    return 'the NAT lab needs Linux network namespaces';
  }
  if (process.getuid?.() !== 0) {
    return 'the NAT lab needs root (ip netns, nftables)';
  }
  if (!commandWorks('ip', ['netns', 'list'], COMMAND_TIMEOUT_MS)) {
    return '`ip netns` is unavailable (install iproute2)';
  }
  if (!commandWorks('nft', ['--version'], COMMAND_TIMEOUT_MS)) {
    return '`nft` is missing (apt-get install -y nftables)';
  }
  if (!existsSync(TURNSERVER)) {
    return `${TURNSERVER} is missing (apt-get install -y coturn)`;
  }
  if (!existsSync(CHROMIUM_PATH)) {
    return `${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;
  }
  try {
    accessSync(LAB_BROWSER, constants.X_OK);
  } catch {
    return `${LAB_BROWSER} is not executable (chmod +x it)`;
  }
  // Root in a container without CAP_SYS_ADMIN / CAP_NET_ADMIN cannot make namespaces.
  const probe = `${NAMESPACE_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-probe`;
  if (!commandWorks('ip', ['netns', 'add', probe], COMMAND_TIMEOUT_MS)) {
    return 'cannot create network namespaces here';
  }
  commandWorks('ip', ['netns', 'delete', probe], COMMAND_TIMEOUT_MS);
  return null;
}

const run = (command: string, args: string[], input?: string): Promise<string> =>
  runCommand(command, args, COMMAND_TIMEOUT_MS, input);
const ip = (...args: string[]): Promise<string> => run('ip', args);
const inNetns = (netns: string, command: string, args: string[], input?: string): Promise<string> =>
  run('ip', ['netns', 'exec', netns, command, ...args], input);

/** The router's nftables ruleset: NAT on the WAN, nothing unsolicited from the WAN gets in. */
function routerRules(nat: NatKind): string {
  const masquerade = nat === 'cone' ? 'masquerade persistent' : 'masquerade fully-random';
  return `
table ip duet_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${masquerade}
  }
}
table inet duet_firewall {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname { "lo", "lan" } accept
  }
}
`;
}

/**
 * Build the lab: the internet namespace and, for each NAT kind given, a router and a client behind it.
 * On any failure the partial lab is removed before the error is thrown.
 */
export async function createNatLab(nat: readonly [NatKind, NatKind]): Promise<NatLab> {
  // Labs whose creating process is gone (a test run killed before its teardown).
  sweepStaleNamespaces(NAMESPACE_PREFIX, COMMAND_TIMEOUT_MS);
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const prefix = `${NAMESPACE_PREFIX}${id}`;
  const created: string[] = [];
  const processes = new Set<ChildProcess>();
  const browsers = new Set<Browser>();
  let disposed = false;

  // A worker that exits without running the fixture teardown still removes its namespaces.
  const onExit = (): void => {
    for (const child of processes) {
      child.kill('SIGKILL');
    }
    for (const netns of [...created].reverse()) {
      destroyNamespace(netns, COMMAND_TIMEOUT_MS);
    }
  };
  process.once('exit', onExit);

  const addNetns = async (name: string): Promise<string> => {
    const netns = `${prefix}-${name}`;
    await ip('netns', 'add', netns);
    created.push(netns);
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    // IPv4 only: no IPv6 link-local candidates or router solicitations in the way.
    await inNetns(netns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    await inNetns(netns, 'sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    return netns;
  };

  const dispose = async (): Promise<void> => {
    if (disposed) {
      return;
    }
    disposed = true;
    for (const browser of browsers) {
      await withTimeout(browser.close(), BROWSER_CLOSE_TIMEOUT_MS);
    }
    for (const child of processes) {
      await stopChild(child);
    }
    for (const netns of [...created].reverse()) {
      destroyNamespace(netns, COMMAND_TIMEOUT_MS);
    }
    process.removeListener('exit', onExit);
  };

  try {
    const internetNetns = await addNetns('inet');
    await ip('-n', internetNetns, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', internetNetns, 'addr', 'add', `${LAB_SERVER_IP}/24`, 'dev', 'br0');
    await ip('-n', internetNetns, 'link', 'set', 'br0', 'up');

    const sites: LabSite[] = [];
    for (const [index, kind] of nat.entries()) {
      const site: LabSite = {
        id: index === 0 ? 'a' : 'b',
        nat: kind,
        routerNetns: await addNetns(`nat-${index === 0 ? 'a' : 'b'}`),
        clientNetns: await addNetns(`client-${index === 0 ? 'a' : 'b'}`),
        wanIp: `198.18.0.${11 + index}`,
        lanIp: `198.19.${1 + index}.2`,
      };
      const lanNet = `198.19.${1 + index}`;
      // WAN: router "wan" <-> "wan-<id>" on the internet's bridge.
      await ip('-n', site.routerNetns, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `wan-${site.id}`, 'netns', internetNetns); // prettier-ignore
      await ip('-n', internetNetns, 'link', 'set', `wan-${site.id}`, 'master', 'br0', 'up');
      await ip('-n', site.routerNetns, 'addr', 'add', `${site.wanIp}/24`, 'dev', 'wan');
      await ip('-n', site.routerNetns, 'link', 'set', 'wan', 'up');
      await ip('-n', site.routerNetns, 'route', 'add', 'default', 'via', LAB_SERVER_IP);
      // LAN: router "lan" <-> client "eth0".
      await ip('-n', site.routerNetns, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', site.clientNetns); // prettier-ignore
      await ip('-n', site.routerNetns, 'addr', 'add', `${lanNet}.1/24`, 'dev', 'lan');
      await ip('-n', site.routerNetns, 'link', 'set', 'lan', 'up');
      await ip('-n', site.clientNetns, 'addr', 'add', `${site.lanIp}/24`, 'dev', 'eth0');
      await ip('-n', site.clientNetns, 'link', 'set', 'eth0', 'up');
      await ip('-n', site.clientNetns, 'route', 'add', 'default', 'via', `${lanNet}.1`);
      await inNetns(site.routerNetns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      await inNetns(site.routerNetns, 'nft', ['-f', '-'], routerRules(kind));
      sites.push(site);
    }

    const lab: NatLab = {
      id,
      internetNetns,
      sites: [sites[0]!, sites[1]!],
      probeNat: (site) => probeNat(internetNetns, site),
      startServer: (env = {}) => startLabServer(internetNetns, env, processes),
      delayTurn: (site, oneWayMs) => startDelayRelay(internetNetns, site, oneWayMs, processes),
      relayGuardRules: () => inNetns(internetNetns, 'nft', ['list', 'table', 'inet', 'duet_turn_guard']),
      launchChromium: async (site, origin) => {
        const browser = await chromium.launch({
          executablePath: LAB_BROWSER,
          args: [
            // A client with a real interface, like a user's: no loopback candidates.
            ...CHROMIUM_ARGS.filter((arg) => arg !== '--allow-loopback-in-peer-connection'),
            // The app is plain HTTP on a non-localhost address: allow the camera there anyway.
            `--unsafely-treat-insecure-origin-as-secure=${origin}`,
          ],
          env: { ...process.env, DUET_LAB_NETNS: site.clientNetns, DUET_LAB_CHROMIUM: CHROMIUM_PATH },
          timeout: 30_000,
        });
        browsers.add(browser);
        return browser;
      },
      dispose,
    };
    return lab;
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** SIGTERM, then SIGKILL when it has not exited within a bound. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const state = { exited: false };
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      state.exited = true;
      resolve();
    }),
  );
  child.kill('SIGTERM');
  await withTimeout(exited, STOP_TIMEOUT_MS);
  if (!state.exited) {
    child.kill('SIGKILL');
    await withTimeout(exited, STOP_TIMEOUT_MS);
  }
}

/**
 * `node packages/server/dist/main.js --host 198.18.0.1 --port 3000` in the internet namespace, with a
 * supervised turnserver relaying on 198.18.0.1 (STUN on the same port): `ip netns exec` execs node,
 * so the child's pid is the server's.
 */
async function startLabServer(
  netns: string,
  env: Record<string, string>,
  processes: Set<ChildProcess>,
): Promise<LabServer> {
  for (const file of [SERVER_MAIN, WEB_INDEX, TURN_CONFIG_CLI]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run \`npm run build\` before the e2e tests`);
    }
  }
  await loadRelayGuard(netns);
  const origin = `http://${LAB_SERVER_IP}:${LAB_HTTP_PORT}`;
  const args = ['netns', 'exec', netns, process.execPath, SERVER_MAIN];
  args.push('--host', LAB_SERVER_IP, '--port', String(LAB_HTTP_PORT));
  const child = spawn('ip', args, {
    cwd: ROOT,
    env: {
      ...process.env,
      // Debug: the turnserver's own lines are logged at debug level (attached when a test fails).
      DUET_LOG_LEVEL: 'debug',
      DUET_SHUTDOWN_TIMEOUT_MS: '2000',
      DUET_TURN_SERVER: 'local',
      DUET_TURN_LISTEN_IPS: LAB_SERVER_IP,
      DUET_TURN_RELAY_IP: LAB_SERVER_IP,
      DUET_TURN_PORT: String(LAB_TURN_PORT),
      DUET_TURN_MIN_PORT: String(LAB_RELAY_PORTS.min),
      DUET_TURN_MAX_PORT: String(LAB_RELAY_PORTS.max),
      DUET_TURN_LAB_PEERS: LAB_INTERNET_PEERS,
      // The lab's pages join rooms by typed name.
      DUET_OPEN_ROOMS: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  processes.add(child);
  const lines: string[] = [];
  let stopping = false;
  let unexpectedExit: string | null = null;
  child.once('exit', (code, signal) => {
    if (stopping) {
      return;
    }
    unexpectedExit = signal ? `killed by ${signal}` : `exited with code ${code}`;
    lines.push(`[e2e] the lab server ${unexpectedExit}`);
  });
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(`[stderr] ${line}`));
  const listening = `Duet is listening on ${origin}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not report its address in time'), SERVER_START_TIMEOUT_MS);
    function fail(why: string): void {
      clearTimeout(timer);
      reject(new Error(`the lab server ${why}\n${lines.join('\n')}`));
    }
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.includes(listening)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited early (${code ?? signal})`));
  });
  return {
    origin,
    log: () => lines.join('\n'),
    unexpectedExit: () => unexpectedExit,
    stop: async () => {
      stopping = true;
      await stopChild(child);
      processes.delete(child);
    },
  };
}

/** The port the delay relay listens on, next to the TURN server's. */
const DELAY_RELAY_PORT = LAB_TURN_PORT + 1;
const DELAY_RELAY = fileURLToPath(new URL('./udp-delay-relay.ts', import.meta.url));

async function startDelayRelay(
  netns: string,
  site: LabSite,
  oneWayMs: number,
  processes: Set<ChildProcess>,
): Promise<void> {
  const child = spawn(
    'ip',
    ['netns', 'exec', netns, process.execPath, '--import', 'tsx', DELAY_RELAY,
      LAB_SERVER_IP, String(DELAY_RELAY_PORT), LAB_SERVER_IP, String(LAB_TURN_PORT), String(oneWayMs)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  ); // prettier-ignore
  processes.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'listening' && resolve());
      child.once('exit', (code) => reject(new Error(`the delay relay exited (${code}): ${stderr}`)));
    }),
    SERVER_START_TIMEOUT_MS,
    'the delay relay did not start',
  );
  await inNetns(
    netns,
    'nft',
    ['-f', '-'],
    `table ip duet_delay {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip saddr ${site.wanIp} ip daddr ${LAB_SERVER_IP} udp dport ${LAB_TURN_PORT} redirect to :${DELAY_RELAY_PORT}
  }
}
`,
  );
}

/**
 * The relay guard, as an operator makes it (`duet-turn-config --guard-out`, then `nft -f`), loaded
 * into the internet namespace for root — whom the supervised turnserver runs as here; the namespace
 * is the lab's own. Without it the server refuses to start turnserver.
 */
async function loadRelayGuard(netns: string): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'duet-lab-guard-'));
  try {
    const file = join(folder, 'duet-turn-guard.nft');
    await run(process.execPath, [
      TURN_CONFIG_CLI,
      ...['--relay-ip', LAB_SERVER_IP, '--guard-user', '0', '--guard-out', file],
      ...['--min-port', String(LAB_RELAY_PORTS.min), '--max-port', String(LAB_RELAY_PORTS.max)],
    ]);
    await inNetns(netns, 'nft', ['-f', file]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Listens on three UDP ports of the internet's server address; see probeNat. */
const PROBE_LISTENER = `
const dgram = require('node:dgram');
const [ip, p1, p2, p3] = process.argv.slice(1);
const sockets = [p1, p2, p3].map((port) => { const s = dgram.createSocket('udp4'); s.bind(Number(port), ip); return s; });
const seen = [null, null];
let bound = 0;
for (const s of sockets) s.once('listening', () => { if (++bound === 3) console.log('ready'); });
sockets.slice(0, 2).forEach((s, i) => s.on('message', (_m, from) => {
  seen[i] ??= from;
  if (seen[0] && seen[1]) {
    sockets[0].send('reply', seen[0].port, seen[0].address);
    sockets[2].send('unsolicited', seen[0].port, seen[0].address);
    console.log(JSON.stringify({ ports: [seen[0].port, seen[1].port], address: seen[0].address }));
    setTimeout(() => process.exit(0), 200);
  }
}));
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', seen })); process.exit(0); }, 3000);
`;

/** Sends one datagram to each of two destinations from one socket and reports what came back. */
const PROBE_SENDER = `
const dgram = require('node:dgram');
const [ip, p1, p2] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
const got = [];
s.on('message', (m) => got.push(m.toString()));
s.bind(0, () => {
  s.send('probe', Number(p1), ip);
  s.send('probe', Number(p2), ip);
  setTimeout(() => { console.log(JSON.stringify({ localPort: s.address().port, got })); process.exit(0); }, 700);
});
`;

/**
 * The NAT type as a STUN-like test sees it: the client sends from one UDP socket to two ports of the
 * internet's server address; the listener reports the external port each saw, answers from the first,
 * and sends from a third port the client never contacted.
 */
async function probeNat(internetNetns: string, site: LabSite): Promise<NatProbe> {
  const ports = ['40001', '40002', '40003'];
  const listener = spawn(
    'ip',
    ['netns', 'exec', internetNetns, process.execPath, '-e', PROBE_LISTENER, LAB_SERVER_IP, ...ports],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const output = createInterface({ input: listener.stdout });
    const lines = output[Symbol.asyncIterator]();
    const first = await withDeadline(lines.next(), 3000, 'the NAT probe listener did not start');
    if (first.value !== 'ready') {
      throw new Error(`NAT probe listener: ${String(first.value)}`);
    }
    const sent = await inNetns(site.clientNetns, process.execPath, [
      '-e',
      PROBE_SENDER,
      LAB_SERVER_IP,
      ports[0]!,
      ports[1]!,
    ]);
    const heard = await withDeadline(lines.next(), 3000, 'the NAT probe listener did not answer');
    const seen = JSON.parse(String(heard.value)) as { ports?: [number, number]; address?: string };
    const sender = JSON.parse(sent) as { localPort: number; got: string[] };
    if (!seen.ports) {
      throw new Error(`the NAT probe saw nothing from ${site.clientNetns}: ${String(heard.value)}`);
    }
    if (seen.address !== site.wanIp) {
      throw new Error(`the NAT probe saw ${String(seen.address)}, not the router's ${site.wanIp}`);
    }
    return {
      localPort: sender.localPort,
      mappedPorts: seen.ports,
      endpointIndependent: seen.ports[0] === seen.ports[1],
      replyDelivered: sender.got.includes('reply'),
      unsolicitedDelivered: sender.got.includes('unsolicited'),
    };
  } finally {
    if (listener.exitCode === null) {
      listener.kill('SIGKILL');
    }
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// -------------------------------------------------------------------------------------------------
// ICE inspection, for turn.spec.ts and nat-lab.spec.ts: what a page's RTCPeerConnection gathered and
// tried, beyond the app's own stats summary. The in-page functions are serialized into the page.
// -------------------------------------------------------------------------------------------------

/** Init script: keep every RTCPeerConnection the page creates (the app makes one per call). */
export function recordPeerConnections(): void {
  const Original = window.RTCPeerConnection;
  const made: RTCPeerConnection[] = [];
  (window as unknown as { __e2ePeerConnections: RTCPeerConnection[] }).__e2ePeerConnections = made;
  window.RTCPeerConnection = class extends Original {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      made.push(this);
    }
  };
}

export interface IceCandidateInfo {
  type: string;
  address: string;
  port: number;
  protocol: string;
}

export interface IceReport {
  /** The configuration of the page's latest RTCPeerConnection. */
  iceTransportPolicy: string | null;
  /** The STUN/TURN URLs it was given (no credentials). */
  iceServerUrls: string[];
  local: IceCandidateInfo[];
  remote: IceCandidateInfo[];
  /** Every candidate pair, as "<local type> -> <remote type>" with its state. */
  pairs: {
    local: string;
    remote: string;
    /** The local candidate's address. */
    localAddress: string;
    /**
     * The remote candidate's address: for a relay candidate's pair, the peer the relay sends to.
     * Empty for a remote peer-reflexive candidate: Chromium does not reveal those in stats.
     */
    remoteAddress: string;
    state: string;
    nominated: boolean;
    selected: boolean;
  }[];
}

/** What the page's latest RTCPeerConnection gathered, received and checked (needs recordPeerConnections). */
export async function iceReport(): Promise<IceReport | null> {
  const made = (window as unknown as { __e2ePeerConnections?: RTCPeerConnection[] }).__e2ePeerConnections;
  const pc = made?.[made.length - 1];
  if (!pc) {
    return null;
  }
  const stats = await pc.getStats();
  const all: Record<string, unknown>[] = [];
  stats.forEach((s: Record<string, unknown>) => all.push(s));
  const byId = new Map(all.map((s) => [s.id as string, s]));
  const text = (value: unknown): string => (typeof value === 'string' ? value : '?');
  const info = (s: Record<string, unknown> | undefined): IceCandidateInfo => ({
    type: text(s?.candidateType),
    address: text(s?.address ?? s?.ip),
    port: typeof s?.port === 'number' ? s.port : 0,
    protocol: text(s?.protocol),
  });
  const selectedIds = new Set(
    all.filter((s) => s.type === 'transport').map((s) => s.selectedCandidatePairId as string | undefined),
  );
  return {
    iceTransportPolicy: pc.getConfiguration().iceTransportPolicy ?? null,
    iceServerUrls: (pc.getConfiguration().iceServers ?? []).flatMap((server) =>
      typeof server.urls === 'string' ? [server.urls] : server.urls,
    ),
    local: all.filter((s) => s.type === 'local-candidate').map(info),
    remote: all.filter((s) => s.type === 'remote-candidate').map(info),
    pairs: all
      .filter((s) => s.type === 'candidate-pair')
      .map((s) => ({
        local: info(byId.get(s.localCandidateId as string)).type,
        remote: info(byId.get(s.remoteCandidateId as string)).type,
        localAddress: info(byId.get(s.localCandidateId as string)).address,
        remoteAddress: info(byId.get(s.remoteCandidateId as string)).address,
        state: text(s.state),
        nominated: s.nominated === true,
        selected: selectedIds.has(s.id as string),
      })),
  };
}

/** The parts of the app's snapshot (window.__duet) these tests read beyond media.ts's DuetStats. */
export interface PathState {
  path: 'direct' | 'relay' | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  dataChannelOpen: boolean | null;
}

export function pathState(): PathState {
  const duet = window.__duet;
  const stats = duet?.snapshot.stats;
  return {
    path: stats?.path ?? null,
    localCandidateType: stats?.localCandidateType ?? null,
    remoteCandidateType: stats?.remoteCandidateType ?? null,
    dataChannelOpen: duet?.snapshot.dataChannelOpen ?? null,
  };
}
