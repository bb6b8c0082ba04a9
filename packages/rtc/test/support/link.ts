import { BodySchema, type Body } from '@duet/protocol';
import type { ControlLink } from '../../src/files/transfer-types.js';

/**
 * The reliable control link between two engines, in memory: each body is validated (as the
 * messenger does on receive), delivered once, in order and asynchronously. It never breaks — the
 * messenger's job is to make the real one behave so across reconnections. Tests can watch what
 * was sent, rewrite or drop bodies in transit, and play a hostile peer by injecting bodies.
 */
export class TestLink implements ControlLink {
  peer: TestLink | null = null;
  /** Everything this side sent, as sent. */
  readonly sent: Body[] = [];
  /** Rewrites (or drops, with null) a body on its way to the peer. */
  filter: ((body: Body) => Body | null) | null = null;
  private readonly listeners = new Set<(body: Body) => void>();
  private readonly sentListeners = new Set<(body: Body) => void>();

  static pair(): [TestLink, TestLink] {
    const a = new TestLink();
    const b = new TestLink();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  send(body: Body): void {
    const valid = BodySchema.parse(body);
    this.sent.push(valid);
    for (const listener of [...this.sentListeners]) {
      listener(valid);
    }
    const out = this.filter ? this.filter(valid) : valid;
    if (out) {
      this.peer?.receive(out);
    }
  }

  onBody(listener: (body: Body) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with each body this side sends. */
  onSent(listener: (body: Body) => void): () => void {
    this.sentListeners.add(listener);
    return () => this.sentListeners.delete(listener);
  }

  /** Deliver `body` to this side's listeners as if the peer sent it. */
  receive(body: Body): void {
    setTimeout(() => {
      for (const listener of [...this.listeners]) {
        listener(body);
      }
    }, 0);
  }

  /** The next body this side sends that matches. */
  next<K extends Body['kind']>(kind: K): Promise<Extract<Body, { kind: K }>> {
    return new Promise((resolve) => {
      const off = this.onSent((body) => {
        if (body.kind !== kind) {
          return;
        }
        off();
        resolve(body as Extract<Body, { kind: K }>);
      });
    });
  }
}
