import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 fingerprint to compare with the browser's certificate viewer (generated certificates). */
  fingerprint?: string;
  generated: boolean;
}

/**
 * TLS for the LAN: browsers only give cameras to secure origins, and `http://192.168.x.y` is not one.
 * With the operator's certificate and key we use those; otherwise a self-signed certificate for
 * localhost and this machine's addresses is made at start, kept in memory only and never written.
 */
export async function loadTls(options: { certPath?: string; keyPath?: string }): Promise<TlsMaterial> {
  if (options.certPath && options.keyPath) {
    const [cert, key] = await Promise.all([
      readFile(options.certPath, 'utf8'),
      readFile(options.keyPath, 'utf8'),
    ]);
    return { cert, key, generated: false };
  }
  const addresses = Object.values(networkInterfaces())
    .flat()
    .flatMap((info) => (info && !info.internal ? [info.address] : []));
  const pems = await generate([{ name: 'commonName', value: 'Duet (self-signed)' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          ...addresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert, fingerprint: pems.fingerprint, generated: true };
}
