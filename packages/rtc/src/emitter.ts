/** A map of event name → payload type. */
export type EventMap = Record<string, unknown>;
type Listener<T> = (payload: T) => void;

/**
 * A small typed event emitter. `emit` survives a throwing listener (reported to `onListenerError`)
 * so one broken UI handler cannot stop the call core from reaching the others.
 */
export class Emitter<Events extends EventMap> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Called when a listener throws; replace to route into a logger. */
  onListenerError: (error: unknown, event: keyof Events) => void = () => {};

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return () => this.off(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Resolve with the next `event` (optionally the next one matching `where`). */
  waitFor<E extends keyof Events>(
    event: E,
    where: (payload: Events[E]) => boolean = () => true,
  ): Promise<Events[E]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        if (!where(payload)) {
          return;
        }
        off();
        resolve(payload);
      });
    });
  }

  protected emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[E]>)(payload);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}
