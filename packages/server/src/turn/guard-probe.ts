import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface GuardProbeResult {
  /** true: a datagram from a relay port to a non-relay port of the relay address was stopped. */
  holds: boolean;
  /** What was seen, for the log and the error message. */
  detail: string;
}

/**
 * How long to wait for the control datagram. On loopback it arrives at once, but this process may be
 * slow to read it: at load average 30 a fixed 400 ms wait missed it. The verdict waits for the control
 * instead of a fixed time; this only bounds a probe that can never succeed.
 */
const CONTROL_TIMEOUT_MS = 10_000;
/**
 * After the control arrived: each guarded copy was sent before its control copy, so it would already
 * be queued ahead of it; this grace covers only a reordering between CPUs.
 */
const GRACE_MS = 100;
const BIND_ATTEMPTS = 40;

/**
 * Does the relay guard (relay-guard.ts) hold for this process's user? Sent exactly as turnserver
 * would relay (same user, from a relay port), a datagram to a port of `relayIp` outside the relay
 * range must not arrive; a control datagram from outside the relay range must (else the probe could
 * not tell a working guard from a broken probe). Both go to a socket of our own on `relayIp`: the
 * probe never sends anywhere else.
 *
 * Run by the supervisor before it starts turnserver (which runs as the same user), and by
 * `duet-turn-config --check-guard` as the user coturn runs as.
 */
export async function probeRelayGuard(
  relayIp: string,
  minPort: number,
  maxPort: number,
): Promise<GuardProbeResult> {
  const inRange = (port: number): boolean => port >= minPort && port <= maxPort;
  const sockets: Socket[] = [];
  try {
    const outside = outsidePortChooser(minPort, maxPort);
    if (!outside) {
      return {
        holds: false,
        detail: `the relay range ${minPort}-${maxPort} leaves no unprivileged port to probe with`,
      };
    }
    const receiver = await bindWhere(relayIp, sockets, outside, (port) => !inRange(port));
    if (!receiver) {
      return {
        holds: false,
        detail: `no free port outside the relay range ${minPort}-${maxPort} on ${relayIp}`,
      };
    }
    const relayPort = () => randomInt(minPort, maxPort + 1);
    const fromRelayPort = await bindWhere(relayIp, sockets, relayPort, inRange);
    const fromOtherPort = await bindWhere(relayIp, sockets, outside, (port) => !inRange(port));
    if (!fromRelayPort || !fromOtherPort) {
      return { holds: false, detail: `could not bind probe sockets on ${relayIp}` };
    }
    const token = randomBytes(8).toString('hex');
    const seen = new Set<string>();
    let controlArrived: () => void = () => undefined;
    const control = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CONTROL_TIMEOUT_MS);
      controlArrived = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    receiver.socket.on('message', (message) => {
      seen.add(message.toString());
      if (message.toString() === `control-${token}`) {
        controlArrived();
      }
    });
    const target = receiver.port;
    // Three copies each: a lost datagram on a loaded host must not pass for a working guard.
    for (let copy = 0; copy < 3; copy++) {
      await sendTo(fromRelayPort.socket, `relayed-${token}`, target, relayIp);
      await sendTo(fromOtherPort.socket, `control-${token}`, target, relayIp);
    }
    const controlSeen = await control;
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
    const relayed = seen.has(`relayed-${token}`);
    const from = `${relayIp} port ${fromRelayPort.port} (a relay port)`;
    if (relayed) {
      return { holds: false, detail: `a datagram from ${from} reached ${relayIp} port ${target}` };
    }
    if (!controlSeen) {
      return {
        holds: false,
        detail: `inconclusive: not even a datagram from outside the relay range reached ${relayIp} port ${target}`,
      };
    }
    return { holds: true, detail: `a datagram from ${from} to ${relayIp} port ${target} was stopped` };
  } finally {
    for (const socket of sockets) {
      socket.close();
    }
  }
}

/** A UDP socket on `ip` whose port satisfies `accept` (bounded attempts), or null. */
async function bindWhere(
  ip: string,
  sockets: Socket[],
  choose: () => number,
  accept: (port: number) => boolean,
): Promise<{ socket: Socket; port: number } | null> {
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const socket = isIPv6(ip) ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket('udp4');
    const port = await new Promise<number | null>((resolve) => {
      socket.once('error', () => resolve(null));
      socket.bind(choose(), ip, () => resolve(socket.address().port));
    });
    if (port !== null && accept(port)) {
      // A send the guard refuses fails with EPERM on the socket: expected, not an error.
      socket.on('error', () => undefined);
      sockets.push(socket);
      return { socket, port };
    }
    try {
      socket.close();
    } catch {
      // a socket whose bind failed may be closed already
    }
  }
  return null;
}

/** Picks random unprivileged ports outside the relay range; null when there are none. */
function outsidePortChooser(minPort: number, maxPort: number): (() => number) | null {
  const below = Math.max(0, minPort - 1024);
  const above = Math.max(0, 65535 - maxPort);
  if (below + above === 0) {
    return null;
  }
  return () => {
    const pick = randomInt(0, below + above);
    return pick < below ? 1024 + pick : maxPort + 1 + (pick - below);
  };
}

function sendTo(socket: Socket, text: string, port: number, ip: string): Promise<void> {
  // Resolves whether or not the kernel accepted it: a dropped datagram is the answer sought.
  return new Promise((resolve) => socket.send(text, port, ip, () => resolve()));
}
