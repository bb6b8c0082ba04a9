/**
 * The terminal peer `duet` (packages/cli, built) with a browser through the real UI: a data-only
 * call either way (chat and files, no video tiles), a 200 MiB file each way verified by SHA-256,
 * chat both ways, a declined call and a hang-up mid-transfer, each with the CLI's exit code.
 */
import { join } from 'node:path';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { expectPeerTexts, messageBox, openChat, typeAndSend } from './chat-helpers.js';
import type { Person } from './person.js';
import { TerminalPeer } from './terminal-peer.js';
import { chromiumVerifier } from './verify-helpers.js';
import {
  answerOffer,
  downloadAndHash,
  expect,
  MiB,
  sendFileThroughUi,
  sha256File,
  test,
} from './transfer-helpers.js';

const BIG = 200 * MiB;

/** The exit codes the CLI documents in --help (packages/cli/src/exit-codes.ts). */
const EXIT = { ok: 0, declined: 4, peerLeft: 5 } as const;

const peers: TerminalPeer[] = [];
function terminal(args: string[], baseURL: string): TerminalPeer {
  const peer = new TerminalPeer([...args, '--name', 'build-box'], baseURL);
  peers.push(peer);
  return peer;
}
test.afterEach(() => {
  for (const peer of peers.splice(0)) {
    peer.stop();
  }
});

/** The browser shows a data-only call: no video tiles, the chat open, no camera buttons. */
async function expectDataOnlyCall(person: Person): Promise<void> {
  await person.expectConnected();
  await expect(person.page.getByTestId('data-only-stage')).toContainText('build-box is on a terminal');
  await expect(person.remoteVideo).toHaveCount(0);
  await expect(person.page.getByRole('button', { name: 'Turn off camera' })).toHaveCount(0);
  await expect(messageBox(person)).toBeVisible();
}

test.describe('terminal peer', () => {
  test.setTimeout(240_000);

  test('the browser calls `duet receive` and sends it 200 MiB; hashes match', async ({
    join: joinRoom,
    room,
    server,
    scratch,
  }) => {
    const out = scratch.path('received');
    await mkdir(out);
    const cli = terminal(['receive', '--room', room, '--out', out, '--count', '1'], server.baseURL);
    await cli.next('waiting');
    const alice = await joinRoom('Alice');
    await expect(alice.entry('build-box').getByTestId('terminal-badge')).toHaveText('terminal');
    await alice.button('Chat and send files with build-box').click();
    await expectDataOnlyCall(alice);
    const file = await scratch.randomFile('big.bin', BIG);
    await sendFileThroughUi(alice, file.path);
    expect(await cli.exited).toBe(EXIT.ok);
    const done = await cli.next('file-done');
    expect(done).toMatchObject({ name: 'big.bin', size: BIG, sha256: file.sha256 });
    expect(await sha256File(join(out, 'big.bin'))).toBe(file.sha256);
    // The CLI hung up after its one file: Alice is back in the room.
    await alice.expectInRoom();
  });

  test('`duet send` calls the browser, which rings with the terminal hint and receives 200 MiB', async ({
    join: joinRoom,
    room,
    server,
    scratch,
  }) => {
    const alice = await joinRoom('Alice');
    const file = await scratch.randomFile('from-terminal.bin', BIG);
    const cli = terminal(['send', file.path, '--room', room], server.baseURL);
    await expect(alice.incomingDialog).toContainText('build-box wants to chat and send files');
    await expect(alice.incomingDialog.getByTestId('incoming-kind')).toHaveText(
      'From a terminal (duet) · chat and files, no video',
    );
    await alice.accept();
    await expectDataOnlyCall(alice);
    await answerOffer(alice, 'from-terminal.bin', 'Accept');
    // Once the file is verified the CLI hangs up; the browser keeps it among the last call's files.
    expect(await cli.exited).toBe(EXIT.ok);
    await alice.expectInRoom();
    const download = await downloadAndHash(alice, 'from-terminal.bin', scratch.path('download.bin'));
    expect(download.sha256).toBe(file.sha256);
    expect(await cli.next('file-done')).toMatchObject({ sha256: file.sha256 });
  });

  test('chat both ways between the browser and `duet chat`; the terminal prints the symbols the browser verifies', async ({
    join: joinRoom,
    room,
    server,
  }) => {
    const alice = await joinRoom('Alice');
    const cli = terminal(['chat', '--room', room], server.baseURL);
    // The terminal came second: it calls the browser.
    await expect(alice.incomingDialog).toContainText('build-box wants to chat and send files');
    await alice.accept();
    await expectDataOnlyCall(alice);
    await openChat(alice);
    await typeAndSend(alice, 'hello terminal', 'enter');
    expect(await cli.next('chat', (e) => e.from === 'peer')).toMatchObject({ text: 'hello terminal' });
    cli.child.stdin.write('hello browser 你好\n');
    await expectPeerTexts(alice, ['hello browser 你好']);
    const mine = await cli.next('chat', (e) => e.from === 'self');
    await cli.next('delivered', (e) => e.id === mine.id);
    // The terminal printed the six security symbols the browser shows under Verify.
    const printed = await cli.next('security-symbols');
    const verifier = chromiumVerifier(alice);
    await verifier.openVerify();
    expect(await verifier.symbols()).toEqual((printed.symbols as Array<{ en: string }>).map((s) => s.en));
    await verifier.press('They match');
    await verifier.expectMark('Verified');
    await verifier.press('Close');
    cli.child.stdin.end();
    expect(await cli.exited).toBe(EXIT.ok);
    await alice.expectInRoom();
  });

  test('the browser declines: `duet send` exits with the declined code', async ({
    join: joinRoom,
    room,
    server,
    scratch,
  }) => {
    const alice = await joinRoom('Alice');
    const path = scratch.path('note.txt');
    await writeFile(path, 'hi');
    const cli = terminal(['send', path, '--room', room], server.baseURL);
    await expect(alice.incomingDialog).toContainText('build-box wants to chat and send files');
    await alice.decline();
    expect(await cli.exited).toBe(EXIT.declined);
    expect(await cli.next('error')).toMatchObject({ message: 'the call was declined' });
    expect(await readFile(path, 'utf8')).toBe('hi');
  });

  test('the browser hangs up mid-transfer: `duet receive` reports it and exits peer-left', async ({
    join: joinRoom,
    room,
    server,
    scratch,
  }) => {
    const out = scratch.path('partial');
    await mkdir(out);
    const cli = terminal(['receive', '--room', room, '--out', out], server.baseURL);
    await cli.next('waiting');
    const alice = await joinRoom('Alice');
    await alice.button('Chat and send files with build-box').click();
    await expectDataOnlyCall(alice);
    const file = await scratch.randomFile('cut.bin', BIG);
    await sendFileThroughUi(alice, file.path);
    await cli.next('progress', (e) => typeof e.bytes === 'number' && e.bytes > 0);
    await alice.hangUp();
    expect(await cli.exited).toBe(EXIT.peerLeft);
    expect(await cli.next('call-ended')).toMatchObject({ outcome: 'hangup', by: 'remote' });
    expect(await cli.next('error')).toMatchObject({ message: 'the peer hung up before the end' });
    // Nothing half-received is left under the file's name.
    expect((await readdir(out)).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});
