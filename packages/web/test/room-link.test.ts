import { describe, expect, it } from 'vitest';
import { newRoomSecret, roomLink, roomLinkFromAddress } from '../src/lib/room-link.js';

describe('room links', () => {
  it('put a private room’s secret in the fragment, which browsers never send to a server', () => {
    const link = new URL(roomLink('Family Room', 'Zr3hU8Kk1bV0yQf2Lw9nXg', 'https://duet.example'));
    expect(link.searchParams.get('room')).toBe('Family Room');
    expect(link.search).not.toContain('Zr3hU8Kk1bV0yQf2Lw9nXg');
    expect(link.hash).toBe('#k=Zr3hU8Kk1bV0yQf2Lw9nXg');
    expect(roomLinkFromAddress(link)).toEqual({ room: 'Family Room', secret: 'Zr3hU8Kk1bV0yQf2Lw9nXg' });
  });

  it('read a link without a secret, or with a malformed one, as a link by plain name', () => {
    expect(roomLinkFromAddress({ search: '?room=%20lab%20', hash: '' })).toEqual({
      room: 'lab',
      secret: null,
    });
    expect(roomLinkFromAddress({ search: '?room=lab', hash: '#k=short' })).toEqual({
      room: 'lab',
      secret: null,
    });
    expect(roomLink('lab', null, 'https://duet.example')).toBe('https://duet.example/?room=lab');
  });

  it('make secrets of 128 random bits, base64url, never the same twice', () => {
    const secrets = new Set(Array.from({ length: 100 }, () => newRoomSecret()));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });
});
