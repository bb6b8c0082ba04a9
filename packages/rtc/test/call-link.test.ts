import { afterEach, describe, expect, it } from 'vitest';
import type { SignalData } from '@duet/protocol';
import { CallLink, type LinkState } from '../src/call/call-link.js';
import type { StorageLike } from '../src/signaling/signaling-client.js';
import { createModernPeerConnection } from './modern-peer-connection.js';
import { MemoryStorage } from './support/memory-storage.js';

/**
 * A call's data path across lost peer connections, with real libwebrtc: two CallLinks joined by an
 * in-memory relay that, like the signaling server, delivers each side's signals in order.
 */

const links: CallLink[] = [];
afterEach(() => {
  for (const link of links.splice(0)) {
    link.close(true);
  }
});

function pair(options: { calleeStorage?: StorageLike } = {}) {
  const routes: { toCaller?: (d: SignalData) => void; toCallee?: (d: SignalData) => void } = {};
  const make = (caller: boolean, storage?: StorageLike) => {
    const link = new CallLink({
      callId: 'c'.repeat(22),
      caller,
      polite: !caller,
      createPeerConnection: createModernPeerConnection,
      configuration: () => ({ iceServers: [] }),
      sendSignal: (data) => setTimeout(() => (caller ? routes.toCallee : routes.toCaller)?.(data), 1),
      tracks: () => ({ audio: null, video: null }),
      attachMedia: () => undefined,
      storage,
      log: () => undefined,
    });
    links.push(link);
    return link;
  };
  const caller = make(true);
  const callee = make(false, options.calleeStorage);
  routes.toCaller = (d) => caller.handleSignal(d);
  routes.toCallee = (d) => callee.handleSignal(d);
  return { caller, callee, routes, make };
}

const states = (link: CallLink) => {
  const seen: LinkState[] = [];
  link.on('state', (s) => seen.push(s));
  return seen;
};
const texts = (link: CallLink) => link.chat.list.map((m) => `${m.from}:${m.text}`);
const open = (link: CallLink) => expect.poll(() => link.messenger.connected, { timeout: 15_000 }).toBe(true);

/** Both ends started afresh and their control channel open (messages can flow). */
async function connected(options: Parameters<typeof pair>[0] = {}) {
  const ends = pair(options);
  ends.caller.start(false);
  ends.callee.start(false);
  await Promise.all([open(ends.caller), open(ends.callee)]);
  return ends;
}

describe('CallLink', () => {
  it('tells both sides the same certificate fingerprints, caller’s first, again for a rebuilt connection', async () => {
    const ends = pair();
    const seen = { caller: [] as string[], callee: [] as string[] };
    ends.caller.on('fingerprints', (f) => seen.caller.push(`${f.caller.join()}|${f.callee.join()}`));
    ends.callee.on('fingerprints', (f) => seen.callee.push(`${f.caller.join()}|${f.callee.join()}`));
    ends.caller.start(false);
    ends.callee.start(false);
    await expect.poll(() => seen.caller.length > 0 && seen.callee.length > 0, { timeout: 15_000 }).toBe(true);
    const first = seen.caller[0]!;
    expect(first).toMatch(/^sha-256 [0-9A-F:]{95}\|sha-256 [0-9A-F:]{95}$/);
    expect(seen.callee[0]).toBe(first);
    // Each side's own certificate is its local description's: the two halves differ.
    const [callerPrint, calleePrint] = first.split('|');
    expect(callerPrint).not.toBe(calleePrint);
    ends.caller.dropConnection();
    // A new connection brings new certificates (no kept one here), on both sides alike.
    await expect.poll(() => seen.caller.some((f) => f !== first), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => seen.callee.some((f) => f !== first), { timeout: 15_000 }).toBe(true);
    expect(seen.callee.at(-1)).toBe(seen.caller.at(-1));
  });

  it('connects and carries chat both ways', async () => {
    const { caller, callee } = await connected();
    caller.chat.send('hello');
    await expect.poll(() => texts(callee)).toEqual(['peer:hello']);
    callee.chat.send('hi');
    await expect.poll(() => texts(callee)).toEqual(['peer:hello', 'self:hi']);
    await expect.poll(() => texts(caller)).toEqual(['self:hello', 'peer:hi']);
  });

  it.each(['caller', 'callee'] as const)(
    'rebuilds the connection when the %s loses it; chat sent meanwhile arrives once',
    async (side) => {
      const { caller, callee } = await connected();
      const firstEpoch = caller.session!.epoch;
      const dropping = side === 'caller' ? caller : callee;
      const seen = states(dropping);
      dropping.dropConnection();
      for (let i = 0; i < 20; i++) {
        caller.chat.send(`during ${i}`);
      }
      await expect.poll(() => caller.session!.epoch, { timeout: 15_000 }).not.toBe(firstEpoch);
      await expect.poll(() => callee.session!.epoch, { timeout: 15_000 }).toBe(caller.session!.epoch);
      await Promise.all([open(caller), open(callee)]);
      await expect.poll(() => callee.chat.list.length, { timeout: 15_000 }).toBe(20);
      expect(texts(callee)).toEqual(Array.from({ length: 20 }, (_, i) => `peer:during ${i}`));
      await expect.poll(() => caller.chat.list.every((m) => m.status === 'delivered')).toBe(true);
      expect(seen[0]).toBe('interrupted');
    },
  );

  it('brings a reloaded callee back into the call with its chat, and resends what was not delivered', async () => {
    const storage = new MemoryStorage();
    const { caller, callee, routes, make } = await connected({ calleeStorage: storage });
    caller.chat.send('before reload');
    await expect.poll(() => texts(callee)).toEqual(['peer:before reload']);
    callee.chat.send('typed just before reloading');
    // The callee's page goes away mid-send: its peer connection closes, its state was saved.
    callee.persist();
    callee.close(false);
    const reloaded = make(false, storage);
    routes.toCallee = (d) => reloaded.handleSignal(d);
    reloaded.start(true);
    await Promise.all([open(caller), open(reloaded)]);
    expect(texts(reloaded)).toEqual(['peer:before reload', 'self:typed just before reloading']);
    await expect
      .poll(() => texts(caller))
      .toEqual(['self:before reload', 'peer:typed just before reloading']);
    caller.chat.send('welcome back');
    await expect.poll(() => texts(reloaded).at(-1)).toBe('peer:welcome back');
  });

  it('tells each side the other’s media state peer to peer, again on every reopened channel', async () => {
    const { caller, callee } = pair();
    const seen: unknown[] = [];
    callee.on('remote-media', (state) => seen.push(state));
    let syncs = 0;
    caller.on('synced', () => syncs++);
    caller.start(false);
    callee.start(false);
    await Promise.all([open(caller), open(callee)]);
    expect(syncs).toBe(1);
    caller.messenger.send({ kind: 'media', state: { microphone: false, camera: true, screen: false } });
    await expect.poll(() => seen).toEqual([{ microphone: false, camera: true, screen: false }]);
    caller.dropConnection();
    await expect.poll(() => syncs, { timeout: 15_000 }).toBe(2);
  });

  it('answers a reloaded callee at once even when the offer it made meanwhile was lost', async () => {
    const { caller, callee, routes, make } = await connected();
    const firstEpoch = caller.session!.epoch;
    // The callee's page goes away: the server has nobody to relay to, so what the caller sends is lost.
    routes.toCallee = () => undefined;
    callee.close(false);
    await expect.poll(() => caller.session!.epoch, { timeout: 15_000 }).not.toBe(firstEpoch);
    const lostEpoch = caller.session!.epoch;
    // The page is back well within the caller's 2 s debounce, asking for a connection of its own.
    const reloaded = make(false);
    routes.toCallee = (d) => reloaded.handleSignal(d);
    const askedAt = Date.now();
    reloaded.start(true);
    await Promise.all([open(caller), open(reloaded)]);
    // Far below the 20 s the recovery timeout would take to notice the lost offer.
    expect(Date.now() - askedAt).toBeLessThan(5_000);
    expect(caller.session!.epoch).not.toBe(lostEpoch);
    expect(reloaded.session!.epoch).toBe(caller.session!.epoch);
  });

  it('declares the call failed after a bounded number of rebuilds that never connect', async () => {
    const { caller } = pair();
    // No callee answers: every new connection times out; the link must give up, not loop forever.
    const seen = states(caller);
    caller.start(false);
    for (let i = 0; i < 4; i++) {
      caller.dropConnection();
    }
    expect(seen.at(-1)).toBe('failed');
  });
});
