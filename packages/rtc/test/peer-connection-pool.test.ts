import { describe, expect, it } from 'vitest';
import { PeerConnectionPool, sameConfiguration } from '../src/call/peer-connection-pool.js';

/** The ring-time spare connection: made once per configuration, used only for that configuration. */

class FakeConnection {
  signalingState: RTCSignalingState = 'stable';
  constructor(readonly configuration: RTCConfiguration) {}
  close(): void {
    this.signalingState = 'closed';
  }
}

function pool() {
  const made: FakeConnection[] = [];
  const connections = new PeerConnectionPool((configuration) => {
    const connection = new FakeConnection(configuration);
    made.push(connection);
    return connection as unknown as RTCPeerConnection;
  });
  return { connections, made };
}

const turn = (credential: string): RTCConfiguration => ({
  bundlePolicy: 'max-bundle',
  iceTransportPolicy: 'all',
  iceServers: [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential }],
});

describe('PeerConnectionPool', () => {
  it('hands the spare to a call with the same configuration, made while ringing', () => {
    const { connections, made } = pool();
    connections.prepare(turn('a'));
    connections.prepare({ ...turn('a') }); // the same, as another object: no second connection
    expect(made).toHaveLength(1);
    expect(connections.create(turn('a'))).toBe(made[0]);
    expect(connections.ready).toBe(false);
  });

  it('closes a spare made for other credentials and makes a fitting one', () => {
    const { connections, made } = pool();
    connections.prepare(turn('a'));
    const used = connections.create(turn('b')) as unknown as FakeConnection;
    expect(made).toHaveLength(2);
    expect(made[0]?.signalingState).toBe('closed');
    expect(used.configuration).toEqual(turn('b'));
  });

  it('closes the spare when the ringing ends without a call', () => {
    const { connections, made } = pool();
    connections.prepare(turn('a'));
    connections.discard();
    expect(made[0]?.signalingState).toBe('closed');
    expect(connections.ready).toBe(false);
  });

  it('compares configurations field by field, urls as a string or a list', () => {
    expect(
      sameConfiguration({ iceServers: [{ urls: 'stun:x' }] }, { iceServers: [{ urls: ['stun:x'] }] }),
    ).toBe(true);
    expect(sameConfiguration(turn('a'), { ...turn('a'), iceTransportPolicy: 'relay' })).toBe(false);
    expect(sameConfiguration(turn('a'), { ...turn('a'), iceServers: [] })).toBe(false);
    expect(sameConfiguration({}, { iceServers: [] })).toBe(true);
  });

  it('tells configurations with another certificate apart (a spare made before the kept one loaded)', () => {
    const kept = { expires: 1 } as unknown as RTCCertificate;
    const other = { expires: 1 } as unknown as RTCCertificate;
    expect(sameConfiguration({ certificates: [kept] }, { certificates: [kept] })).toBe(true);
    expect(sameConfiguration({}, { certificates: [kept] })).toBe(false);
    expect(sameConfiguration({ certificates: [other] }, { certificates: [kept] })).toBe(false);
  });
});
