import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { z } from 'zod';
import {
  CLIENT_EVENTS,
  fail,
  type AckOf,
  type ClientEventName,
  type ErrorCode,
  type Failure,
  type ParsedRequestOf,
} from '@duet/protocol';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DuetSocket } from './types.js';

/** One handler per client event; it receives the parsed, normalised request. */
export type EventHandlers = {
  [E in ClientEventName]: (socket: DuetSocket, request: ParsedRequestOf<E>) => Promise<AckOf<E>>;
};

export interface DispatcherOptions {
  eventsPerSecond: number;
  eventBurst: number;
  logger: Logger;
  metrics: Metrics;
}

const MAX_EVENT_NAME_IN_ERRORS = 64;
const MAX_ERROR_MESSAGE = 500;

function isClientEvent(name: unknown): name is ClientEventName {
  return typeof name === 'string' && Object.hasOwn(CLIENT_EVENTS, name);
}

/** Turn zod issues into one short message a developer can act on. */
function describeIssues(error: z.ZodError): { code: ErrorCode; message: string } {
  const tooBig = error.issues.some((issue) => issue.code === 'too_big');
  const message = error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'payload'}: ${issue.message}`)
    .join('; ');
  return {
    code: tooBig ? 'payload_too_large' : 'invalid_payload',
    message: message.slice(0, MAX_ERROR_MESSAGE),
  };
}

/**
 * Receives every event of every socket: rate limit, schema, then the handler, one event at a time per
 * socket. Serialising per socket keeps a client's messages in order even when a handler awaits the
 * store (with Redis an ICE candidate must not overtake the offer before it). Nothing a client sends
 * can throw out of here: failures become error acknowledgements or `protocol:error` events.
 */
export class Dispatcher {
  private readonly limiter: RateLimiterMemory;
  /** Socket tasks queued or running, across all sockets (for a shutdown that lets them finish). */
  private pendingTasks = 0;

  constructor(
    private readonly handlers: EventHandlers,
    private readonly options: DispatcherOptions,
  ) {
    // A fixed window: `burst` events per ceil(burst / eventsPerSecond) seconds. Refusals are answered
    // at once, outside the socket's queue, so a flood never grows the queue.
    this.limiter = new RateLimiterMemory({
      points: options.eventBurst,
      duration: Math.max(1, Math.ceil(options.eventBurst / options.eventsPerSecond)),
    });
  }

  /** Wire a new socket. `onDisconnect` runs in the socket's queue, after events already received. */
  attach(socket: DuetSocket, onDisconnect: (reason: string) => Promise<void>): void {
    let queue: Promise<void> = Promise.resolve();
    let refusedForRate = 0;
    const enqueue = (work: () => Promise<void>): void => {
      this.pendingTasks++;
      queue = queue
        .then(work)
        .catch((error: unknown) => {
          this.options.logger.error({ err: error, socketId: socket.id }, 'socket task failed');
        })
        .finally(() => this.pendingTasks--);
    };

    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (result: unknown) => void) : undefined;
      // `emit('room:leave', ack)`: the callback in the payload's place means "no payload".
      const payload: unknown = typeof args[0] === 'function' ? undefined : args[0];
      this.limiter.consume(socket.id).then(
        () => {
          refusedForRate = 0;
          enqueue(() => this.dispatch(socket, event, payload, ack));
        },
        () => {
          refusedForRate++;
          this.refuse(socket, event, ack, fail('rate_limited', 'Too many messages; slow down.'));
          // A client that keeps flooding after a full burst of refusals is not a slow client.
          if (refusedForRate > this.options.eventBurst) {
            this.options.logger.warn(
              { socketId: socket.id, ip: socket.data.ip },
              'disconnecting a flooding socket',
            );
            socket.disconnect(true);
          }
        },
      );
    });
    socket.on('disconnect', (reason) => {
      void this.limiter.delete(socket.id);
      enqueue(() => onDisconnect(reason));
    });
  }

  /**
   * Resolves once no socket task is queued or running, or after `timeoutMs`: a shutdown lets the
   * disconnects it caused finish before it closes the store under them.
   */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pendingTasks > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async dispatch(
    socket: DuetSocket,
    event: unknown,
    payload: unknown,
    ack: ((result: unknown) => void) | undefined,
  ): Promise<void> {
    if (!isClientEvent(event)) {
      this.refuse(socket, event, ack, fail('unknown_event', 'This event is not part of the Duet protocol.'));
      return;
    }
    const spec = CLIENT_EVENTS[event];
    if (spec.ackRequired && !ack) {
      this.refuse(socket, event, ack, fail('ack_required', `${event} needs an acknowledgement callback.`));
      return;
    }
    const parsed = spec.request.safeParse(payload);
    if (!parsed.success) {
      const { code, message } = describeIssues(parsed.error);
      this.refuse(socket, event, ack, fail(code, message));
      return;
    }
    let result: AckOf<ClientEventName>;
    try {
      // The table and the handlers are keyed alike; TypeScript cannot correlate the two unions.
      const handler = this.handlers[event] as (s: DuetSocket, r: unknown) => Promise<AckOf<ClientEventName>>;
      result = await handler(socket, parsed.data);
    } catch (error) {
      this.options.logger.error({ err: error, event, socketId: socket.id }, 'handler failed');
      result = fail('internal_error', 'The server could not handle this message.');
    }
    if (!result.ok) {
      this.refuse(socket, event, ack, result);
      return;
    }
    ack?.(result);
  }

  private refuse(
    socket: DuetSocket,
    event: unknown,
    ack: ((result: unknown) => void) | undefined,
    failure: Failure,
  ): void {
    this.options.metrics.refused.inc({ code: failure.error.code });
    const name = typeof event === 'string' ? event.slice(0, MAX_EVENT_NAME_IN_ERRORS) : typeof event;
    this.options.logger.debug({ socketId: socket.id, event: name, code: failure.error.code }, 'refused');
    if (ack) {
      ack(failure);
    } else {
      socket.emit('protocol:error', { event: name, error: failure.error });
    }
  }
}
