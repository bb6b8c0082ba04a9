import { Emitter } from '../emitter.js';
import type { Log } from '../logger.js';
import { fingerprintKey } from '../verify/fingerprints.js';
import type { KnownPeers } from '../verify/known-peers.js';
import { deriveSas, type Sas } from '../verify/sas.js';
import {
  INITIAL_VERIFICATION,
  transitionVerification,
  type VerificationEvent,
  type VerificationState,
  type VerificationStatus,
} from '../verify/verification.js';
import type { SasSymbol } from '../verify/sas-emoji.js';

/*
 * One call's verification, between the call link (which says which fingerprints the running
 * connection has) and the snapshot: derives the string for each set of fingerprints, runs the pure
 * machine (verify/verification.ts) and carries out its effects (remember the peer's certificate,
 * announce a changed string). Its own module so the client only forwards events to it.
 */

/** What the UI shows of the call's verification (`snapshot.verification`). */
export interface VerificationView {
  status: VerificationStatus;
  /** The six symbols to compare (null until the connection is up). */
  symbols: readonly SasSymbol[] | null;
  /** When the peer's certificate was verified: in this call, or in an earlier one (`verifiedBefore`). */
  verifiedAt: number | null;
  verifiedBefore: boolean;
  /** The peer's name was verified here before with another certificate (another device or browser). */
  newDevice: boolean;
}

export interface CallVerificationEvents extends Record<string, unknown> {
  change: undefined;
  /** The string changed after the user had compared it (the verified mark went). */
  changed: undefined;
}

export class CallVerification extends Emitter<CallVerificationEvents> {
  private state: VerificationState = INITIAL_VERIFICATION;
  /** Derivations are asynchronous: only the newest one's result counts. */
  private latest = 0;
  private disposed = false;

  constructor(
    private readonly peerName: () => string,
    private readonly known: KnownPeers,
    private readonly log: Log,
    private readonly derive: (caller: string[], callee: string[]) => Promise<Sas> = deriveSas,
  ) {
    super();
  }

  get view(): VerificationView {
    const s = this.state;
    return {
      status: s.status,
      symbols: s.sas?.symbols ?? null,
      verifiedAt: s.verifiedAt,
      verifiedBefore: s.verifiedBefore,
      newDevice: s.newDevice,
    };
  }

  /** The running connection's fingerprints (CallLink's `fingerprints` event). */
  async fingerprints(fingerprints: { caller: string[]; callee: string[] }, caller: boolean): Promise<void> {
    const { caller: callerPrints, callee: calleePrints } = fingerprints;
    if (callerPrints.length === 0 || calleePrints.length === 0) {
      this.log('a description without a certificate fingerprint: no string to compare');
      return;
    }
    const run = ++this.latest;
    let sas: Sas;
    try {
      sas = await this.derive(callerPrints, calleePrints);
    } catch (error) {
      this.log('could not derive the short authentication string', error);
      return;
    }
    if (run !== this.latest || this.disposed) {
      return;
    }
    const remoteFingerprint = fingerprintKey(caller ? calleePrints : callerPrints);
    // Said for every connection (also an unchanged string), never the string itself: diagnostics
    // and the tests can tell that a renegotiated connection was checked again.
    this.log(
      `string derived for the running connection: ${this.state.sas?.code === sas.code ? 'unchanged' : 'new'}`,
    );
    this.dispatch({
      type: 'derived',
      sas,
      remoteFingerprint,
      ...this.known.lookup(this.peerName(), remoteFingerprint),
    });
  }

  /** The user compared the strings: they match, or they do not. */
  confirm(match: boolean): void {
    this.dispatch({ type: 'confirm', match, at: Date.now() });
  }

  dispose(): void {
    this.disposed = true;
    this.removeAllListeners();
  }

  private dispatch(event: VerificationEvent): void {
    const { state, effects } = transitionVerification(this.state, event);
    if (state === this.state) {
      return;
    }
    this.state = state;
    for (const effect of effects) {
      if (effect.type === 'remember') {
        this.known.remember(this.peerName(), effect.remoteFingerprint, effect.at);
      } else {
        this.emit('changed', undefined);
      }
    }
    this.emit('change', undefined);
  }
}
