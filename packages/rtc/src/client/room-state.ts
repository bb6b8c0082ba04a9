import type { Knock, PublicUser, RoomSettings, RoomSnapshot } from '@duet/protocol';

/*
 * The room as this tab sees it, kept current from presence events. A pure reducer: the server
 * sends changes one person at a time, and the same rules (who joined, who left, who changed) are
 * then testable without a server.
 */

export interface RoomView {
  self: PublicUser | null;
  room: RoomSnapshot | null;
}

export interface PresenceChange {
  change: 'joined' | 'left' | 'updated';
  user: PublicUser;
}

/** The room after one presence event; a change before we have a room is ignored. */
export function applyPresence(view: RoomView, { change, user }: PresenceChange): RoomView {
  const { room } = view;
  if (!room) {
    return view;
  }
  const index = room.users.findIndex((u) => u.id === user.id);
  let users: PublicUser[];
  if (change === 'left') {
    users = room.users.filter((u) => u.id !== user.id);
  } else if (index >= 0) {
    users = room.users.map((u) => (u.id === user.id ? user : u));
  } else {
    users = [...room.users, user];
  }
  const self = view.self?.id === user.id && change !== 'left' ? user : view.self;
  return { self, room: { ...room, users } };
}

/** Whether the user should hear of this change (someone else came or went, not a state update). */
export function isArrivalOrDeparture(view: RoomView, { change, user }: PresenceChange): boolean {
  return change !== 'updated' && user.id !== view.self?.id;
}

/** The room after its settings changed (lobby, lock). */
export function applySettings(view: RoomView, settings: RoomSettings): RoomView {
  return view.room ? { ...view, room: { ...view.room, settings } } : view;
}

/** The room with a knock added (`knock`) or gone (`ended`: its id). */
export function applyKnock(view: RoomView, change: { knock: Knock } | { ended: string }): RoomView {
  const { room } = view;
  if (!room) {
    return view;
  }
  const others = room.knocks.filter(
    (k) => k.knockId !== ('knock' in change ? change.knock.knockId : change.ended),
  );
  const knocks = 'knock' in change ? [...others, change.knock] : others;
  return { ...view, room: { ...room, knocks } };
}
