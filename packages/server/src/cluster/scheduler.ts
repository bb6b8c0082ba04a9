import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { KeyedTimers } from '../signaling/keyed-timers.js';
import { LuaScript } from '../store/lua.js';

/**
 * Timers by key (a call's ring timeout, a user's reconnect grace). Setting a key replaces its timer;
 * a due timer is handed to `onDue` once, with the payload it was set with.
 *
 * In one process they are plain `setTimeout`s. Across processes they live in Redis, so a timer
 * outlives the node that set it: whichever node polls first after it is due runs it.
 */
export interface Scheduler {
  set(key: string, delayMs: number, payload?: string): Promise<void>;
  clear(key: string): Promise<void>;
  /** Start delivering due timers. */
  start(onDue: (key: string, payload: string) => Promise<void>): void;
  /** Stop delivering (the process is going away); timers in Redis stay for the other nodes. */
  close(): void;
}

/** Timer keys, shared by the signaling service and the Redis sweeper that arms grace timers. */
export const timerKeys = {
  ring: (callId: string): string => `ring:${callId}`,
  grace: (userId: string): string => `grace:${userId}`,
  knock: (knockId: string): string => `knock:${knockId}`,
};

/** The default: timers of this process, gone with it. */
export class LocalScheduler implements Scheduler {
  private readonly timers = new KeyedTimers();
  private onDue: ((key: string, payload: string) => Promise<void>) | undefined;

  constructor(private readonly logger: Logger) {}

  async set(key: string, delayMs: number, payload = ''): Promise<void> {
    this.timers.set(key, delayMs, () => {
      void this.onDue?.(key, payload).catch((error: unknown) =>
        this.logger.error({ err: error, timer: key }, 'timer failed'),
      );
    });
  }

  async clear(key: string): Promise<void> {
    this.timers.clear(key);
  }

  start(onDue: (key: string, payload: string) => Promise<void>): void {
    this.onDue = onDue;
  }

  close(): void {
    this.onDue = undefined;
    this.timers.clearAll();
  }
}

/**
 * Arm a timer at Redis's clock (so nodes with skewed clocks agree on when it is due): a sorted set
 * of keys by due time, and a hash of payloads.
 */
const SET_TIMER = new LuaScript(`
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', P .. 'timers', now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', P .. 'timer-data', ARGV[2], ARGV[4])
return 1
`);

const CLEAR_TIMER = new LuaScript(`
local P = ARGV[1]
redis.call('ZREM', P .. 'timers', ARGV[2])
redis.call('HDEL', P .. 'timer-data', ARGV[2])
return 1
`);

/** Take up to ARGV[2] due timers; each is removed in the same step, so exactly one node gets it. */
const CLAIM_DUE = new LuaScript(`
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', P .. 'timers', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, key in ipairs(due) do
  redis.call('ZREM', P .. 'timers', key)
  local payload = redis.call('HGET', P .. 'timer-data', key)
  redis.call('HDEL', P .. 'timer-data', key)
  table.insert(out, key)
  table.insert(out, payload or '')
end
return out
`);

/** How often each node looks for due timers: the precision of ring timeouts and grace expiry. */
export const TIMER_POLL_MS = 250;
/** Timers taken per poll; more wait for the next poll (bounds the work of one tick). */
const CLAIM_BATCH = 200;

/** Timers in Redis: any node may set, clear or run any of them. */
export class RedisScheduler implements Scheduler {
  private poller: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  async set(key: string, delayMs: number, payload = ''): Promise<void> {
    await SET_TIMER.run(this.redis, [this.prefix, key, delayMs, payload]);
  }

  async clear(key: string): Promise<void> {
    await CLEAR_TIMER.run(this.redis, [this.prefix, key]);
  }

  start(onDue: (key: string, payload: string) => Promise<void>): void {
    this.poller = setInterval(() => void this.poll(onDue), TIMER_POLL_MS);
    this.poller.unref();
  }

  close(): void {
    clearInterval(this.poller);
    this.poller = undefined;
  }

  private async poll(onDue: (key: string, payload: string) => Promise<void>): Promise<void> {
    // One poll at a time: a slow Redis must not stack up claims.
    if (this.polling) {
      return;
    }
    this.polling = true;
    try {
      const flat = (await CLAIM_DUE.run(this.redis, [this.prefix, CLAIM_BATCH])) as string[];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const key = flat[i] ?? '';
        await onDue(key, flat[i + 1] ?? '').catch((error: unknown) =>
          this.logger.error({ err: error, timer: key }, 'timer failed'),
        );
      }
    } catch (error) {
      this.logger.debug({ err: error }, 'timer poll failed (Redis unavailable?)');
    } finally {
      this.polling = false;
    }
  }
}
