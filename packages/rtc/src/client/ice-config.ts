import type { Log } from '../logger.js';

/*
 * The ICE servers and policy of this tab's calls, and the refresh of their TURN credentials. Why
 * its own module: credentials expire while people stay in a room or a call for hours, so someone
 * must refresh them on a timer and hand them to the running connection; that is one job, apart
 * from the call.
 */

export interface IceConfigOptions {
  /** Ask the server for fresh credentials (the signaling client's `ice:refresh`). */
  refresh: () => Promise<{ iceServers: RTCIceServer[]; iceServersExpireAt: number | null }>;
  /** New servers for the running call (its peer connection's next gathering uses them). */
  onChange: (iceServers: RTCIceServer[]) => void;
  /** Overrides the server's policy, e.g. `relay` to test a TURN deployment. */
  forcedPolicy?: RTCIceTransportPolicy;
  log: Log;
}

/** A refresh that failed is tried again after this long (with the old credentials meanwhile). */
const RETRY_MS = 60_000;
/** Never refresh more often than this, whatever the server says. */
const MIN_DELAY_MS = 5000;

export class IceConfig {
  private iceServers: RTCIceServer[] = [];
  private policy: RTCIceTransportPolicy = 'all';
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: IceConfigOptions) {}

  /**
   * The configuration a call's peer connection gets now. One transport for audio, video and data
   * from the start: every peer Duet runs in bundles, and without `max-bundle` each m-line gathers,
   * trickles and checks candidates of its own until the answer says bundle (three times the ICE
   * work while the call is being set up).
   */
  configuration(): RTCConfiguration {
    return {
      bundlePolicy: 'max-bundle',
      iceServers: this.iceServers,
      iceTransportPolicy: this.options.forcedPolicy ?? this.policy,
    };
  }

  /** How many ICE servers there are (for diagnostics: never the credentials). */
  get serverCount(): number {
    return this.iceServers.length;
  }

  /**
   * Take the servers a session (or a refresh) gave, and refresh at 80 % of their lifetime, so an
   * ICE restart late in a long call still authenticates.
   */
  adopt(iceServers: RTCIceServer[], expiresAt: number | null, policy?: RTCIceTransportPolicy): void {
    this.iceServers = iceServers;
    if (policy) {
      this.policy = policy;
    }
    this.options.onChange(iceServers);
    clearTimeout(this.timer);
    if (expiresAt === null) {
      return;
    }
    const delay = Math.max(MIN_DELAY_MS, (expiresAt - Date.now()) * 0.8);
    this.timer = setTimeout(() => {
      this.options.refresh().then(
        (fresh) => this.adopt(fresh.iceServers, fresh.iceServersExpireAt),
        (error: unknown) => {
          this.options.log('TURN credential refresh failed; retrying', error);
          this.adopt(this.iceServers, Date.now() + RETRY_MS);
        },
      );
    }, delay);
  }

  /** Out of the room: no more refreshes. */
  stop(): void {
    clearTimeout(this.timer);
  }
}
