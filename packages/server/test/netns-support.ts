/**
 * Network namespaces for the TURN tests: a turnserver and the sockets that talk to it live in a
 * namespace of the test's own, so relay addresses, nftables rules and listeners never touch the host.
 * The namespace has only `lo`, carrying 198.18.0.1 and 2001:2::1 besides its loopback addresses
 * (the IPv4 and IPv6 benchmarking ranges): no route leaves it, so a mistake cannot send a packet
 * anywhere but into the namespace itself.
 *
 * The test process stays in the host namespace; its sockets inside the namespace are small Node
 * children (`ip netns exec … node -e`) that bridge one UDP socket over stdin/stdout as JSON lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import {
  commandWorks,
  destroyNamespace,
  runCommand,
  sweepStaleNamespaces,
} from '../../../scripts/netns-commands.js';

const COMMAND_TIMEOUT_MS = 10_000;
const NAMESPACE_PREFIX = 'duet-test-';

export const NETNS_IPV4 = '198.18.0.1';
export const NETNS_IPV6 = '2001:2::1';

const run = (command: string, args: string[], input?: string): Promise<string> =>
  runCommand(command, args, COMMAND_TIMEOUT_MS, input);

/** Why namespaces cannot be used here (tests skip with this reason), or null when they can. */
export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') {
    return 'needs Linux network namespaces';
  }
  if (process.getuid?.() !== 0) {
    return 'needs root (ip netns, nftables)';
  }
  for (const [command, args] of [
    ['ip', ['netns', 'list']],
    ['nft', ['--version']],
    ['turnserver', ['--version']],
  ] as const) {
    if (!commandWorks(command, args, COMMAND_TIMEOUT_MS)) {
      return `\`${command}\` is unavailable (apt-get install -y iproute2 nftables coturn)`;
    }
  }
  return null;
}

export interface Datagram {
  address: string;
  port: number;
  data: Buffer;
}

/** One UDP socket inside a namespace, driven from the test process. */
export interface NetnsUdpSocket {
  readonly address: string;
  readonly port: number;
  send(data: Buffer, port: number, address: string): void;
  onMessage(listener: (datagram: Datagram) => void): void;
  close(): void;
}

export interface TestNetns {
  readonly name: string;
  /** A command inside the namespace, to completion. */
  exec(command: string, args: string[], input?: string): Promise<string>;
  /** A long-running process inside the namespace, killed by dispose() at the latest. */
  spawn(command: string, args: string[]): ChildProcess;
  /** A UDP socket bound to `address:port` (0: any free port) inside the namespace. */
  udp(address: string, port?: number): Promise<NetnsUdpSocket>;
  /** Kill every process started here and delete the namespace. */
  dispose(): void;
}

/** Binds one UDP socket and bridges it over stdin/stdout, one JSON object per line. */
const UDP_BRIDGE = `
const dgram = require('node:dgram');
const [ip, port] = process.argv.slice(1);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const s = ip.includes(':') ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
s.on('error', (e) => { out({ error: e.message }); process.exit(1); });
s.on('message', (m, r) => out({ from: [r.address, r.port], data: m.toString('base64') }));
s.bind(Number(port), ip, () => { const a = s.address(); out({ ready: [a.address, a.port] }); });
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const m = JSON.parse(l);
  s.send(Buffer.from(m.data, 'base64'), m.to[1], m.to[0]);
});
process.stdin.on('end', () => process.exit(0));
`;

interface BridgeLine {
  ready?: [string, number];
  from?: [string, number];
  data?: string;
  error?: string;
}

/** A fresh namespace with lo up, carrying 198.18.0.1 and 2001:2::1 too. */
export async function createTestNetns(): Promise<TestNetns> {
  // Namespaces of test processes that no longer run (a killed run) are removed first.
  sweepStaleNamespaces(NAMESPACE_PREFIX, COMMAND_TIMEOUT_MS);
  const name = `${NAMESPACE_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const children = new Set<ChildProcess>();
  await run('ip', ['netns', 'add', name]);
  const netns: TestNetns = {
    name,
    exec: (command, args, input) => run('ip', ['netns', 'exec', name, command, ...args], input),
    spawn: (command, args) => {
      const child = spawn('ip', ['netns', 'exec', name, command, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    udp: (address, port = 0) => bridgedSocket(netns, address, port),
    dispose: () => {
      for (const child of children) {
        child.kill('SIGKILL');
      }
      destroyNamespace(name, COMMAND_TIMEOUT_MS);
    },
  };
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // On lo (this kernel has no dummy interfaces): still ordinary host addresses to coturn, which
    // judges peers by address, not by interface.
    await run('ip', ['-n', name, 'addr', 'add', `${NETNS_IPV4}/32`, 'dev', 'lo']);
    await run('ip', ['-n', name, 'addr', 'add', `${NETNS_IPV6}/128`, 'dev', 'lo']);
  } catch (error) {
    netns.dispose();
    throw error;
  }
  return netns;
}

async function bridgedSocket(netns: TestNetns, address: string, port: number): Promise<NetnsUdpSocket> {
  const child = netns.spawn(process.execPath, ['-e', UDP_BRIDGE, address, String(port)]);
  const listeners: Array<(datagram: Datagram) => void> = [];
  const lines = createInterface({ input: child.stdout! });
  const bound = await new Promise<[string, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no UDP socket on ${address}:${port} in time`)), 10_000);
    lines.on('line', (text) => {
      const line = JSON.parse(text) as BridgeLine;
      if (line.ready) {
        clearTimeout(timer);
        resolve(line.ready);
      } else if (line.error) {
        clearTimeout(timer);
        reject(new Error(`UDP socket on ${address}:${port}: ${line.error}`));
      } else if (line.from && line.data !== undefined) {
        const datagram = {
          address: line.from[0],
          port: line.from[1],
          data: Buffer.from(line.data, 'base64'),
        };
        for (const listener of listeners) {
          listener(datagram);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the UDP bridge exited (${code})`));
    });
  });
  return {
    address: bound[0],
    port: bound[1],
    send: (data, toPort, toAddress) => {
      if (child.exitCode === null) {
        child.stdin!.write(`${JSON.stringify({ to: [toAddress, toPort], data: data.toString('base64') })}\n`);
      }
    },
    onMessage: (listener) => listeners.push(listener),
    close: () => {
      child.stdin!.end();
      child.kill('SIGKILL');
    },
  };
}
