import { describe, expect, it } from 'vitest';
import { connectClient, joinedClient, serverPerTest, type TestClient } from './support.js';

describe('rooms and presence', () => {
  const fixture = serverPerTest({ reconnectGraceMs: 400, roomCapacity: 3 });
  const { clients } = fixture;
  const track = <T extends { client: TestClient }>(joined: T): T => (clients.push(joined.client), joined);

  it('gives the joiner a snapshot with an unguessable id and a session token', async () => {
    const { session } = track(await joinedClient(fixture.server, '  Team   Room ', ' Ann '));
    expect(session.self).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      name: 'Ann',
      state: 'free',
    });
    expect(session.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.room).toEqual({
      name: 'team room',
      capacity: 3,
      users: [session.self],
      // The test server allows rooms by plain name: this one is labelled open.
      settings: { access: 'open', askToJoin: false, locked: false, password: false },
      knocks: [],
    });
    expect(session.call).toBeNull();
    expect(session.iceServers).toEqual([]);
  });

  it('gives a join sent again with the same join key the same seat, on whichever connection', async () => {
    const joinKey = 'k'.repeat(10) + 'Zz0_-abcdefghij';
    const first = await connectClient(fixture.server);
    clients.push(first);
    const a = await first.request('room:join', { room: 'r', name: 'Ann', joinKey });
    if (!a.ok) {
      throw new Error(a.error.code);
    }
    // The answer was lost with the connection; the client sends the same join on a new one.
    first.socket.io.engine.close();
    const second = await connectClient(fixture.server);
    clients.push(second);
    const again = await second.request('room:join', { room: 'R ', name: 'Ann', joinKey });
    expect(again).toMatchObject({ ok: true, self: a.self, sessionToken: a.sessionToken });
    if (!again.ok) {
      return;
    }
    expect(again.room.users).toEqual([a.self]);
    // The same key cannot take a seat in another room, and a short key is refused.
    const third = await connectClient(fixture.server);
    clients.push(third);
    expect(await third.request('room:join', { room: 'other', name: 'Ann', joinKey })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
    expect(await third.request('room:join', { room: 'r', name: 'Ann', joinKey: 'short' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
  });

  it('shows a terminal peer as one to everyone (snapshot, presence, the ring), a browser as before', async () => {
    const ann = track(await joinedClient(fixture.server, 'kinds', 'Ann'));
    const term = await connectClient(fixture.server);
    clients.push(term);
    const joined = await term.request('room:join', { room: 'kinds', name: 'build-box', agent: 'terminal' });
    if (!joined.ok) {
      throw new Error(joined.error.code);
    }
    expect(joined.self).toMatchObject({ name: 'build-box', agent: 'terminal' });
    expect(joined.room.users.map((u) => u.agent)).toEqual([undefined, 'terminal']);
    expect((await ann.client.next('presence')).user).toEqual(joined.self);
    // A data-only call from the terminal rings with its kind and media.
    await term.request('call:invite', { to: ann.session.self.id, media: { audio: false, video: false } });
    expect(await ann.client.next('call:incoming')).toMatchObject({
      from: { name: 'build-box', agent: 'terminal' },
      media: { audio: false, video: false },
    });
    expect(await term.rawWithAck('room:join', { room: 'x', name: 'y', agent: 'robot' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload' },
    });
  });

  it('tells the others who joined and who left, and lists members in join order', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    const bob = track(await joinedClient(fixture.server, 'R', 'Bob'));
    expect(bob.session.room.users.map((u) => u.name)).toEqual(['Ann', 'Bob']);
    expect(await ann.client.next('presence')).toEqual({
      room: 'r',
      change: 'joined',
      user: bob.session.self,
    });

    expect(await bob.client.request('room:leave', {})).toEqual({ ok: true });
    expect(await ann.client.next('presence')).toEqual({ room: 'r', change: 'left', user: bob.session.self });
    expect(bob.client.pending('presence')).toEqual([]);
  });

  it('keeps rooms apart', async () => {
    const ann = track(await joinedClient(fixture.server, 'one', 'Ann'));
    const bob = track(await joinedClient(fixture.server, 'two', 'Bob'));
    expect(bob.session.room.users).toHaveLength(1);
    const outsider = await ann.client.request('call:invite', { to: bob.session.self.id });
    expect(outsider).toMatchObject({ ok: false, error: { code: 'user_not_found' } });
  });

  it('refuses a join to a full room with room_full, and frees the seat on leave', async () => {
    for (const name of ['A', 'B', 'C']) {
      track(await joinedClient(fixture.server, 'full', name));
    }
    const late = await connectClient(fixture.server);
    clients.push(late);
    expect(await late.request('room:join', { room: 'full', name: 'D' })).toMatchObject({
      ok: false,
      error: { code: 'room_full' },
    });
    await clients[0]!.request('room:leave', {});
    expect(await late.request('room:join', { room: 'full', name: 'D' })).toMatchObject({ ok: true });
  });

  it('refuses a second join on the same connection', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    expect(await ann.client.request('room:join', { room: 'other', name: 'Ann' })).toMatchObject({
      ok: false,
      error: { code: 'already_in_room' },
    });
  });

  it('keeps the seat of a dropped user within the grace period and resumes it (a page reload)', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    const bob = track(await joinedClient(fixture.server, 'r', 'Bob'));
    await ann.client.next('presence', (p) => p.change === 'joined');
    bob.client.socket.io.engine.close(); // the transport drops, as when a page reloads or a network blips

    const reloaded = await connectClient(fixture.server);
    clients.push(reloaded);
    const resumed = await reloaded.request('session:resume', { sessionToken: bob.session.sessionToken });
    expect(resumed).toMatchObject({
      ok: true,
      self: bob.session.self,
      room: { users: [{ name: 'Ann' }, { name: 'Bob' }] },
    });

    // Well past the grace period, nobody was told Bob left.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(ann.client.pending('presence')).toEqual([]);
  });

  it('removes a dropped user after the grace period, and their token expires', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    const bob = track(await joinedClient(fixture.server, 'r', 'Bob'));
    bob.client.socket.io.engine.close();
    expect(await ann.client.next('presence', (p) => p.change === 'left', 3000)).toMatchObject({
      user: { id: bob.session.self.id },
    });
    const late = await connectClient(fixture.server);
    clients.push(late);
    expect(await late.request('session:resume', { sessionToken: bob.session.sessionToken })).toMatchObject({
      ok: false,
      error: { code: 'session_expired' },
    });
  });

  it('removes a user at once when the client disconnects on purpose (a closed tab)', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    const bob = track(await joinedClient(fixture.server, 'r', 'Bob'));
    const start = Date.now();
    bob.client.close();
    await ann.client.next('presence', (p) => p.change === 'left');
    expect(Date.now() - start).toBeLessThan(400);
  });

  it('hands the user to the newest connection when the same session resumes twice', async () => {
    const ann = track(await joinedClient(fixture.server, 'r', 'Ann'));
    const second = await connectClient(fixture.server);
    clients.push(second);
    const disconnected = new Promise((resolve) => ann.client.socket.once('disconnect', resolve));
    expect(await second.request('session:resume', { sessionToken: ann.session.sessionToken })).toMatchObject({
      ok: true,
    });
    await disconnected; // the older connection no longer speaks for Ann
    const bob = track(await joinedClient(fixture.server, 'r', 'Bob'));
    expect(bob.session.room.users.map((u) => u.name)).toEqual(['Ann', 'Bob']);
    expect(await second.next('presence')).toMatchObject({ change: 'joined', user: { name: 'Bob' } });
  });

  it('refuses calls and relay before joining', async () => {
    const stranger = await connectClient(fixture.server);
    clients.push(stranger);
    const id = 'a'.repeat(22);
    expect(await stranger.request('call:invite', { to: id })).toMatchObject({
      error: { code: 'not_in_room' },
    });
    expect(await stranger.request('room:leave', {})).toMatchObject({ error: { code: 'not_in_room' } });
    const signal = { callId: id, to: id, data: { kind: 'candidate' as const, candidate: null } };
    expect(await stranger.request('signal', signal)).toMatchObject({ error: { code: 'not_in_room' } });
  });
});
