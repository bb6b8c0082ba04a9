import { DuetClient, DuetError, type ClientSnapshot, type Log } from '@duet/rtc';
import type { Target } from '../args.js';
import { CliFailure, EXIT } from '../exit-codes.js';
import type { Reporter } from '../output/reporter.js';
import { createNodeHasher } from '../rtc/node-hasher.js';
import { createNodePeerConnection } from '../rtc/node-peer-connection.js';

/**
 * Who places the call. `call`: `duet send` calls whoever is free in the room (and answers a call
 * too); `answer`: `duet receive` only answers; `either`: `duet chat` calls only someone who was in
 * the room before it, so two terminals that meet never call each other at once.
 */
export type CallPolicy = 'call' | 'answer' | 'either';

export interface OpenPeerOptions {
  target: Target;
  name: string;
  policy: CallPolicy;
  reporter: Reporter;
  /** The room's password (DUET_ROOM_PASSWORD). */
  password?: string;
  /** Give up (no answer) when no call is up after this long; default: wait for ever. */
  waitMs?: number;
  /** Bound on reaching the signaling server. */
  connectTimeoutMs?: number;
  log?: Log;
}

/** A DuetClient for a terminal: libdatachannel connections, OpenSSL hashing, no media. */
export function createTerminalClient(server: string, log?: Log): DuetClient {
  return new DuetClient({
    url: server,
    createPeerConnection: createNodePeerConnection,
    createHasher: createNodeHasher,
    agent: 'terminal',
    log,
  });
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Connect and join, failing with `unreachable` when the server does not answer. */
export async function joinRoom(client: DuetClient, options: OpenPeerOptions): Promise<void> {
  const { target, name } = options;
  const bound = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  try {
    await withTimeout(client.connect(), bound, `no answer from ${target.server} within ${bound / 1000} s`);
  } catch (error) {
    throw new CliFailure(
      EXIT.unreachable,
      `cannot reach the Duet server at ${target.server}: ${message(error)}`,
    );
  }
  // A room that asks newcomers to knock keeps the join waiting until a member lets us in: say so.
  let knockSaid = false;
  const offKnocking = client.on('change', ({ knocking }) => {
    if (knocking && !knockSaid) {
      knockSaid = true;
      options.reporter.emit({
        event: 'knocking',
        room: target.room,
        timeoutSeconds: Math.round(knocking.timeoutMs / 1000),
      });
    }
  });
  try {
    // A private room's link carries its secret; with it, the room is made if nobody is in it yet
    // (as the web app does for a link whose room ended).
    await client.join(target.room, name, {
      ...(target.secret === null ? {} : { secret: target.secret, create: true }),
      ...(options.password === undefined ? {} : { password: options.password }),
    });
  } catch (error) {
    throw joinFailure(target.room, error);
  } finally {
    offKnocking();
  }
  const self = client.snapshot.self;
  options.reporter.emit({
    event: 'joined',
    server: target.server,
    room: target.room,
    name: self?.name ?? name,
    link: target.link,
  });
}

/** Why a join failed, as the exit a script can act on: a refused knock is a "no", not a breakdown. */
export function joinFailure(room: string, error: unknown): CliFailure {
  const reason = error instanceof DuetError ? error.reason : null;
  switch (reason) {
    case 'knock_denied':
      return new CliFailure(EXIT.declined, `nobody let you into room "${room}": a member said no`);
    case 'knock_timeout':
      return new CliFailure(EXIT.noAnswer, `nobody let you into room "${room}" in time`);
    case 'room_closed':
      return new CliFailure(EXIT.peerLeft, `room "${room}" ended while you waited: everyone left`);
    case 'password_required':
      return new CliFailure(EXIT.usage, `room "${room}" has a password: set DUET_ROOM_PASSWORD`);
    case 'wrong_password':
      return new CliFailure(EXIT.usage, `the password for room "${room}" is not right (DUET_ROOM_PASSWORD)`);
    case 'too_many_attempts': {
      const seconds = Math.ceil(((error as DuetError).retryAfterMs ?? 60_000) / 1000);
      return new CliFailure(
        EXIT.failed,
        `too many password attempts for room "${room}": try again in ${seconds} s`,
      );
    }
    default:
      return new CliFailure(EXIT.failed, `could not join room "${room}": ${message(error)}`);
  }
}

/**
 * Join the room and bring up a data-only call with the other person there, calling or answering
 * as the policy says. Resolves once the data channel is open; rejects with a CliFailure (declined,
 * no answer, unreachable).
 */
export async function openPeer(client: DuetClient, options: OpenPeerOptions): Promise<{ peer: string }> {
  await joinRoom(client, options);
  return new Promise((resolve, reject) => {
    const { reporter, policy } = options;
    let waitingSaid = false;
    let dialling = false;
    let answered: string | null = null;
    const finish = (result: { peer: string } | CliFailure): void => {
      off();
      clearTimeout(timer);
      if (result instanceof CliFailure) {
        reject(result);
      } else {
        resolve(result);
      }
    };
    const waitMs = options.waitMs;
    const timer =
      waitMs === undefined
        ? undefined
        : setTimeout(
            () => finish(new CliFailure(EXIT.noAnswer, `no call came up within ${waitMs / 1000} s`)),
            waitMs,
          );
    const step = (snapshot: ClientSnapshot): void => {
      const call = snapshot.call;
      if (call?.phase === 'connected' && snapshot.dataChannelOpen) {
        reporter.emit({ event: 'connected', peer: call.peer.name });
        finish({ peer: call.peer.name });
        return;
      }
      if (call?.phase === 'incoming' && answered !== call.id) {
        answered = call.id;
        reporter.emit({ event: 'incoming', peer: call.peer.name, terminal: call.peer.agent === 'terminal' });
        void client.accept();
        return;
      }
      if (call?.phase === 'ended') {
        const failure = endedBeforeConnected(call.outcome ?? 'failed', call.role);
        if (failure) {
          finish(failure);
          return;
        }
        // The caller gave up while it rang, or a busy race: forget it and wait for the next one.
        client.dismissCall();
        return;
      }
      if (call || dialling) {
        return;
      }
      const callee = pickCallee(snapshot, policy);
      if (!callee) {
        if (!waitingSaid) {
          waitingSaid = true;
          reporter.emit({ event: 'waiting' });
        }
        return;
      }
      dialling = true;
      reporter.emit({ event: 'calling', peer: callee.name });
      client.call(callee.id, { audio: false, video: false }).then(
        () => (dialling = false),
        (error: unknown) => {
          dialling = false;
          // Busy or already ringing (the other side called us first): the next change decides.
          if (!(error instanceof DuetError)) {
            finish(new CliFailure(EXIT.failed, message(error)));
          }
        },
      );
    };
    const off = client.on('change', step);
    step(client.snapshot);
  });
}

/** The free person this side should call, if any (see CallPolicy). */
export function pickCallee(
  snapshot: Pick<ClientSnapshot, 'self' | 'room'>,
  policy: CallPolicy,
): { id: string; name: string } | null {
  const self = snapshot.self;
  const users = snapshot.room?.users ?? [];
  if (!self || policy === 'answer') {
    return null;
  }
  const selfIndex = users.findIndex((user) => user.id === self.id);
  const candidates = users.filter(
    (user, index) => user.id !== self.id && user.state === 'free' && (policy === 'call' || index < selfIndex),
  );
  return candidates[0] ?? null;
}

/** A call that ended before it connected: which failure that is, or null to keep waiting. */
export function endedBeforeConnected(
  outcome: NonNullable<ClientSnapshot['call']>['outcome'] & string,
  role: 'caller' | 'callee',
): CliFailure | null {
  switch (outcome) {
    case 'declined':
      return role === 'caller' ? new CliFailure(EXIT.declined, 'the call was declined') : null;
    case 'timeout':
      return role === 'caller' ? new CliFailure(EXIT.noAnswer, 'nobody answered the call') : null;
    case 'failed':
      return new CliFailure(EXIT.failed, 'the connection to the peer could not be made');
    case 'cancelled':
    case 'hangup':
    case 'peer_left':
      return role === 'caller'
        ? new CliFailure(EXIT.peerLeft, 'the peer left before the call came up')
        : null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
