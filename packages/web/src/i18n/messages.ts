import type { DuetErrorReason, MediaErrorReason, TransferError } from '@duet/rtc';
import en from './locales/en.json';
import zhCN from './locales/zh-CN.json';

/*
 * The messages live in `locales/*.json` (see `locales/README.md`) so that @intlify/unplugin-vue-i18n
 * compiles them at build time: the app ships vue-i18n without its message compiler. This module gives
 * them their types and checks them; `tsc` fails here when a locale or a list of reasons drifts.
 *
 * In the app bundle each message is its compiled form, not the string the types describe: show
 * messages through `t()`, and read these objects only for their keys.
 */

/** The message shape every locale implements: English, the source of truth, with string leaves. */
export type Messages = DeepStringLeaves<typeof en>;
type DeepStringLeaves<T> = { [K in keyof T]: T[K] extends string ? string : DeepStringLeaves<T[K]> };

/** Every message key as a dotted path (`'notices.busy'`), so code cannot name a missing message. */
export type MessageKey = Leaves<typeof en>;
type Leaves<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Leaves<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

/** Compiles only if `T` is `never`; a failure names what is left over. */
type None<T extends never> = T;

/** Compile-time checks only (nothing uses this type). */
export type MessageChecks = [
  // zh-CN has exactly the English keys: these name a key one locale has and the other lacks.
  None<Exclude<MessageKey, Leaves<typeof zhCN>>>,
  None<Exclude<Leaves<typeof zhCN>, MessageKey>>,
  // One message per reason, no more and no fewer.
  // `transferErrors`: why a transfer failed, shown with the transfer; `transferFailed`: the same as a
  // notice that names the file.
  None<Exclude<TransferError, keyof Messages['transferErrors']>>,
  None<Exclude<keyof Messages['transferErrors'], TransferError>>,
  None<Exclude<TransferError, keyof Messages['transferFailed']>>,
  None<Exclude<keyof Messages['transferFailed'], TransferError>>,
  // `errors`: the fallback whenever no more specific message applies, one per protocol error code
  // (packages/protocol/src/errors.ts), media and connection failure reason.
  None<Exclude<DuetErrorReason, keyof Messages['errors']>>,
  None<Exclude<keyof Messages['errors'], DuetErrorReason>>,
  // `mediaHints`: what to do about a media failure, shown under the local preview.
  None<Exclude<MediaErrorReason, keyof Messages['mediaHints']>>,
  None<Exclude<keyof Messages['mediaHints'], MediaErrorReason>>,
];

// Typed as `Messages`, which also fails on a message that is not a string.
const enMessages: Messages = en;
const zhCNMessages: Messages = zhCN;

export { enMessages as en, zhCNMessages as zhCN };
