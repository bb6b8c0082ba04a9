import { describe, expect, it } from 'vitest';
import {
  CLIENT_EVENTS,
  DisplayNameSchema,
  LIMITS,
  RoomNameSchema,
  SignalRequestSchema,
  normalizeDisplayName,
  normalizeRoomName,
} from '@duet/protocol';

const id = (c: string) => c.repeat(22);

describe('names', () => {
  it.each([
    ['  Ada   Lovelace ', 'Ada Lovelace'],
    ['Bob\u202eevil', 'Bobevil'],
    ['zero\u200bwidth', 'zerowidth'],
    ['a \u200b b', 'a b'],
    ['tab\there', 'tab here'],
    ['李雷', '李雷'],
  ])('normalises display name %j to %j', (raw, expected) => {
    expect(normalizeDisplayName(raw)).toBe(expected);
  });

  it('folds room names: case, spaces, full-width forms', () => {
    expect(normalizeRoomName('  Family   ROOM ')).toBe('family room');
    expect(normalizeRoomName('ＦＡＭＩＬＹ')).toBe('family');
    expect(normalizeRoomName('家庭')).toBe('家庭');
  });

  it('is idempotent, also when a removed character separated a letter from its accent', () => {
    expect(normalizeRoomName('e\u200b\u0301')).toBe('\u00e9');
    expect(normalizeRoomName('e\u200b\u0301')).toBe(normalizeRoomName('e\u0301'));
    for (const raw of ['Ame\u200b\u0301lie', '  ＡＢ\u200d c ', 'x\u202e\u0308y']) {
      expect(normalizeDisplayName(normalizeDisplayName(raw))).toBe(normalizeDisplayName(raw));
      expect(normalizeRoomName(normalizeRoomName(raw))).toBe(normalizeRoomName(raw));
    }
  });

  it('refuses empty and over-long names after normalisation', () => {
    expect(DisplayNameSchema.safeParse('   ').success).toBe(false);
    expect(DisplayNameSchema.safeParse('\u200b\u200b').success).toBe(false);
    expect(DisplayNameSchema.safeParse('x'.repeat(LIMITS.maxDisplayNameLength)).success).toBe(true);
    expect(DisplayNameSchema.safeParse('x'.repeat(LIMITS.maxDisplayNameLength + 1)).success).toBe(false);
    expect(RoomNameSchema.safeParse(42).success).toBe(false);
  });
});

describe('requests', () => {
  it('parses a join and normalises it', () => {
    const parsed = CLIENT_EVENTS['room:join'].request.parse({ room: ' Lobby ', name: ' Ann ' });
    expect(parsed).toEqual({ room: 'lobby', name: 'Ann' });
  });

  it('defaults an invite to audio and video', () => {
    expect(CLIENT_EVENTS['call:invite'].request.parse({ to: id('a') })).toEqual({
      to: id('a'),
      media: { audio: true, video: true },
    });
  });

  it('accepts each kind of signal and refuses unknown kinds and over-long SDP', () => {
    const base = { callId: id('c'), to: id('b') };
    for (const data of [
      { kind: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } },
      {
        kind: 'candidate',
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
      },
      { kind: 'candidate', candidate: null },
      { kind: 'media', state: { microphone: false, camera: true, screen: false } },
    ]) {
      expect(SignalRequestSchema.safeParse({ ...base, data }).success).toBe(true);
    }
    expect(SignalRequestSchema.safeParse({ ...base, data: { kind: 'eval', code: '1' } }).success).toBe(false);
    const tooLong = {
      kind: 'description',
      description: { type: 'offer', sdp: 'x'.repeat(LIMITS.maxSdpLength + 1) },
    };
    const result = SignalRequestSchema.safeParse({ ...base, data: tooLong });
    expect(result.success).toBe(false);
    expect(result.error?.issues.some((i) => i.code === 'too_big')).toBe(true);
  });

  it('refuses ids that are not 128-bit base64url', () => {
    expect(CLIENT_EVENTS['call:accept'].request.safeParse({ callId: 'short' }).success).toBe(false);
    expect(CLIENT_EVENTS['call:accept'].request.safeParse({ callId: '!'.repeat(22) }).success).toBe(false);
  });
});
