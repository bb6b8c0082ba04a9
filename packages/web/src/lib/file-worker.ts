/*
 * The file worker: file channels and received files off the main thread (see
 * packages/rtc/src/files/file-worker.ts for what it does and why). Bundled by Vite as a module worker
 * from `new URL('./file-worker.ts', import.meta.url)` and started once, at load, so it is ready by
 * the first transfer. It imports the worker module alone (a subpath export), not the package index.
 */
import { serveFileWorker } from '@duet/rtc/file-worker';

serveFileWorker(self);
