import type { Server, Socket } from 'socket.io';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from '@duet/protocol';

export type DuetIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type DuetSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Socket.IO room that holds every socket speaking for one user (works across nodes with an adapter). */
export const userChannel = (userId: string): string => `user:${userId}`;
/** Socket.IO room that holds every member of a Duet room. */
export const roomChannel = (room: string): string => `room:${room}`;
/** Socket.IO room of the socket waiting on a knock, so the answer reaches it on whichever node. */
export const knockChannel = (knockId: string): string => `knock:${knockId}`;
