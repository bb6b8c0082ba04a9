/*
 * The file-transfer hash worker: streaming SHA-256 for `createWorkerHasherFactory` (see
 * packages/rtc/src/files/worker-hasher.ts), off the thread that feeds the data channels. Bundled by Vite
 * as a module worker from `new URL('./hash-worker.ts', import.meta.url)`, and loaded once, lazily,
 * at the first transfer. It imports the worker module alone (a subpath export), not the package
 * index, whose zod schemas and socket.io-client the worker has no use for.
 */
import { serveHashWorker } from '@duet/rtc/worker-hasher';

serveHashWorker(self);
