import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseFingerprints } from '../src/verify/fingerprints.js';
import { KnownPeers } from '../src/verify/known-peers.js';
import { SAS_SYMBOLS } from '../src/verify/sas-emoji.js';
import {
  deriveSas,
  SAS_ITERATIONS,
  SAS_SALT,
  sasInput,
  sasOfIndices,
  sixBitGroups,
} from '../src/verify/sas.js';
import {
  INITIAL_VERIFICATION,
  transitionVerification,
  type VerificationEvent,
  type VerificationState,
} from '../src/verify/verification.js';
import { MemoryStorage } from './support/memory-storage.js';

const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
/** 00:01:…:1F and FF:FE:…:E0, the vectors in docs/protocol.md. */
const CALLER = [`sha-256 ${hex(Array.from({ length: 32 }, (_, i) => i))}`];
const CALLEE = [`sha-256 ${hex(Array.from({ length: 32 }, (_, i) => 255 - i))}`];

describe('parseFingerprints', () => {
  it('reads one fingerprint repeated under every media section (Chromium), normalised', () => {
    const sdp = [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=fingerprint:SHA-256 ab:cd:EF:01',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=fingerprint:sha-256 AB:CD:EF:01',
      '',
    ].join('\r\n');
    expect(parseFingerprints(sdp)).toEqual(['sha-256 AB:CD:EF:01']);
  });

  it('reads a session-level fingerprint (Firefox) and sorts several', () => {
    const sdp = 'v=0\na=fingerprint:sha-256 02:02\na=fingerprint:sha-1 01:01\nm=audio 9 x\n';
    expect(parseFingerprints(sdp)).toEqual(['sha-1 01:01', 'sha-256 02:02']);
  });

  it('finds nothing in a description without one, or in malformed lines', () => {
    expect(parseFingerprints('v=0\r\na=fingerprint:sha-256\r\na=fingerprint:sha-256 zz:zz\r\n')).toEqual([]);
  });
});

describe('the short authentication string', () => {
  it('has 64 distinct symbols, each with an English and a Chinese name', () => {
    expect(SAS_SYMBOLS).toHaveLength(64);
    expect(new Set(SAS_SYMBOLS.map((s) => s.emoji)).size).toBe(64);
    expect(new Set(SAS_SYMBOLS.map((s) => s.en.toLowerCase())).size).toBe(64);
    expect(new Set(SAS_SYMBOLS.map((s) => s.zh)).size).toBe(64);
    for (const symbol of SAS_SYMBOLS) {
      // One code point: no variation selector or joiner that a font might render differently.
      expect(Array.from(symbol.emoji)).toHaveLength(1);
    }
  });

  it('splits bytes into 6-bit groups, most significant bit first', () => {
    expect(sixBitGroups(new Uint8Array([0b000001_00, 0b0010_0000, 0b11_111111]), 4)).toEqual([1, 2, 3, 63]);
  });

  it('derives the documented vector (the same as node:crypto’s PBKDF2 gives)', async () => {
    const input = sasInput(CALLER, CALLEE);
    expect(input).toBe(`DUET-SAS-1\ncaller ${CALLER[0]}\ncallee ${CALLEE[0]}`);
    const sas = await deriveSas(CALLER, CALLEE);
    expect(sas.indices).toEqual([34, 47, 8, 35, 23, 21]);
    expect(sas.symbols.map((s) => s.en)).toEqual(['Snail', 'Fire', 'Corn', 'Turtle', 'Lion', 'Panda']);
    // An independent implementation of the same algorithm.
    const bits = pbkdf2Sync(input, SAS_SALT, SAS_ITERATIONS, 8, 'sha256');
    expect(sas.indices).toEqual(sixBitGroups(new Uint8Array(bits), 6));
  });

  it('depends on the order by role: the caller’s certificate first', async () => {
    const swapped = await deriveSas(CALLEE, CALLER);
    expect(swapped.indices).toEqual([5, 58, 45, 9, 1, 20]);
  });

  it('differs when one certificate is another (a man in the middle’s)', async () => {
    const other = [`sha-256 ${hex(Array.from({ length: 32 }, () => 7))}`];
    const honest = await deriveSas(CALLER, CALLEE);
    expect((await deriveSas(CALLER, other)).code).not.toBe(honest.code);
    expect((await deriveSas(other, CALLEE)).code).not.toBe(honest.code);
  });
});

describe('transitionVerification', () => {
  const sasA = sasOfIndices([1, 2, 3, 4, 5, 6]);
  const sasB = sasOfIndices([6, 5, 4, 3, 2, 1]);
  const derived = (
    sas = sasA,
    more: Partial<Extract<VerificationEvent, { type: 'derived' }>> = {},
  ): VerificationEvent => ({
    type: 'derived',
    sas,
    remoteFingerprint: sas === sasA ? 'fp-a' : 'fp-b',
    knownSince: null,
    otherDevices: false,
    ...more,
  });
  const run = (events: VerificationEvent[]) => {
    let state: VerificationState = INITIAL_VERIFICATION;
    const effects: string[] = [];
    for (const event of events) {
      const next = transitionVerification(state, event);
      state = next.state;
      effects.push(...next.effects.map((e) => e.type));
    }
    return { state, effects };
  };
  const confirm = (match: boolean): VerificationEvent => ({ type: 'confirm', match, at: 1000 });

  it('starts unverified with the string, and a match verifies and remembers the peer', () => {
    expect(run([derived()]).state).toMatchObject({ status: 'unverified', sas: sasA });
    const { state, effects } = run([derived(), confirm(true)]);
    expect(state).toMatchObject({ status: 'verified', verifiedAt: 1000, verifiedBefore: false });
    expect(effects).toEqual(['remember']);
  });

  it('a mismatch remembers nothing', () => {
    expect(run([derived(), confirm(false)])).toMatchObject({ state: { status: 'mismatch' }, effects: [] });
  });

  it('nothing to confirm before a string exists', () => {
    expect(run([confirm(true)]).state).toBe(INITIAL_VERIFICATION);
  });

  it('the same string again (ICE restart, rebuilt connection) changes nothing', () => {
    const { state, effects } = run([derived(), confirm(true), derived()]);
    expect(state.status).toBe('verified');
    expect(effects).toEqual(['remember']);
  });

  it('another string after a comparison takes the mark away and is announced', () => {
    const verified = run([derived(), confirm(true), derived(sasB)]);
    expect(verified.state).toMatchObject({ status: 'changed', sas: sasB, verifiedAt: null });
    expect(verified.effects).toEqual(['remember', 'announce-change']);
    expect(run([derived(), confirm(false), derived(sasB)]).state.status).toBe('changed');
    // …and can be verified again.
    expect(run([derived(), confirm(true), derived(sasB), confirm(true)]).state.status).toBe('verified');
  });

  it('another string before any comparison is just the string to compare', () => {
    expect(run([derived(), derived(sasB)])).toMatchObject({
      state: { status: 'unverified', sas: sasB },
      effects: [],
    });
  });

  it('a certificate verified in an earlier call verifies this one (key continuity)', () => {
    expect(run([derived(sasA, { knownSince: 500 })]).state).toMatchObject({
      status: 'verified',
      verifiedAt: 500,
      verifiedBefore: true,
      newDevice: false,
    });
  });

  it('an unknown certificate under a known name is a new device, still to compare', () => {
    expect(run([derived(sasA, { otherDevices: true })]).state).toMatchObject({
      status: 'unverified',
      newDevice: true,
    });
    expect(run([derived(sasA, { otherDevices: true }), confirm(true)]).state.newDevice).toBe(false);
  });
});

describe('KnownPeers', () => {
  it('remembers verified certificates by name, and tells a new device apart', () => {
    const peers = new KnownPeers(new MemoryStorage());
    expect(peers.lookup('Ann', 'fp1')).toEqual({ knownSince: null, otherDevices: false });
    peers.remember('Ann', 'fp1', 100);
    expect(peers.lookup('Ann', 'fp1')).toEqual({ knownSince: 100, otherDevices: false });
    expect(peers.lookup('Ann', 'fp2')).toEqual({ knownSince: null, otherDevices: true });
    expect(peers.lookup('Bob', 'fp1')).toEqual({ knownSince: null, otherDevices: false });
    peers.remember('Ann', 'fp1', 200);
    expect(peers.lookup('Ann', 'fp1').knownSince).toBe(200);
  });

  it('ignores a broken or foreign entry, and works without storage', () => {
    const storage = new MemoryStorage();
    storage.setItem('duet.verifiedPeers', '{"Ann":[{"fingerprint":1}],"Bob":"x"}');
    expect(new KnownPeers(storage).lookup('Ann', '1')).toEqual({ knownSince: null, otherDevices: false });
    storage.setItem('duet.verifiedPeers', 'not json');
    expect(new KnownPeers(storage).lookup('Ann', '1').knownSince).toBeNull();
    const none = new KnownPeers(undefined);
    none.remember('Ann', 'fp', 1);
    expect(none.lookup('Ann', 'fp').knownSince).toBeNull();
  });

  it('keeps a bounded number of certificates per name', () => {
    const peers = new KnownPeers(new MemoryStorage());
    for (let i = 0; i < 20; i++) {
      peers.remember('Ann', `fp${i}`, i);
    }
    expect(peers.lookup('Ann', 'fp19').knownSince).toBe(19);
    expect(peers.lookup('Ann', 'fp0')).toEqual({ knownSince: null, otherDevices: true });
  });
});
