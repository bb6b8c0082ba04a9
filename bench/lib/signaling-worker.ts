/**
 * One client process of the signaling benchmark (bench/signaling.ts forks several: a process holds
 * at most ~19k sockets here). It opens `pairs` pairs of clients against one server, puts each pair
 * in a room of its own (and, for Duet, in a call, since Duet relays only between the two parties of
 * an active call), then on command sends small messages between the two of each pair and measures
 * how long the server takes to relay them. Both clients of a pair live in this process: one clock.
 *
 * Messages (IPC): this process says 'loaded'; then {type:'start', config} → 'ready'; {type:'measure'} → 'result';
 * {type:'exit'}. Everything is bounded: connection setup by `setupTimeoutMs`, the window by
 * `windowMs`.
 */
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

export interface WorkerConfig {
  system: 'duet' | 'raw' | 'peerjs';
  /** http://127.0.0.1:PORT */
  url: string;
  /**
   * Duet only (the scale-out benchmark): several server processes sharing one Redis. Pair `i`'s
   * first client connects to `nodes[i % n]`, its second to `nodes[(i + 1) % n]`: with two nodes the
   * two parties of every call are on different processes, so every relay crosses Redis.
   */
  nodes?: string[];
  /** This worker's pairs: [first, first + pairs). */
  first: number;
  pairs: number;
  /** Each pair sends one message every `intervalMs` (alternating direction) during the window. */
  intervalMs: number;
  windowMs: number;
  setupTimeoutMs: number;
  /** Pairs being set up at one time. */
  concurrency: number;
  protocolVersion: number;
}

export type WorkerMessage =
  | { type: 'loaded' }
  | { type: 'ready'; connected: number; failed: number; setupMs: number; firstError: string | null }
  | {
      type: 'result';
      latenciesMs: number[];
      /** When each latency's message was sent, ms from the window's start (same order). */
      sentAtMs: number[];
      sent: number;
      received: number;
      errors: number;
    };

type ParentMessage = { type: 'start'; config: WorkerConfig } | { type: 'measure' } | { type: 'exit' };

/** A client that can send a probe to its partner and hears the partner's probes. */
interface Client {
  send(seq: number): void;
  onProbe(listener: (seq: number) => void): void;
  close(): void;
}

/** The same small payload for every system: an ICE candidate, as a browser would relay it. */
function candidate(seq: number): { candidate: string; sdpMid: string; sdpMLineIndex: number } {
  return {
    candidate: `candidate:${seq} 1 udp 2122260223 127.0.0.1 ${9 + (seq % 50000)} typ host generation 0`,
    sdpMid: '0',
    sdpMLineIndex: 0,
  };
}

function seqOf(candidateLine: unknown): number | null {
  if (typeof candidateLine !== 'string') {
    return null;
  }
  const match = /^candidate:(\d+) /.exec(candidateLine);
  return match ? Number(match[1]) : null;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

function connectSocketIo(url: string, auth?: Record<string, unknown>): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    ...(auth ? { auth } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Per system: set up one pair
// ---------------------------------------------------------------------------------------------

interface Ack {
  ok: boolean;
  error?: { code: string };
  self?: { id: string };
  callId?: string;
}

async function duetPair(config: WorkerConfig, index: number): Promise<[Client, Client]> {
  const auth = { protocolVersion: config.protocolVersion };
  const nodes = config.nodes?.length ? config.nodes : [config.url];
  const [a, b] = await Promise.all([
    connectSocketIo(nodes[index % nodes.length]!, auth),
    connectSocketIo(nodes[(index + 1) % nodes.length]!, auth),
  ]);
  const ack = async (socket: Socket, event: string, payload: unknown): Promise<Ack> => {
    const reply = (await socket.timeout(10_000).emitWithAck(event, payload)) as Ack;
    if (!reply.ok) {
      throw new Error(`${event}: ${reply.error?.code ?? 'refused'}`);
    }
    return reply;
  };
  const room = `pair-${index}`;
  const aId = (await ack(a, 'room:join', { room, name: 'a' })).self!.id;
  const bId = (await ack(b, 'room:join', { room, name: 'b' })).self!.id;
  const accepted = new Promise<void>((resolve) => a.once('call:accepted', () => resolve()));
  const { callId } = await ack(a, 'call:invite', { to: bId, media: { audio: true, video: true } });
  await ack(b, 'call:accept', { callId });
  await accepted;
  const client = (socket: Socket, to: string): Client => ({
    send: (seq) =>
      socket.emit('signal', { callId, to, data: { kind: 'candidate', candidate: candidate(seq) } }),
    onProbe: (listener) =>
      socket.on('signal', (message: { data?: { candidate?: { candidate?: unknown } } }) => {
        const seq = seqOf(message.data?.candidate?.candidate);
        if (seq !== null) {
          listener(seq);
        }
      }),
    close: () => socket.close(),
  });
  return [client(a, bId), client(b, aId)];
}

async function rawPair(config: WorkerConfig, index: number): Promise<[Client, Client]> {
  const [a, b] = await Promise.all([connectSocketIo(config.url), connectSocketIo(config.url)]);
  const room = `pair-${index}`;
  await Promise.all([
    a.timeout(10_000).emitWithAck('join', room),
    b.timeout(10_000).emitWithAck('join', room),
  ]);
  const client = (socket: Socket): Client => ({
    send: (seq) => socket.emit('signal', { type: 'candidate', candidate: candidate(seq) }),
    onProbe: (listener) =>
      socket.on('signal', (message: { candidate?: { candidate?: unknown } }) => {
        const seq = seqOf(message.candidate?.candidate);
        if (seq !== null) {
          listener(seq);
        }
      }),
    close: () => socket.close(),
  });
  return [client(a), client(b)];
}

/** PeerJS's real client sends this every 5 s (its `pingInterval`); the server counts it as alive. */
const PEERJS_HEARTBEAT_MS = 5000;

function peerjsClient(config: WorkerConfig, id: string, other: string): Promise<Client> {
  const url = `${config.url.replace(/^http/, 'ws')}/peerjs?key=peerjs&id=${id}&token=${Math.random().toString(36).slice(2)}&version=1.5.5`;
  const ws = new WebSocket(url);
  const listeners: Array<(seq: number) => void> = [];
  return new Promise((resolve, reject) => {
    let heartbeat: NodeJS.Timeout | undefined;
    ws.on('message', (raw: WebSocket.RawData) => {
      // Text frames: one Buffer.
      const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
      let message: { type?: string; payload?: { candidate?: { candidate?: unknown } } };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        return;
      }
      if (message.type === 'OPEN') {
        heartbeat = setInterval(() => ws.send('{"type":"HEARTBEAT"}'), PEERJS_HEARTBEAT_MS);
        heartbeat.unref();
        resolve({
          send: (seq) =>
            ws.send(
              JSON.stringify({
                type: 'CANDIDATE',
                dst: other,
                payload: { candidate: candidate(seq), type: 'data', connectionId: `dc_${id}` },
              }),
            ),
          onProbe: (listener) => listeners.push(listener),
          close: () => {
            clearInterval(heartbeat);
            ws.close();
          },
        });
      } else if (message.type === 'CANDIDATE') {
        const seq = seqOf(message.payload?.candidate?.candidate);
        if (seq !== null) {
          for (const listener of listeners) {
            listener(seq);
          }
        }
      } else if (message.type === 'ERROR' || message.type === 'ID-TAKEN') {
        reject(new Error(`peerjs: ${text.slice(0, 200)}`));
        ws.close();
      }
    });
    ws.once('error', reject);
    ws.once('close', () => {
      clearInterval(heartbeat);
      reject(new Error('peerjs: closed'));
    });
  });
}

async function peerjsPair(config: WorkerConfig, index: number): Promise<[Client, Client]> {
  const a = `pair-${index}-a`;
  const b = `pair-${index}-b`;
  return Promise.all([peerjsClient(config, a, b), peerjsClient(config, b, a)]);
}

const PAIR = { duet: duetPair, raw: rawPair, peerjs: peerjsPair } as const;

// ---------------------------------------------------------------------------------------------
// The worker
// ---------------------------------------------------------------------------------------------

let config: WorkerConfig | null = null;
const pairs: Array<[Client, Client]> = [];

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function setup(cfg: WorkerConfig): Promise<void> {
  config = cfg;
  const started = performance.now();
  const deadline = started + cfg.setupTimeoutMs;
  let failed = 0;
  let firstError: string | null = null;
  for (let i = 0; i < cfg.pairs && performance.now() < deadline; i += cfg.concurrency) {
    const batch = Array.from({ length: Math.min(cfg.concurrency, cfg.pairs - i) }, (_, k) =>
      withTimeout(PAIR[cfg.system](cfg, cfg.first + i + k), 20_000, 'pair setup'),
    );
    for (const outcome of await Promise.allSettled(batch)) {
      if (outcome.status === 'fulfilled') {
        pairs.push(outcome.value);
      } else {
        failed++;
        firstError ??= String(outcome.reason);
      }
    }
  }
  failed += cfg.pairs - pairs.length - failed;
  send({
    type: 'ready',
    connected: pairs.length * 2,
    failed: Math.max(0, failed) * 2,
    setupMs: Math.round(performance.now() - started),
    firstError,
  });
}

/** Message numbers: unique across this worker's windows (a late one is never taken for a new one). */
let seq = 0;
/** Where the current window records a probe that arrived; the listeners are attached once. */
let recordProbe: ((n: number) => void) | null = null;
let listening = false;

/** One window of messages; may be repeated (the scale-out benchmark interleaves several setups). */
async function measure(): Promise<void> {
  const cfg = config!;
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const sentAtMs: number[] = [];
  let sent = 0;
  let errors = 0;
  if (seq === 0) {
    seq = cfg.first * 1_000_000;
  }
  const start = performance.now();
  recordProbe = (n: number): void => {
    const at = sentAt.get(n);
    if (at === undefined) {
      return;
    }
    sentAt.delete(n);
    latencies.push(performance.now() - at);
    sentAtMs.push(Math.round(at - start));
  };
  if (!listening) {
    listening = true;
    for (const [a, b] of pairs) {
      a.onProbe((n) => recordProbe?.(n));
      b.onProbe((n) => recordProbe?.(n));
    }
  }
  // Each pair gets a random phase in the interval; a 5 ms ticker sends for the pairs that are due.
  const phases = pairs.map(() => Math.random() * cfg.intervalMs);
  const turns = pairs.map(() => 0);
  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= cfg.windowMs) {
        clearInterval(ticker);
        resolve();
        return;
      }
      for (let i = 0; i < pairs.length; i++) {
        const due = phases[i]! + turns[i]! * cfg.intervalMs;
        if (due > elapsed) {
          continue;
        }
        const [a, b] = pairs[i]!;
        const n = ++seq;
        sentAt.set(n, performance.now());
        try {
          (turns[i]! % 2 === 0 ? a : b).send(n);
          sent++;
        } catch {
          errors++;
        }
        turns[i]!++;
      }
    }, 5);
  });
  // Let the last messages arrive (bounded).
  const drainUntil = performance.now() + 2000;
  while (sentAt.size > 0 && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 20));
  }
  recordProbe = null;
  send({ type: 'result', latenciesMs: latencies, sentAtMs, sent, received: latencies.length, errors });
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'start') {
    void setup(message.config);
  } else if (message.type === 'measure') {
    void measure();
  } else {
    for (const [a, b] of pairs) {
      a.close();
      b.close();
    }
    setTimeout(() => process.exit(0), 200).unref();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'loaded' });
