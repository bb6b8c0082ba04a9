import type { Logger } from '../logger.js';
import type { DuetIo, DuetSocket } from '../signaling/types.js';
import type { RedisStore } from '../store/redis.js';

/** What reconciling needs from the signaling service (the same steps as a disconnect and a recovery). */
export interface ConnectionEvents {
  /** The user's connection is gone: keep the seat for the reconnect grace. */
  markDisconnected(userId: string, socketId: string): Promise<void>;
  /** The user's socket is here after all: connected again, grace cancelled. */
  markReconnected(userId: string, socketId: string): Promise<void>;
}

/** Clients sent to join again come back spread over this long, not all in the same instant. */
const BOUNCE_SPREAD_MS = 1000;
const BOUNCE_MIN_MS = 200;
const NOTICE_BEFORE_DISCONNECT_MS = 250;

/**
 * Keeps this node's sockets and the shared state in agreement after what events cannot cover: a
 * disconnect whose store update failed while Redis was away, a join that Redis applied after the
 * client was told it failed, a node declared dead while it was only cut off, a Redis that restarted
 * empty. Rules, for this node only:
 *
 * 1. A user the store binds to this node, marked connected, whose socket is not here → disconnected
 *    (reconnect grace, then removal): no presence stays stuck.
 * 2. A socket here that speaks for a user the store lacks → told the server restarted
 *    (`server:shutdown`) and disconnected, so the client joins again and restores its running call,
 *    as after a restart of a single server.
 * 3. A socket here that speaks for a user the store names another socket for → disconnected (it
 *    was replaced, as `session:resume` does).
 * 4. A socket here whose user the store marks disconnected → connected again.
 *
 * Rules 2 and 3 act on a periodic pass only when the same socket was seen out of line on the pass
 * before, so a join or leave in flight is never mistaken for a lost one; an urgent pass (Redis lost
 * its data, or this node was declared dead) acts at once.
 */
export class Reconciler {
  private suspects = new Set<string>();
  private running = false;

  constructor(
    private readonly io: DuetIo,
    private readonly store: RedisStore,
    private readonly events: ConnectionEvents,
    private readonly logger: Logger,
  ) {}

  async reconcile(urgent: boolean): Promise<void> {
    if (this.running) {
      return;
    }
    this.running = true;
    try {
      await this.pass(urgent);
    } finally {
      this.running = false;
    }
  }

  private async pass(urgent: boolean): Promise<void> {
    const sockets = this.io.of('/').sockets;
    const speaking: Array<{ socket: DuetSocket; userId: string }> = [];
    for (const socket of sockets.values()) {
      const userId = socket.data.userId;
      if (userId !== undefined) {
        speaking.push({ socket, userId });
      }
    }
    // One batched read of everyone concerned: the store's users of this node and the users this
    // node's sockets speak for (mostly the same people).
    const ofNode = await this.store.userIdsOfNode();
    const states = await this.store.connectionStates([
      ...new Set([...ofNode, ...speaking.map(({ userId }) => userId)]),
    ]);

    let disconnected = 0;
    for (const userId of ofNode) {
      const user = states.get(userId);
      if (user?.connected && !sockets.has(user.socketId)) {
        await this.events.markDisconnected(userId, user.socketId);
        disconnected++;
      }
    }

    const suspects = new Set<string>();
    let bounced = 0;
    let replaced = 0;
    for (const { socket, userId } of speaking) {
      const user = states.get(userId);
      if (user?.socketId === socket.id) {
        if (!user.connected) {
          await this.events.markReconnected(userId, socket.id);
        }
        continue;
      }
      if (!urgent && !this.suspects.has(socket.id)) {
        suspects.add(socket.id);
        continue;
      }
      if (!user) {
        const retryAfterMs = BOUNCE_MIN_MS + Math.floor(Math.random() * BOUNCE_SPREAD_MS);
        socket.emit('server:shutdown', { retryAfterMs });
        bounced++;
      } else {
        replaced++;
      }
      socket.data.userId = undefined;
      // With connection-state recovery (Streams adapter) an emit to a socket goes through Redis
      // first: disconnecting at once would overtake the notice.
      setTimeout(() => socket.disconnect(), NOTICE_BEFORE_DISCONNECT_MS).unref();
    }
    this.suspects = suspects;
    if (disconnected + bounced + replaced > 0) {
      this.logger.warn({ disconnected, bounced, replaced, urgent }, 'reconciled this node with Redis');
    }
  }
}
