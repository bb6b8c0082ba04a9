/**
 * A UDP relay that delays every datagram by a fixed time, each way: the NAT lab's stand-in for a
 * long path, since this kernel has no netem and Chromium 156 ignores libwebrtc's fake-network field
 * trials (measured: the RTCP round trip stays at 2-4 ms with them). netns.ts runs it in the lab's
 * internet namespace in front of the TURN server, and an nftables `redirect` sends one site's TURN
 * traffic to it; conntrack gives the replies the TURN server's address back. Each client address
 * gets its own socket towards the target, so the target sees one 5-tuple per client, as without it.
 *
 *   tsx e2e/udp-delay-relay.ts <listen ip> <listen port> <target ip> <target port> <delay ms>
 *
 * Prints `listening` once bound. Bounded: at most MAX_CLIENTS client addresses; it runs until killed
 * (the lab kills it in its teardown).
 */
import { createSocket, type Socket } from 'node:dgram';

const MAX_CLIENTS = 64;

const [listenIp, listenPort, targetIp, targetPort, delayText] = process.argv.slice(2);
const delayMs = Number(delayText);
if (
  !listenIp ||
  !targetIp ||
  !Number.isInteger(Number(listenPort)) ||
  !Number.isInteger(Number(targetPort))
) {
  throw new Error('usage: udp-delay-relay <listen ip> <listen port> <target ip> <target port> <delay ms>');
}
if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 5_000) {
  throw new Error(`delay must be 0-5000 ms, not ${delayText}`);
}

const front = createSocket('udp4');
const upstreams = new Map<string, Socket>();

/** The socket that speaks to the target for this client, made on its first datagram. */
function upstreamFor(address: string, port: number): Socket | null {
  const key = `${address}:${port}`;
  const known = upstreams.get(key);
  if (known || upstreams.size >= MAX_CLIENTS) {
    return known ?? null;
  }
  const upstream = createSocket('udp4');
  upstream.on('message', (message) => {
    setTimeout(() => front.send(message, port, address), delayMs);
  });
  upstream.on('error', (error) => process.stderr.write(`upstream ${key}: ${error.message}\n`));
  upstream.bind(0, listenIp);
  upstreams.set(key, upstream);
  return upstream;
}

front.on('message', (message, from) => {
  const upstream = upstreamFor(from.address, from.port);
  if (upstream) {
    setTimeout(() => upstream.send(message, Number(targetPort), targetIp), delayMs);
  }
});
front.on('error', (error) => {
  process.stderr.write(`relay: ${error.message}\n`);
  process.exit(1);
});
front.bind(Number(listenPort), listenIp, () => process.stdout.write('listening\n'));
