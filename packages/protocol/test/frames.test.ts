import { describe, expect, it } from 'vitest';
import { BodySchema, EnvelopeSchema, LooseEnvelopeSchema, RecordingBodySchema } from '../src/frames.js';

describe('the `recording` body', () => {
  it('says whether the sender records, inside a `msg` envelope', () => {
    for (const active of [true, false]) {
      const body = { kind: 'recording', active };
      expect(RecordingBodySchema.parse(body)).toEqual(body);
      expect(BodySchema.parse(body)).toEqual(body);
      expect(EnvelopeSchema.safeParse({ v: 1, t: 'msg', seq: 3, body }).success).toBe(true);
    }
  });

  it.each([
    ['no flag', { kind: 'recording' }],
    ['a string for the flag', { kind: 'recording', active: 'yes' }],
    ['a number for the flag', { kind: 'recording', active: 1 }],
    ['null for the flag', { kind: 'recording', active: null }],
  ])('refuses %s', (_what, body) => {
    expect(BodySchema.safeParse(body).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ v: 1, t: 'msg', seq: 3, body }).success).toBe(false);
    // A malformed body still passes the loose envelope, so its sequence number is acknowledged.
    expect(LooseEnvelopeSchema.safeParse({ v: 1, t: 'msg', seq: 3, body }).success).toBe(true);
  });

  it('drops fields it does not know (a newer peer may add some)', () => {
    expect(BodySchema.parse({ kind: 'recording', active: true, since: 5 })).toEqual({
      kind: 'recording',
      active: true,
    });
  });
});
