import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { Logger } from '../logger.js';
import { LuaScript } from '../store/lua.js';
import { RedisStore } from '../store/redis.js';
import { RedisScheduler } from './scheduler.js';

export type AdapterKind = 'sharded' | 'streams';

export interface ClusterOptions {
  redisUrl: string;
  adapter: AdapterKind;
  /** This process's name in logs and metrics. */
  nodeName: string;
  /** A node whose heartbeat is older than this is dead: its users lose their connection. */
  nodeTimeoutMs: number;
  /** How long a user of a dead node keeps their seat (counted from the node's last heartbeat). */
  reconnectGraceMs: number;
}

/** What the cluster asks of the rest of the server. */
export interface ClusterHooks {
  /**
   * Bring this node's sockets and the shared state back in line. `urgent`: Redis lost its data or
   * declared this node dead, so sockets whose user is gone are sent to join again at once.
   */
  reconcile(urgent: boolean): Promise<void>;
}

/** Every Redis key of Duet starts with this (the adapters use `socket.io` channels of their own). */
export const KEY_PREFIX = 'duet:';

/** Node name by default: the host and process (two processes on one host differ). */
export function defaultNodeName(): string {
  return `${hostname()}-${process.pid}`;
}

/**
 * The heartbeat, run by every node every `interval` ms; atomic, so no lock is needed.
 *
 * - Records this node's beat at Redis's clock, and the epoch (a random id Redis holds while it
 *   keeps its data: a new epoch means Redis restarted empty).
 * - If no node has beaten for 2 intervals, Redis itself stalled (paused, overloaded): every node's
 *   beat is renewed instead of declaring them all dead.
 * - Otherwise sweeps dead nodes: each connected user bound to one becomes disconnected, with a
 *   reconnect-grace timer counted from the node's last beat (in the shared timer set, run by
 *   whichever node polls first). Their seats and calls live on until then, so a client that
 *   reconnects to another node in time resumes its session and call.
 *
 * Returns [epoch, known(1: this node was registered), stalled(1|0), swept user ids...].
 */
const BEAT = new LuaScript(`
local P, node, interval, timeout, grace, candidate =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('GET', P .. 'epoch')
if not epoch then
  epoch = candidate
  redis.call('SET', P .. 'epoch', epoch)
end
local last = tonumber(redis.call('GET', P .. 'clock') or '0')
redis.call('SET', P .. 'clock', now)
local known = 1 - redis.call('ZADD', P .. 'nodes', now, node)
local out = { epoch, known, 0 }
if last > 0 and now - last > 2 * interval then
  for _, other in ipairs(redis.call('ZRANGE', P .. 'nodes', 0, -1)) do
    redis.call('ZADD', P .. 'nodes', now, other)
  end
  out[3] = 1
  return out
end
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now - timeout)) do
  local due = math.max(now, tonumber(redis.call('ZSCORE', P .. 'nodes', dead)) + grace)
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'nu:' .. dead)) do
    local key = P .. 'u:' .. id
    local u = redis.call('HMGET', key, 'node', 'connected', 'socket')
    if u[1] == dead and u[2] == '1' then
      redis.call('HSET', key, 'connected', '0')
      redis.call('ZADD', P .. 'timers', due, 'grace:' .. id)
      redis.call('HSET', P .. 'timer-data', 'grace:' .. id, u[3])
      table.insert(out, id)
    end
  end
  redis.call('DEL', P .. 'nu:' .. dead)
  redis.call('ZREM', P .. 'nodes', dead)
end
return out
`);

/** A node that stops on purpose: its users get their grace from now, without waiting for the timeout. */
const RETIRE = new LuaScript(`
local P, node, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('SMEMBERS', P .. 'nu:' .. node)) do
  local key = P .. 'u:' .. id
  local u = redis.call('HMGET', key, 'node', 'connected', 'socket')
  if u[1] == node and u[2] == '1' then
    redis.call('HSET', key, 'connected', '0')
    redis.call('ZADD', P .. 'timers', now + grace, 'grace:' .. id)
    redis.call('HSET', P .. 'timer-data', 'grace:' .. id, u[3])
  end
end
redis.call('DEL', P .. 'nu:' .. node)
redis.call('ZREM', P .. 'nodes', node)
return 1
`);

/** Beats per node timeout: a node is declared dead after missing about this many in a row. */
const BEATS_PER_TIMEOUT = 5;
/** A full reconcile (every socket against the store) every this many beats. */
const BEATS_PER_RECONCILE = 5;
/** Bound on waiting for Redis at start; the node starts anyway (not ready) and keeps trying. */
const FIRST_BEAT_WAIT_MS = 5000;
/** A command that Redis has not answered in this long fails, so a handler answers `internal_error`. */
const COMMAND_TIMEOUT_MS = 2000;

/**
 * Redis for a Duet node: ioredis clients (each with an error listener: a Redis failure is logged,
 * never thrown out of an event emitter), the Socket.IO adapter, the shared store and timers, and the
 * heartbeat that finds dead nodes and tells this one when Redis lost its data.
 */
export class RedisCluster {
  readonly nodeId: string;
  readonly store: RedisStore;
  readonly scheduler: RedisScheduler;
  private readonly clients: Redis[] = [];
  private readonly command: Redis;
  private readonly beatIntervalMs: number;
  private beatTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private beats = 0;
  private lastBeatOkAt = 0;
  private epoch: string | undefined;
  private hooks: ClusterHooks | undefined;
  private closed = false;
  readonly adapter: ReturnType<typeof createShardedAdapter> | ReturnType<typeof createStreamsAdapter>;

  constructor(
    private readonly options: ClusterOptions,
    private readonly logger: Logger,
  ) {
    this.nodeId = `${options.nodeName}-${randomBytes(3).toString('hex')}`;
    this.beatIntervalMs = Math.max(100, Math.floor(options.nodeTimeoutMs / BEATS_PER_TIMEOUT));
    // Store and publish commands fail fast while Redis is away (one reconnection attempt, or two
    // seconds unanswered), so handlers answer instead of queueing without bound.
    this.command = this.client('command', { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS });
    this.store = new RedisStore(this.command, this.nodeId, KEY_PREFIX);
    this.scheduler = new RedisScheduler(this.command, KEY_PREFIX, logger);
    if (options.adapter === 'streams') {
      // The Streams adapter reads with a blocking XREAD on a duplicate of this client and publishes
      // without catching failures: no command timeout, and commands wait for Redis to come back.
      const streams = this.client('adapter', { maxRetriesPerRequest: null });
      this.adapter = createStreamsAdapter(streams, {
        streamName: `${KEY_PREFIX}socket.io`,
        sessionKeyPrefix: `${KEY_PREFIX}sio:session:`,
        blockTimeInMs: 1000,
      });
    } else {
      const pub = this.client('publish', { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS });
      // The subscriber re-subscribes by itself after a reconnection (ioredis autoResubscribe).
      const sub = this.client('subscribe', { maxRetriesPerRequest: null });
      // "dynamic": one channel per Duet room and per user, so a message reaches only the nodes
      // that hold its recipients.
      this.adapter = createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' });
    }
  }

  private client(role: string, extra: RedisOptions): Redis {
    const client = new Redis(this.options.redisUrl, {
      // Reconnect quickly and forever: the node stays up without Redis and recovers by itself.
      retryStrategy: (times) => Math.min(times * 100, 1000),
      connectTimeout: 2000,
      enableAutoPipelining: false,
      ...extra,
    });
    let down = false;
    client.on('error', (error: Error) => {
      // One line per outage, not one per reconnection attempt.
      if (!down) {
        this.logger.warn({ err: error, redis: role }, 'Redis connection failed');
      }
      down = true;
    });
    client.on('ready', () => {
      if (down) {
        this.logger.info({ redis: role }, 'Redis connection restored');
      }
      down = false;
      // A reconnected store client beats at once: a Redis that came back empty is noticed now.
      if (role === 'command' && this.hooks) {
        void this.beat();
      }
    });
    this.clients.push(client);
    return client;
  }

  /** Start beating; resolves after the first beat or a bound, whichever comes first. */
  async start(hooks: ClusterHooks): Promise<void> {
    this.hooks = hooks;
    this.beatTimer = setInterval(() => void this.beat(), this.beatIntervalMs);
    this.beatTimer.unref();
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      this.beat(),
      new Promise<void>((resolve) => {
        bound = setTimeout(resolve, FIRST_BEAT_WAIT_MS);
      }),
    ]);
    clearTimeout(bound);
    if (!this.healthy()) {
      this.logger.warn('Redis is not reachable yet: not ready until it is');
    }
  }

  /** Redis answered a heartbeat recently (readiness). */
  healthy(): boolean {
    return (
      !this.closed &&
      this.command.status === 'ready' &&
      Date.now() - this.lastBeatOkAt < 3 * this.beatIntervalMs + COMMAND_TIMEOUT_MS
    );
  }

  private async beat(): Promise<void> {
    if (this.beating || this.closed) {
      return;
    }
    this.beating = true;
    try {
      const result = (await BEAT.run(this.command, [
        KEY_PREFIX,
        this.nodeId,
        this.beatIntervalMs,
        this.options.nodeTimeoutMs,
        this.options.reconnectGraceMs,
        randomBytes(8).toString('hex'),
      ])) as [string, number, number, ...string[]];
      this.lastBeatOkAt = Date.now();
      this.beats++;
      const [epoch, known, stalled, ...swept] = result;
      if (stalled === 1) {
        this.logger.warn('Redis was stalled: every node kept alive');
      }
      if (swept.length > 0) {
        this.logger.warn({ users: swept.length }, 'a node stopped beating: its users are disconnected');
      }
      const lostData = this.epoch !== undefined && epoch !== this.epoch;
      const forgotten = this.epoch !== undefined && known === 0;
      this.epoch = epoch;
      if (lostData || forgotten) {
        this.logger.warn(
          { reason: lostData ? 'redis_data_lost' : 'node_declared_dead' },
          'shared state lost: reconciling this node',
        );
        await this.hooks?.reconcile(true);
      } else if (this.beats % BEATS_PER_RECONCILE === 0) {
        await this.hooks?.reconcile(false);
      }
    } catch (error) {
      this.logger.debug({ err: error }, 'heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  /** Stop beating, hand this node's users their grace, close the clients (bounded). */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    clearInterval(this.beatTimer);
    this.scheduler.close();
    try {
      await RETIRE.run(this.command, [KEY_PREFIX, this.nodeId, this.options.reconnectGraceMs]);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not retire this node in Redis; the sweeper will');
    }
    this.closed = true;
    await Promise.all(
      this.clients.map((client) =>
        Promise.race([
          client.quit().catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, 1000).unref()),
        ]).then(() => client.disconnect()),
      ),
    );
  }
}
