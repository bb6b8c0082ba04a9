import { describe, expect, it } from 'vitest';
import { stillFresh } from '../src/lib/certificate-store.js';

describe('the kept DTLS certificate', () => {
  const DAY = 24 * 3600_000;
  it('serves until a week before it expires, then is renewed', () => {
    const now = 1_000 * DAY;
    expect(stillFresh({ expires: now + 30 * DAY }, now)).toBe(true);
    expect(stillFresh({ expires: now + 7 * DAY + 1 }, now)).toBe(true);
    expect(stillFresh({ expires: now + 7 * DAY }, now)).toBe(false);
    expect(stillFresh({ expires: now - 1 }, now)).toBe(false);
  });
});
