import type { Sas } from './sas.js';

/*
 * Whether this call is verified, as a pure transition(state, event) -> { state, effects }:
 *
 *   pending --derived--> unverified | verified (the peer's certificate was verified in an earlier call)
 *   unverified --confirm(match)--> verified          --confirm(no match)--> mismatch
 *   verified | mismatch --derived (another string)--> changed   (told to the user; verify again)
 *   changed --confirm--> verified | mismatch
 *
 * "derived" comes for every running peer connection of the call (the first, one after an ICE
 * restart or renegotiation, a rebuilt one); the same string again changes nothing.
 */

export type VerificationStatus = 'pending' | 'unverified' | 'verified' | 'mismatch' | 'changed';

export interface VerificationState {
  status: VerificationStatus;
  /** The current connection's string (null until the first connection is up). */
  sas: Sas | null;
  /** The peer's certificate fingerprint(s) on the current connection. */
  remoteFingerprint: string | null;
  /** When the peer's current certificate was verified (now, or in an earlier call); null if not. */
  verifiedAt: number | null;
  /** Verified in an earlier call: this call's "verified" rests on that (key continuity). */
  verifiedBefore: boolean;
  /**
   * The peer's name had other verified certificates here, not this one: another device or browser
   * (or cleared site data). Neutral news: the string still has to be compared.
   */
  newDevice: boolean;
}

export type VerificationEvent =
  | {
      type: 'derived';
      sas: Sas;
      remoteFingerprint: string;
      /** When this certificate of the peer was verified before, if it was. */
      knownSince: number | null;
      /** The peer's name is known with other certificates only. */
      otherDevices: boolean;
    }
  | { type: 'confirm'; match: boolean; at: number };

export type VerificationEffect =
  /** Remember the peer's certificate as verified (key continuity). */
  | { type: 'remember'; remoteFingerprint: string; at: number }
  /** The string changed after the user had compared it: say so. */
  | { type: 'announce-change' };

export const INITIAL_VERIFICATION: VerificationState = {
  status: 'pending',
  sas: null,
  remoteFingerprint: null,
  verifiedAt: null,
  verifiedBefore: false,
  newDevice: false,
};

export function transitionVerification(
  state: VerificationState,
  event: VerificationEvent,
): { state: VerificationState; effects: VerificationEffect[] } {
  switch (event.type) {
    case 'derived': {
      if (state.sas?.code === event.sas.code && state.remoteFingerprint === event.remoteFingerprint) {
        return { state, effects: [] };
      }
      const compared =
        state.status === 'verified' || state.status === 'mismatch' || state.status === 'changed';
      const next: VerificationState = {
        sas: event.sas,
        remoteFingerprint: event.remoteFingerprint,
        newDevice: event.knownSince === null && event.otherDevices,
        verifiedBefore: event.knownSince !== null,
        verifiedAt: event.knownSince,
        status: event.knownSince !== null ? 'verified' : compared ? 'changed' : 'unverified',
      };
      // A known certificate again after a rebuilt connection is no news; anything else after a
      // comparison is.
      const news = compared && state.sas !== null && !(next.verifiedBefore && state.status === 'verified');
      return { state: next, effects: news ? [{ type: 'announce-change' }] : [] };
    }
    case 'confirm': {
      if (!state.sas || !state.remoteFingerprint) {
        return { state, effects: [] };
      }
      if (!event.match) {
        return {
          state: { ...state, status: 'mismatch', verifiedAt: null, verifiedBefore: false },
          effects: [],
        };
      }
      return {
        state: {
          ...state,
          status: 'verified',
          verifiedAt: event.at,
          verifiedBefore: false,
          newDevice: false,
        },
        effects: [{ type: 'remember', remoteFingerprint: state.remoteFingerprint, at: event.at }],
      };
    }
  }
}
