/**
 * @duet/protocol — Duet's wire contract: the Socket.IO events between browser and signaling server,
 * their zod schemas (parsed on every receive, on both sides), error codes and limits. No I/O.
 * The prose version of this contract is docs/protocol.md.
 */
export * from './version.js';
export * from './limits.js';
export * from './errors.js';
export * from './result.js';
export * from './normalize.js';
export * from './schemas.js';
export * from './events.js';
