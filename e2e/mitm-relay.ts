/**
 * A malicious signaling relay, for the verification test: what a signaling server that wants to
 * listen in could do. It sits on the callee's Socket.IO connection (between the callee's page and
 * the real server, through Playwright's WebSocket routing) and never lets the two browsers see
 * each other's descriptions. Instead a third browser page, the man in the middle, holds two peer
 * connections of its own: one answers the caller (posing as the callee), the other calls the
 * callee (posing as the caller), and it bridges audio, video and Duet's control channel between
 * them. Both calls connect, media and chat flow, DTLS checks out on each leg (each leg really
 * talks to the certificate its description names), and nothing but the short authentication
 * string can tell: each browser derives it from its own certificate and the man in the middle's.
 *
 * (Rewriting the `a=fingerprint` lines alone would not do: DTLS would then fail, and the call with
 * it, which is no attack a person needs to detect.)
 */
import type { Browser, Page } from '@playwright/test';
import type { SignalData } from '@duet/protocol';

/** A leg of the man in the middle: `caller` faces the real caller, `callee` the real callee. */
type Leg = 'caller' | 'callee';

interface SignalFrame {
  callId: string;
  from?: string;
  to?: string;
  data: SignalData;
}

const SIGNAL_PREFIX = '42["signal",';

function parseSignal(message: string | Buffer): SignalFrame | null {
  if (typeof message !== 'string' || !message.startsWith(SIGNAL_PREFIX)) {
    return null;
  }
  const [, payload] = JSON.parse(message.slice(2)) as [string, SignalFrame];
  return payload;
}

const frame = (payload: SignalFrame): string => `42${JSON.stringify(['signal', payload])}`;

/** Runs in the man in the middle's page: two peer connections bridged to each other. */
function installMiddle(control: { label: string; id: number }): void {
  type Out = (leg: 'caller' | 'callee', data: unknown) => void;
  const out = (window as unknown as { mitmOut: Out }).mitmOut;
  const legs = {
    caller: new RTCPeerConnection(),
    callee: new RTCPeerConnection(),
  };
  const epochs: { caller?: string; callee?: string } = {};
  const queues = { caller: Promise.resolve(), callee: Promise.resolve() };
  const channels = {
    caller: legs.caller.createDataChannel(control.label, { negotiated: true, id: control.id }),
    callee: legs.callee.createDataChannel(control.label, { negotiated: true, id: control.id }),
  };
  // Duet's control channel, bridged as it is (hello, acks, chat, media state all pass through).
  for (const [from, to] of [
    ['caller', 'callee'],
    ['callee', 'caller'],
  ] as const) {
    const pending: Array<string | ArrayBuffer> = [];
    channels[from].binaryType = 'arraybuffer';
    channels[from].onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (channels[to].readyState === 'open') {
        channels[to].send(event.data as string);
      } else {
        pending.push(event.data);
      }
    };
    channels[to].addEventListener('open', () => {
      for (const data of pending.splice(0)) {
        channels[to].send(data as string);
      }
    });
  }
  for (const leg of ['caller', 'callee'] as const) {
    legs[leg].onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) {
        out(leg, {
          kind: 'candidate',
          candidate: {
            candidate: candidate.candidate,
            sdpMid: candidate.sdpMid,
            sdpMLineIndex: candidate.sdpMLineIndex,
            usernameFragment: candidate.usernameFragment,
          },
          ...(epochs[leg] ? { epoch: epochs[leg] } : {}),
        });
      }
    };
  }
  const sendDescription = (leg: 'caller' | 'callee') => {
    const local = legs[leg].localDescription!;
    out(leg, {
      kind: 'description',
      description: { type: local.type, sdp: local.sdp },
      ...(epochs[leg] ? { epoch: epochs[leg] } : {}),
    });
  };
  /** The callee leg calls the real callee with the media the caller leg receives. */
  const startCalleeLeg = async () => {
    for (const kind of ['audio', 'video'] as const) {
      legs.callee.addTransceiver(kind, { direction: 'sendrecv' });
    }
    await legs.callee.setLocalDescription();
    sendDescription('callee');
  };
  const transceiver = (leg: 'caller' | 'callee', kind: string) =>
    legs[leg].getTransceivers().find((t) => t.receiver.track.kind === kind);

  (window as unknown as { mitmIn: (leg: 'caller' | 'callee', data: SignalData) => void }).mitmIn = (
    leg,
    data,
  ) => {
    queues[leg] = queues[leg].then(async () => {
      if (data.kind === 'candidate') {
        if (data.candidate) {
          await legs[leg].addIceCandidate(data.candidate).catch(() => undefined);
        }
        return;
      }
      if (data.kind !== 'description') {
        return;
      }
      const pc = legs[leg];
      await pc.setRemoteDescription(data.description);
      if (data.description.type !== 'offer') {
        return;
      }
      // The real caller's offer: answer it, and (the first time) call the real callee in its name.
      const first = epochs.caller === undefined && leg === 'caller';
      if (data.epoch) {
        epochs.caller = data.epoch;
        epochs.callee = data.epoch;
      }
      if (first) {
        await startCalleeLeg();
      }
      for (const kind of ['audio', 'video']) {
        const mine = transceiver('caller', kind);
        const theirs = transceiver('callee', kind);
        if (mine && theirs) {
          mine.direction = 'sendrecv';
          await mine.sender.replaceTrack(theirs.receiver.track);
          await theirs.sender.replaceTrack(mine.receiver.track);
        }
      }
      await pc.setLocalDescription();
      sendDescription(leg);
    });
  };
}

/** The man in the middle between the caller and a callee whose page was routed with `intercept`. */
export interface MitmRelay {
  /** Route the callee's Socket.IO connection through the relay (a `beforeJoin` for the fixture). */
  intercept(page: Page): Promise<void>;
  /** How many descriptions the man in the middle answered or offered in each name (for the test's log). */
  readonly forged: { caller: number; callee: number };
  /**
   * Step into the middle from the caller's next offer on (a relay started with `active: false`
   * passes everything through until then): what a server could do to a running call, once a new
   * peer connection is negotiated.
   */
  activate(): void;
  close(): Promise<void>;
}

/**
 * Start the man in the middle in a page of `browser` (on the Duet server, a secure context), and
 * return the relay to put on the callee's connection.
 */
export async function startMitmRelay(
  browser: Browser,
  baseURL: string,
  options: { active?: boolean } = {},
): Promise<MitmRelay> {
  let active = options.active ?? true;
  const context = await browser.newContext();
  const middle = await context.newPage();
  await middle.goto(`${baseURL}/healthz`);
  let route: {
    toServer: (message: string) => void;
    toCallee: (message: string) => void;
  } | null = null;
  let call: { callId: string; caller: string } | null = null;
  /** What the caller leg says to the real caller waits until the call is accepted (the server refuses it before). */
  let calleeSpoke = false;
  const toCallerHeld: SignalData[] = [];
  const forged = { caller: 0, callee: 0 };

  const toCaller = (data: SignalData) => {
    if (!route || !call) {
      return;
    }
    route.toServer(frame({ callId: call.callId, to: call.caller, data }));
  };
  await middle.exposeFunction('mitmOut', (leg: Leg, data: SignalData) => {
    if (data.kind === 'description') {
      forged[leg]++;
    }
    if (leg === 'callee') {
      // To the real callee, as if the server relayed it from the caller.
      if (route && call) {
        route.toCallee(frame({ callId: call.callId, from: call.caller, data }));
      }
    } else if (calleeSpoke) {
      toCaller(data);
    } else {
      toCallerHeld.push(data);
    }
  });
  await middle.evaluate(installMiddle, { label: 'duet', id: 0 });

  /** Whether the man in the middle has taken over the call's descriptions and candidates. */
  let intercepting = false;
  let inbound: Promise<unknown> = Promise.resolve();
  const feed = (leg: Leg, data: SignalData) => {
    inbound = inbound.then(() =>
      middle.evaluate(
        ({ leg: l, data: d }) => {
          (window as unknown as { mitmIn: (leg: Leg, data: SignalData) => void }).mitmIn(l, d);
        },
        { leg, data },
      ),
    );
  };

  return {
    forged,
    activate() {
      active = true;
    },
    async intercept(page) {
      await page.routeWebSocket(/\/socket\.io\//, (ws) => {
        const server = ws.connectToServer();
        route = { toServer: (m) => server.send(m), toCallee: (m) => ws.send(m) };
        // Server → callee: the caller's descriptions and candidates go to the man in the middle.
        server.onMessage((message) => {
          const signal = parseSignal(message);
          if (signal?.from) {
            call = { callId: signal.callId, caller: signal.from };
          }
          // Once active, from the caller's next offer: a candidate still in flight for the honest
          // connection goes on to the callee as it was.
          const offer = signal?.data.kind === 'description' && signal.data.description.type === 'offer';
          if (active && !intercepting && offer) {
            intercepting = true;
          }
          if (
            signal &&
            intercepting &&
            (signal.data.kind === 'description' || signal.data.kind === 'candidate')
          ) {
            feed('caller', signal.data);
            return;
          }
          ws.send(message);
        });
        // Callee → server: its answer and candidates go to the man in the middle too.
        ws.onMessage((message) => {
          const signal = parseSignal(message);
          if (
            signal &&
            intercepting &&
            (signal.data.kind === 'description' || signal.data.kind === 'candidate')
          ) {
            if (!calleeSpoke) {
              calleeSpoke = true;
              for (const data of toCallerHeld.splice(0)) {
                toCaller(data);
              }
            }
            feed('callee', signal.data);
            return;
          }
          server.send(message);
        });
      });
    },
    async close() {
      await context.close();
    },
  };
}
