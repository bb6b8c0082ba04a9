/** @duet/server — the Duet signaling server as a library (tests, embedding); `main.ts` is the CLI. */
export { startDuetServer, type DuetServer, type StartOptions } from './server.js';
export {
  loadConfig,
  parseConfig,
  ConfigError,
  ConfigSchema,
  CONFIG_OPTIONS,
  type ServerConfig,
  type ServerConfigInput,
} from './config.js';
export { MemoryStore } from './store/memory.js';
export type { Store, StoredCall, StoredUser } from './store/types.js';
export { createLogger, type Logger } from './logger.js';
