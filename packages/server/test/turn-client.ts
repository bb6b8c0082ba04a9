/**
 * A small TURN client for tests (RFC 8489 STUN, RFC 8656 TURN, RFC 6156 IPv6 allocations): Allocate
 * with long-term credentials, CreatePermission, Send and Data indications. Just enough to ask a real
 * coturn what it permits; it speaks over any datagram link (a socket inside a test namespace).
 *
 * CreatePermission sends nothing to the peer (the server only records the permission), so a table
 * of permission attempts toward forbidden or public addresses never puts a packet on their way.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Datagram } from './netns-support.js';

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;

export const Method = { allocate: 0x003, createPermission: 0x008, send: 0x006, data: 0x007 } as const;
const Class = { request: 0x000, indication: 0x010, success: 0x100, error: 0x110 } as const;

export const Attr = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020,
  fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
}

export interface TransportAddress {
  address: string;
  port: number;
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/** An IPv4 or IPv6 address (including `::ffff:1.2.3.4` forms) as 4 or 16 bytes. */
export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) {
    return Buffer.from(address.split('.').map(Number));
  }
  if (!isIPv6(address)) {
    throw new Error(`not an IP address: ${address}`);
  }
  let text = address;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const v4 = addressBytes(embedded[1]!);
    text = `${text.slice(0, embedded.index)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) {
    return [...bytes].join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(bytes.readUInt16BE(i).toString(16));
  }
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** XOR-MAPPED-ADDRESS style encoding (also XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS). */
export function encodeXorAddress(target: TransportAddress, transactionId: Buffer): Buffer {
  const raw = addressBytes(target.address);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const value = Buffer.alloc(4 + raw.length);
  value.writeUInt8(raw.length === 4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(target.port ^ (MAGIC_COOKIE >>> 16), 2);
  for (let i = 0; i < raw.length; i++) {
    value[4 + i] = raw[i]! ^ mask[i]!;
  }
  return value;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  const length = value.readUInt8(1) === 0x01 ? 4 : 16;
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
  const raw = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    raw[i] = value[4 + i]! ^ mask[i]!;
  }
  return { address: formatAddress(raw), port: value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16) };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

function messageType(method: number, cls: number): number {
  // The class bits sit at positions 4 and 8, between the method's bits (RFC 8489 §5).
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | cls;
}

function attributeBytes({ type, value }: StunAttribute): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function header(type: number, bodyLength: number, transactionId: Buffer): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeUInt16BE(type, 0);
  bytes.writeUInt16BE(bodyLength, 2);
  bytes.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(bytes, 8);
  return bytes;
}

/**
 * Encode a message; with `integrityKey`, append MESSAGE-INTEGRITY (HMAC-SHA1 over the message with
 * the length already counting that attribute), then always FINGERPRINT (CRC-32 xor 0x5354554e).
 */
export function encodeStun(
  method: number,
  cls: number,
  transactionId: Buffer,
  attributes: StunAttribute[],
  integrityKey?: Buffer,
): Buffer {
  const type = messageType(method, cls);
  let body = Buffer.concat(attributes.map(attributeBytes));
  if (integrityKey) {
    const signed = Buffer.concat([header(type, body.length + 24, transactionId), body]);
    const hmac = createHmac('sha1', integrityKey).update(signed).digest();
    body = Buffer.concat([body, attributeBytes({ type: Attr.messageIntegrity, value: hmac })]);
  }
  const beforeFingerprint = Buffer.concat([header(type, body.length + 8, transactionId), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(beforeFingerprint) ^ 0x5354554e) >>> 0);
  return Buffer.concat([beforeFingerprint, attributeBytes({ type: Attr.fingerprint, value: crc })]);
}

export function decodeStun(bytes: Buffer): StunMessage | null {
  if (bytes.length < HEADER_BYTES || bytes.readUInt32BE(4) !== MAGIC_COOKIE) {
    return null;
  }
  const type = bytes.readUInt16BE(0);
  const length = bytes.readUInt16BE(2);
  if (bytes.length < HEADER_BYTES + length) {
    return null;
  }
  const attributes: StunAttribute[] = [];
  for (let offset = HEADER_BYTES; offset + 4 <= HEADER_BYTES + length;) {
    const attrType = bytes.readUInt16BE(offset);
    const attrLength = bytes.readUInt16BE(offset + 2);
    attributes.push({ type: attrType, value: bytes.subarray(offset + 4, offset + 4 + attrLength) });
    offset += 4 + attrLength + ((4 - (attrLength % 4)) % 4);
  }
  return {
    method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
    cls: type & 0x0110,
    transactionId: bytes.subarray(8, 20),
    attributes,
  };
}

const attribute = (message: StunMessage, type: number): Buffer | undefined =>
  message.attributes.find((a) => a.type === type)?.value;

export interface StunError {
  code: number;
  reason: string;
}

function errorOf(message: StunMessage): StunError | null {
  const value = attribute(message, Attr.errorCode);
  if (!value) {
    return null;
  }
  return {
    code: (value.readUInt8(2) & 0x7) * 100 + value.readUInt8(3),
    reason: value.subarray(4).toString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/** The datagram link the client speaks over: a UDP socket (here: one inside a test namespace). */
export interface DatagramLink {
  send(data: Buffer, port: number, address: string): void;
  onMessage(listener: (datagram: Datagram) => void): void;
}

export type PermissionResult = { ok: true } | { ok: false; error: StunError };

const RETRANSMIT_MS = 500;
const ATTEMPTS = 6;

/** One TURN allocation's client: Allocate, CreatePermission, Send; Data indications to `onData`. */
export class TurnClient {
  private realm = '';
  private nonce = '';
  private key: Buffer | undefined;
  private readonly pending = new Map<string, (message: StunMessage) => void>();
  private readonly dataListeners: Array<(from: TransportAddress, data: Buffer) => void> = [];

  constructor(
    private readonly link: DatagramLink,
    private readonly server: TransportAddress,
    private readonly username: string,
    private readonly password: string,
  ) {
    link.onMessage(({ data }) => {
      const message = decodeStun(data);
      if (!message) {
        return;
      }
      if (message.method === Method.data && message.cls === Class.indication) {
        const peer = attribute(message, Attr.xorPeerAddress);
        const payload = attribute(message, Attr.data);
        if (peer && payload) {
          const from = decodeXorAddress(peer, message.transactionId);
          for (const listener of this.dataListeners) {
            listener(from, payload);
          }
        }
        return;
      }
      this.pending.get(message.transactionId.toString('hex'))?.(message);
    });
  }

  /** Allocate a UDP relay of the given family; resolves with the relayed transport address. */
  async allocate(family: 4 | 6): Promise<TransportAddress> {
    const attributes: StunAttribute[] = [
      { type: Attr.requestedTransport, value: Buffer.from([17, 0, 0, 0]) },
      { type: Attr.lifetime, value: Buffer.from([0, 0, 0x02, 0x58]) },
      ...(family === 6 ? [{ type: Attr.requestedAddressFamily, value: Buffer.from([0x02, 0, 0, 0]) }] : []),
    ];
    // The first request carries no credentials: the 401 answer names the realm and a nonce.
    const challenge = await this.transact(Method.allocate, attributes, false);
    const realm = attribute(challenge, Attr.realm);
    const nonce = attribute(challenge, Attr.nonce);
    if (errorOf(challenge)?.code !== 401 || !realm || !nonce) {
      throw new Error(`Allocate: expected a 401 challenge, got ${JSON.stringify(errorOf(challenge))}`);
    }
    this.realm = realm.toString();
    this.nonce = nonce.toString();
    this.key = createHash('md5').update(`${this.username}:${this.realm}:${this.password}`).digest();
    const answer = await this.authenticated(Method.allocate, attributes);
    const error = errorOf(answer);
    if (error) {
      throw new Error(`Allocate (IPv${family}) refused: ${error.code} ${error.reason}`);
    }
    const relayed = attribute(answer, Attr.xorRelayedAddress);
    if (!relayed) {
      throw new Error('Allocate: no XOR-RELAYED-ADDRESS in the answer');
    }
    return decodeXorAddress(relayed, answer.transactionId);
  }

  /** Ask for a permission toward `peer` (an IP address; the port is irrelevant to permissions). */
  async createPermission(peer: string): Promise<PermissionResult> {
    const transactionId = randomBytes(12);
    const answer = await this.authenticated(Method.createPermission, [], transactionId, (id) => [
      { type: Attr.xorPeerAddress, value: encodeXorAddress({ address: peer, port: 0 }, id) },
    ]);
    const error = errorOf(answer);
    return error ? { ok: false, error } : { ok: true };
  }

  /** A Send indication: the server relays `data` to `peer` from the allocation (if permitted). */
  send(peer: TransportAddress, data: Buffer): void {
    const transactionId = randomBytes(12);
    const message = encodeStun(Method.send, Class.indication, transactionId, [
      { type: Attr.xorPeerAddress, value: encodeXorAddress(peer, transactionId) },
      { type: Attr.data, value: data },
    ]);
    this.link.send(message, this.server.port, this.server.address);
  }

  onData(listener: (from: TransportAddress, data: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  /**
   * An authenticated request; a 438 (stale nonce) answer is retried once with the new nonce.
   * `extra` builds attributes that depend on the transaction id (XOR-encoded addresses).
   */
  private async authenticated(
    method: number,
    attributes: StunAttribute[],
    transactionId = randomBytes(12),
    extra: (id: Buffer) => StunAttribute[] = () => [],
  ): Promise<StunMessage> {
    for (let attempt = 0; ; attempt++) {
      const id = attempt === 0 ? transactionId : randomBytes(12);
      const answer = await this.transact(method, [...attributes, ...extra(id)], true, id);
      const nonce = attribute(answer, Attr.nonce);
      if (errorOf(answer)?.code === 438 && nonce && attempt === 0) {
        this.nonce = nonce.toString();
        continue;
      }
      return answer;
    }
  }

  /** Send a request, retransmitting every 500 ms, and resolve with the matching answer (bounded). */
  private transact(
    method: number,
    attributes: StunAttribute[],
    signed: boolean,
    transactionId = randomBytes(12),
  ): Promise<StunMessage> {
    const all = signed
      ? [
          ...attributes,
          { type: Attr.username, value: Buffer.from(this.username) },
          { type: Attr.realm, value: Buffer.from(this.realm) },
          { type: Attr.nonce, value: Buffer.from(this.nonce) },
        ]
      : attributes;
    const bytes = encodeStun(method, Class.request, transactionId, all, signed ? this.key : undefined);
    const id = transactionId.toString('hex');
    return new Promise((resolve, reject) => {
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= ATTEMPTS) {
          clearInterval(timer);
          this.pending.delete(id);
          reject(new Error(`no answer to STUN method 0x${method.toString(16)} after ${ATTEMPTS} tries`));
          return;
        }
        sent++;
        this.link.send(bytes, this.server.port, this.server.address);
      }, RETRANSMIT_MS);
      this.pending.set(id, (message) => {
        clearInterval(timer);
        this.pending.delete(id);
        resolve(message);
      });
      sent++;
      this.link.send(bytes, this.server.port, this.server.address);
    });
  }
}
