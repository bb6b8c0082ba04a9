/**
 * @duet/protocol — Duet's wire contract: the Socket.IO events between browser and signaling server,
 * their zod schemas (parsed on every receive, on both sides), error codes and limits. No I/O.
 * The prose version of this contract is docs/protocol.md.
 */
import { z } from 'zod';

// In a browser page, zod's faster parsers are compiled with `new Function`, which a strict
// Content-Security-Policy (script-src 'self') forbids: zod's probe for it is itself a CSP violation
// report on every page load. Browsers parse little; the server keeps the compiled parsers. The same
// in a worker (the file worker checks the frames it gets), which has no `document`.
if (typeof document !== 'undefined' || 'WorkerGlobalScope' in globalThis) {
  z.config({ jitless: true });
}

export * from './version.js';
export * from './limits.js';
export * from './errors.js';
export * from './result.js';
export * from './normalize.js';
export * from './schemas.js';
export * from './events.js';
export * from './frames.js';
