import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run with EVALSHA, loaded with EVAL when Redis does not know it (first use, or a
 * Redis that restarted and forgot its script cache). A script runs atomically: no other command
 * runs on the server in between, which is what makes each contended store decision one step.
 *
 * Scripts name their keys from a prefix passed in ARGV, so they suit one Redis (with replicas or
 * Sentinel), not Redis Cluster.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, 0, ...args);
      }
      throw error;
    }
  }
}
