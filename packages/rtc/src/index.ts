/**
 * @duet/rtc — Duet's framework-free call core. The UI uses `DuetClient`; the parts are exported for
 * tests and for other front ends (e.g. a terminal peer).
 */
export { DuetClient, type DuetClientOptions } from './client/duet-client.js';
export {
  SignalingClient,
  type SignalingClientOptions,
  type StorageLike,
  type RoomAccess,
} from './signaling/signaling-client.js';
export {
  CallSession,
  type CallSessionOptions,
  type PeerConnectionFactory,
  type SessionState,
} from './call/call-session.js';
export { transition, type CallEffect, type CallEvent, type CallState } from './call/call-state.js';
export { MediaController, mapMediaError } from './media/media-controller.js';
export { StatsSampler, summarizeStats } from './media/stats.js';
export { Emitter } from './emitter.js';
export { scopedLog, silentLog, type Log } from './logger.js';
export { CallLink, type CallLinkOptions, type LinkState } from './call/call-link.js';
export { Messenger, type MessengerState, type MessengerStats } from './data/messenger.js';
export { Chat, type ChatMessage, type ChatState } from './data/chat.js';
export { FileTransfers, FILE_TRANSFER_DEFAULTS, type FileTransfersOptions } from './files/file-transfers.js';
export { MemorySink, WritableSink, DEFAULT_MAX_IN_MEMORY_BYTES } from './files/sinks.js';
export { createSha256Hasher } from './files/hashing.js';
export {
  createWorkerHasherFactory,
  serveHashWorker,
  type HashWorkerLike,
  type HashWorkerScope,
  type HashRequest,
  type HashResponse,
  type WorkerHasherOptions,
} from './files/worker-hasher.js';
export { FileWorker, WorkerChannel, WorkerStore, type FileWorkerLike } from './files/worker-channels.js';
export { sanitizeFileName, sniffImageType } from './files/file-names.js';
export {
  canCancelTransfer,
  isMovingBytes,
  isTransferFinal,
  isTransferLive,
  showsProgress,
} from './files/transfer-states.js';
export { KeptFiles, type KeptFile, type ReceivedFileStore, type RestoredFiles } from './files/kept-files.js';
export {
  DuetError,
  type DuetErrorReason,
  type MediaErrorReason,
  type ConnectionErrorReason,
} from './errors.js';
export type * from './client/client-types.js';
export type { VerificationView } from './client/call-verification.js';
export { parseFingerprints } from './verify/fingerprints.js';
export { deriveSas, sasInput, SAS_ITERATIONS, SAS_LENGTH, type Sas } from './verify/sas.js';
export { SAS_SYMBOLS, type SasSymbol } from './verify/sas-emoji.js';
export type { VerificationStatus } from './verify/verification.js';
export type * from './media/media-types.js';
export type { QualityView, QualityBlame, QualityBody } from './client/call-quality.js';
export {
  QUALITY_MODES,
  VIDEO_STEPS,
  isQualityMode,
  type QualityMode,
  type LimitReason,
} from './media/quality-policy.js';
export type * from './files/transfer-types.js';
