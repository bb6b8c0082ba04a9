import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuetClient, type ClientSnapshot, type FileSink, type Hasher } from '@duet/rtc';
import type { DuetServer } from '@duet/server';
import { createNodeHasher, createNodePeerConnection, EXIT } from '../src/index.js';
import { duet, DuetProcess, randomFile, startServer, tempDir } from './support.js';

/*
 * Every exit status of `duet`, each provoked for real: a closed port, a peer that declines, one
 * that vanishes, one whose hash disagrees, Ctrl-C. The peers that misbehave are in-process Duet
 * clients on the same stack as the CLI (libdatachannel), steered through the core's public API.
 */

let server: DuetServer;
let room = 0;
const nextRoom = () => `codes-${process.pid}-${++room}`;
const peers: DuetClient[] = [];

beforeAll(async () => {
  server = await startServer({ reconnectGraceMs: 500, ringTimeoutMs: 3000 });
});
afterAll(async () => {
  DuetProcess.killAll();
  for (const peer of peers) {
    peer.dispose();
  }
  await server.close();
});

/** An in-process terminal peer in `roomName`. */
async function peer(roomName: string, options: { createHasher?: () => Hasher } = {}): Promise<DuetClient> {
  const client = new DuetClient({
    url: server.url(),
    createPeerConnection: createNodePeerConnection,
    createHasher: options.createHasher ?? createNodeHasher,
    agent: 'terminal',
  });
  peers.push(client);
  await client.join(roomName, 'in-process');
  return client;
}

function until(
  client: DuetClient,
  ready: (s: ClientSnapshot) => boolean,
  timeoutMs = 30_000,
): Promise<ClientSnapshot> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
    const check = (s: ClientSnapshot) => {
      if (ready(s)) {
        clearTimeout(timer);
        off();
        resolve(s);
      }
    };
    const off = client.on('change', check);
    check(client.snapshot);
  });
}

/** A SHA-256 that reports a wrong digest, as a damaged file would produce on one side. */
function lyingHasher(): Hasher {
  const real = createNodeHasher();
  return {
    update: (chunk) => real.update(chunk),
    digest: async () => (await real.digest()).replace(/^./, (c) => (c === '0' ? '1' : '0')),
  };
}

/** Memory, for the in-process receiver. */
function nullSink(): FileSink {
  return { write: async () => {}, close: async () => null, abort: async () => {} };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// Each test spawns the CLI from source (tsx): several seconds each on a loaded 2-core machine.
describe('duet exit codes', { timeout: 90_000 }, () => {
  const file = join(tempDir('codes'), 'small.txt');
  writeFileSync(file, 'a small file\n');

  it('2: bad arguments, with the reason on stderr', async () => {
    const child = new DuetProcess(['send', '/nonexistent/file', '--room', 'x']);
    expect(await child.exited).toBe(EXIT.usage);
    expect(child.stderr).toMatch(/no such file/);
  });

  it('3: the server cannot be reached', async () => {
    const port = await freePort();
    const child = new DuetProcess([
      'send',
      file,
      '--room',
      'x',
      '--server',
      `http://127.0.0.1:${port}`,
      '--json',
    ]);
    expect(await child.exited).toBe(EXIT.unreachable);
    expect(await child.next('error')).toMatchObject({ message: expect.stringMatching(/cannot reach/) });
    expect(await child.next('exit')).toEqual({
      event: 'exit',
      code: EXIT.unreachable,
      reason: 'unreachable',
    });
  });

  it('7: nobody comes within --wait', async () => {
    const child = duet(server, ['receive', '--room', nextRoom(), '--wait', '1', '--out', tempDir('wait')]);
    expect(await child.exited).toBe(EXIT.noAnswer);
  });

  it('4: the call is declined', async () => {
    const name = nextRoom();
    const decliner = await peer(name);
    const sender = duet(server, ['send', file, '--room', name]);
    await until(decliner, (s) => s.call?.phase === 'incoming');
    expect(decliner.snapshot.call?.peer.agent).toBe('terminal');
    expect(decliner.snapshot.call?.media).toEqual({ audio: false, video: false });
    await decliner.decline();
    expect(await sender.exited).toBe(EXIT.declined);
    expect(await sender.next('error')).toMatchObject({ message: 'the call was declined' });
  });

  it('4: a file is declined', async () => {
    const name = nextRoom();
    const receiver = await peer(name);
    const sender = duet(server, ['send', file, '--room', name]);
    await until(receiver, (s) => s.call?.phase === 'incoming');
    await receiver.accept();
    const offered = await until(receiver, (s) => s.transfers.some((t) => t.state === 'offered'));
    receiver.files.decline(offered.transfers[0]!.id);
    expect(await sender.exited).toBe(EXIT.declined);
    expect(await sender.next('file-failed')).toMatchObject({ name: 'small.txt', reason: 'declined' });
  });

  it('6: the receiver reports a hash mismatch (send side)', async () => {
    const name = nextRoom();
    const receiver = await peer(name, { createHasher: lyingHasher });
    const sender = duet(server, ['send', file, '--room', name]);
    await until(receiver, (s) => s.call?.phase === 'incoming');
    await receiver.accept();
    const offered = await until(receiver, (s) => s.transfers.some((t) => t.state === 'offered'));
    await receiver.files.accept(offered.transfers[0]!.id, nullSink());
    expect(await sender.exited).toBe(EXIT.hashMismatch);
    expect(await sender.next('file-failed')).toMatchObject({ reason: 'hash_mismatch' });
  });

  it('6: the file that arrives does not match the hash the sender gave (receive side), and is not kept', async () => {
    const name = nextRoom();
    const out = tempDir('mismatch');
    const receiver = duet(server, ['receive', '--room', name, '--out', out, '--count', '1']);
    await receiver.next('waiting');
    const sender = await peer(name, { createHasher: lyingHasher });
    await until(sender, (s) => (s.room?.users.length ?? 0) === 2);
    const other = sender.snapshot.room!.users.find((u) => u.id !== sender.snapshot.self!.id)!;
    expect(other.agent).toBe('terminal');
    await sender.call(other.id, { audio: false, video: false });
    await until(sender, (s) => s.dataChannelOpen);
    sender.files.send(new Blob(['some bytes']), 'bad.txt');
    expect(await receiver.exited).toBe(EXIT.hashMismatch);
    expect(await receiver.next('file-failed')).toMatchObject({ name: 'bad.txt', reason: 'hash_mismatch' });
    expect(readdirSync(out)).toEqual([]);
  });

  it('5: the peer vanishes mid-transfer; 130: Ctrl-C cancels and tells the peer', async () => {
    const dir = tempDir('left');
    const source = join(dir, 'left.bin');
    await randomFile(source, 64 * 1024 * 1024);

    // The receiver is killed outright: the sender learns it from the server (peer left).
    let name = nextRoom();
    let receiver = duet(server, ['receive', '--room', name, '--out', tempDir('left-out')]);
    await receiver.next('waiting');
    let sender = duet(server, ['send', source, '--room', name]);
    await receiver.next('progress', (e) => e.bytes > 0);
    receiver.kill('SIGKILL');
    expect(await sender.exited).toBe(EXIT.peerLeft);

    // Ctrl-C on the sender: it exits 130, the receiver is told (cancelled) and reports the peer left.
    name = nextRoom();
    receiver = duet(server, ['receive', '--room', name, '--out', tempDir('int-out')]);
    await receiver.next('waiting');
    sender = duet(server, ['send', source, '--room', name]);
    await receiver.next('progress', (e) => e.bytes > 0);
    sender.kill('SIGINT');
    expect(await sender.exited).toBe(EXIT.interrupted);
    expect(await sender.next('exit')).toEqual({
      event: 'exit',
      code: EXIT.interrupted,
      reason: 'interrupted',
    });
    expect(await receiver.exited).toBe(EXIT.peerLeft);
    expect(await receiver.next('call-ended')).toEqual({
      event: 'call-ended',
      outcome: 'hangup',
      by: 'remote',
    });
  }, 180_000);
});
