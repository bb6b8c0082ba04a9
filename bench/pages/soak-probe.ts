/*
 * The soak's counters, injected after the timing probe (pages/probe.ts) into both of its pages,
 * before the app's own scripts: what a page that makes hundreds of calls still holds between them.
 *
 * - RTCPeerConnections and RTCDataChannels: each one the page makes, held weakly. `live` ones are
 *   not closed; `retained` ones are closed but still reachable (read after a forced GC, a closed
 *   connection the app still references); collected ones are forgotten.
 * - Timers: setTimeout / setInterval wrapped, the pending ones counted (a timeout until it fires or
 *   is cleared, an interval until it is cleared), by the delay they were set with.
 *
 * Only the soak injects it (bench/soak.ts): wrapping every timer costs a little, and the other
 * benchmarks time the pages. Runs as a classic script (see transpileToScript): no imports.
 */

interface SoakCounts {
  peerConnections: { created: number; live: number; retained: number };
  dataChannels: { created: number; live: number; retained: number };
  timers: { timeouts: number; intervals: number; byDelay: Record<string, number> };
}

interface SoakApi {
  counts(): SoakCounts;
}

declare global {
  interface Window {
    __soak: SoakApi;
  }
}

interface Tracked<T extends object> {
  refs: Array<WeakRef<T>>;
  created: number;
}

function tracked<T extends object>(): Tracked<T> {
  return { refs: [], created: 0 };
}

function add<T extends object>(list: Tracked<T>, item: T): void {
  list.created++;
  list.refs.push(new WeakRef(item));
}

/** Live and retained (closed but reachable) items; collected ones are dropped from the list. */
function count<T extends object>(list: Tracked<T>, closed: (item: T) => boolean) {
  let live = 0;
  let retained = 0;
  list.refs = list.refs.filter((ref) => {
    const item = ref.deref();
    if (item === undefined) {
      return false;
    }
    if (closed(item)) {
      retained++;
    } else {
      live++;
    }
    return true;
  });
  return { created: list.created, live, retained };
}

const connections = tracked<RTCPeerConnection>();
const channels = tracked<RTCDataChannel>();

// The timing probe's wrapper, if it ran first; the app gets this subclass of it.
const BasePeerConnection = window.RTCPeerConnection;

class CountedPeerConnection extends BasePeerConnection {
  constructor(configuration?: RTCConfiguration) {
    super(configuration);
    add(connections, this);
    this.addEventListener('datachannel', (event) => add(channels, event.channel));
  }

  override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
    const channel = super.createDataChannel(label, init);
    add(channels, channel);
    return channel;
  }
}

window.RTCPeerConnection = CountedPeerConnection;

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

/** Pending timer id → the delay it was set with (ms, as given). */
const timeouts = new Map<number, number>();
const intervals = new Map<number, number>();
const nativeSetTimeout = window.setTimeout.bind(window);
const nativeSetInterval = window.setInterval.bind(window);
const nativeClearTimeout = window.clearTimeout.bind(window);
const nativeClearInterval = window.clearInterval.bind(window);

function wrappedSetTimeout(handler: TimerHandler, delay?: number, ...args: unknown[]): number {
  if (typeof handler !== 'function') {
    return nativeSetTimeout(handler, delay, ...args);
  }
  const id = nativeSetTimeout(
    (...callArgs: unknown[]) => {
      timeouts.delete(id);
      (handler as (...a: unknown[]) => unknown)(...callArgs);
    },
    delay,
    ...args,
  );
  timeouts.set(id, delay ?? 0);
  return id;
}

function wrappedSetInterval(handler: TimerHandler, delay?: number, ...args: unknown[]): number {
  const id = nativeSetInterval(handler, delay, ...args);
  intervals.set(id, delay ?? 0);
  return id;
}

// Timeouts and intervals share one pool of ids: either clear function clears either kind.
function clear(id: number | undefined): void {
  if (id !== undefined) {
    timeouts.delete(id);
    intervals.delete(id);
  }
}

window.setTimeout = wrappedSetTimeout as typeof window.setTimeout;
window.setInterval = wrappedSetInterval as typeof window.setInterval;
window.clearTimeout = ((id?: number) => {
  clear(id);
  nativeClearTimeout(id);
}) as typeof window.clearTimeout;
window.clearInterval = ((id?: number) => {
  clear(id);
  nativeClearInterval(id);
}) as typeof window.clearInterval;

function byDelay(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, map] of [
    ['timeout', timeouts],
    ['interval', intervals],
  ] as const) {
    for (const delay of map.values()) {
      const key = `${kind} ${delay} ms`;
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  return out;
}

window.__soak = {
  counts: () => ({
    peerConnections: count(connections, (pc) => pc.connectionState === 'closed'),
    dataChannels: count(channels, (dc) => dc.readyState === 'closed'),
    timers: { timeouts: timeouts.size, intervals: intervals.size, byDelay: byDelay() },
  }),
};

export {};
