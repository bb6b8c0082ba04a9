import { openDB, type DBSchema } from 'idb';
import { createLogger } from './logger.js';

/*
 * This browser's DTLS certificate, kept in IndexedDB so that every call presents the same
 * fingerprint: a peer who verified this browser once sees "verified on …" in later calls instead
 * of comparing symbols again (key continuity, docs/protocol.md "Verified calls"). RTCCertificate is
 * structured-cloneable (Chromium, Firefox), so IndexedDB stores the object itself, private key
 * included but never readable by script. ECDSA P-256: what browsers make by default, and fast.
 */

interface KeysDb extends DBSchema {
  certificates: { key: string; value: RTCCertificate };
}

const DB_NAME = 'duet-keys';
const KEY = 'dtls';
/** Asked for; browsers may grant less (Firefox keeps its 30-day default). */
const LIFETIME_MS = 365 * 24 * 3600_000;
/**
 * Renewed this long before it expires: a peer connection refuses an expired certificate, and a
 * call can last hours after the page loaded it. A renewed certificate has a new fingerprint, which
 * peers are told about as a new device.
 */
const RENEW_BEFORE_MS = 7 * 24 * 3600_000;

const log = createLogger('certificate');

/** ECDSA key parameters, with the lifetime (`expires`, ms) that WebRTC's generateCertificate reads. */
type Generate = (algorithm: EcKeyGenParams & { expires?: number }) => Promise<RTCCertificate>;

/** Whether `certificate` can serve calls for a while yet. */
export function stillFresh(certificate: Pick<RTCCertificate, 'expires'>, now: number): boolean {
  return certificate.expires - now > RENEW_BEFORE_MS;
}

/**
 * The kept certificate, or a new one (kept for next time) when there is none or it is about to
 * expire. Null where the browser cannot make one; without IndexedDB (or with it failing) a new
 * certificate serves this page only.
 */
export async function keptCertificate(now = Date.now()): Promise<RTCCertificate | null> {
  if (
    typeof RTCPeerConnection === 'undefined' ||
    typeof RTCPeerConnection.generateCertificate !== 'function'
  ) {
    return null;
  }
  const generate: Generate = (algorithm) => RTCPeerConnection.generateCertificate(algorithm);
  try {
    const db = await openDB<KeysDb>(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore('certificates');
      },
    });
    const kept = await db.get('certificates', KEY);
    if (kept && stillFresh(kept, now)) {
      return kept;
    }
    const fresh = await generate({
      name: 'ECDSA',
      namedCurve: 'P-256',
      expires: LIFETIME_MS,
    });
    await db.put('certificates', fresh, KEY);
    return fresh;
  } catch (error) {
    log.warn('could not keep the DTLS certificate; this page uses a new one', error);
    try {
      return await generate({ name: 'ECDSA', namedCurve: 'P-256' });
    } catch {
      return null;
    }
  }
}

/**
 * What DuetClient's `certificates` option reads at each new peer connection: the kept certificate
 * once loaded (loading starts now, while the user picks a room). A connection made before it is
 * ready, or once it is about to expire, gets a fresh one from the browser, and a renewed one is
 * loaded for the next.
 */
export function keptCertificates(): () => RTCCertificate[] | undefined {
  let certificate: RTCCertificate | null = null;
  let loading: Promise<void> | null = null;
  const load = (): void => {
    loading ??= keptCertificate().then((loaded) => {
      certificate = loaded;
      loading = null;
    });
  };
  load();
  return () => {
    if (certificate && stillFresh(certificate, Date.now())) {
      return [certificate];
    }
    if (certificate) {
      load();
    }
    return undefined;
  };
}
