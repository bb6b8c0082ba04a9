/**
 * Chat and file transfer survive broken paths:
 * - the peer connection dies mid-transfer (`window.__duet.dropConnection()`, on the sender, then on
 *   the receiver): the call rebuilds it, the transfer pauses and resumes from what the receiver
 *   stored, and re-sends at most 1 MiB; a chat message sent during the outage arrives exactly once;
 * - the signaling server is SIGKILLed during a call: chat and a file still go peer to peer; once it
 *   is back on the same port, both clients reconnect and the call, its media and chat carry on.
 * Prints {"metric":"resent_bytes","dropped_on":"sender"|"receiver","value":…} per resume test.
 */
import {
  chatTexts,
  chatStatuses,
  dataChannelOpen,
  expectAllDelivered,
  expectPeerTexts,
  messageTexts,
  openChat,
  startCall,
  typeAndSend,
} from './chat-helpers.js';
import type { OpenOptions } from './fixtures.js';
import type { Person } from './person.js';
import {
  answerOffer,
  downloadAndHash,
  expect,
  expectTransferState,
  MiB,
  printMetric,
  recordTransferStates,
  sendFileThroughUi,
  shownSha256,
  stateHistory,
  test,
  transferOf,
  type Scratch,
  type TestFile,
} from './transfer-helpers.js';

// -------------------------------------------------------------------------------------------------
// In the page
// -------------------------------------------------------------------------------------------------

interface ChannelSends {
  /** Binary bytes handed to RTCDataChannel.send() on file channels (`duet-file`) of this page. */
  fileBytes: number;
  /** The text frames on file channels: each channel's header `{v, transferId, offset}`. */
  headers: string[];
}

/**
 * Init script: count what this page writes to file channels. Nothing in TransferView or the engine
 * counts bytes handed to channels (`bytes` is what the receiver acknowledged), so the count is taken
 * where the bytes leave the page: RTCDataChannel.prototype.send, wrapped to count after the real
 * send returned (a send that throws wrote nothing). Behaviour is unchanged.
 */
function countFileChannelSends(): void {
  const sends: ChannelSends = { fileBytes: 0, headers: [] };
  (window as unknown as { __e2eChannelSends: ChannelSends }).__e2eChannelSends = sends;
  const send = Reflect.get(RTCDataChannel.prototype, 'send') as (this: RTCDataChannel, data: unknown) => void;
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: unknown): void {
    send.call(this, data);
    if (this.label !== 'duet-file') {
      return;
    }
    if (typeof data === 'string') {
      sends.headers.push(data);
    } else if (data instanceof Blob) {
      sends.fileBytes += data.size;
    } else {
      sends.fileBytes += (data as ArrayBuffer | ArrayBufferView).byteLength;
    }
  };
}

/**
 * What this page wrote to file channels, and what its file worker did (in Chromium the channels
 * move into the worker, which sends from there; the init script above only sees the page).
 */
async function channelSends(): Promise<ChannelSends | null> {
  const page = (window as unknown as { __e2eChannelSends?: ChannelSends }).__e2eChannelSends ?? null;
  if (!page) {
    return null;
  }
  const worker = await window.__duet!.fileWorkerSends();
  return {
    fileBytes: page.fileBytes + (worker?.fileBytes ?? 0),
    headers: [...page.headers, ...(worker?.headers ?? [])],
  };
}

interface DropRecord {
  /** This page's view of the transfer when it dropped the connection. */
  bytes: number;
  size: number;
}

/**
 * Once this side's transfer `name` has `fraction` of its bytes, drop the peer connection (as a dead
 * network would) and at once send the chat message `text`, into the outage.
 */
function dropConnectionAt(arg: { name: string; fraction: number; text: string }): void {
  const duet = window.__duet!;
  const record: { drop: DropRecord | null } = { drop: null };
  (window as unknown as { __e2eDrop: typeof record }).__e2eDrop = record;
  const off = duet.on('change', () => {
    const t = duet.snapshot.transfers.find((x) => x.name === arg.name);
    if (record.drop || !t || t.bytes < t.size * arg.fraction) {
      return;
    }
    record.drop = { bytes: t.bytes, size: t.size };
    off();
    // Outside the app's own event dispatch. The message goes out after the connection is closed.
    setTimeout(() => {
      duet.dropConnection();
      duet.chat.send(arg.text);
    }, 0);
  });
}

/**
 * The other side: the first time the app reports its data channel down (after it was up), send the
 * chat message `text`, into the outage.
 */
function chatWhenChannelDrops(text: string): void {
  const duet = window.__duet!;
  const record = { sentWhileOpen: null as boolean | null };
  (window as unknown as { __e2eOutageChat: typeof record }).__e2eOutageChat = record;
  let wasOpen = duet.snapshot.dataChannelOpen;
  const off = duet.on('change', () => {
    const open = duet.snapshot.dataChannelOpen;
    if (wasOpen && !open) {
      off();
      duet.chat.send(text);
      record.sentWhileOpen = duet.snapshot.dataChannelOpen;
    }
    wasOpen = open;
  });
}

function outageChat(): { sentWhileOpen: boolean | null } | null {
  return (
    (window as unknown as { __e2eOutageChat?: { sentWhileOpen: boolean | null } }).__e2eOutageChat ?? null
  );
}

function dropRecord(): DropRecord | null {
  return (window as unknown as { __e2eDrop?: { drop: DropRecord | null } }).__e2eDrop?.drop ?? null;
}

function callPhase(): string | null {
  return window.__duet!.snapshot.call?.phase ?? null;
}

function serverConnection(): string {
  return window.__duet!.snapshot.connection;
}

// -------------------------------------------------------------------------------------------------
// Shared steps
// -------------------------------------------------------------------------------------------------

/** Alice and Bob (file-channel sends counted) join; Alice calls Bob; both record transfers, open the chat. */
async function callWithChatOpen(
  join: (name: string, options?: OpenOptions) => Promise<Person>,
): Promise<{ alice: Person; bob: Person }> {
  return test.step('Alice calls Bob, both open the chat', async () => {
    const beforeJoin = (page: Person['page']): Promise<unknown> => page.addInitScript(countFileChannelSends);
    const alice = await join('Alice', { beforeJoin });
    const bob = await join('Bob', { beforeJoin });
    await alice.expectListed('Bob', 'Free');
    await startCall(alice, bob);
    for (const person of [alice, bob]) {
      await person.evaluate(recordTransferStates, undefined);
      await openChat(person);
    }
    return { alice, bob };
  });
}

/** The received file downloads intact and both UIs show the source's SHA-256. */
async function expectIntact(
  sender: Person,
  receiver: Person,
  file: TestFile,
  scratch: Scratch,
): Promise<void> {
  const download = await downloadAndHash(receiver, file.name, scratch.path(`downloaded-${file.name}`));
  expect(download.sha256, 'the downloaded file is the source file').toBe(file.sha256);
  expect(await shownSha256(receiver, file.name)).toBe(file.sha256);
  expect(await shownSha256(sender, file.name)).toBe(file.sha256);
}

// -------------------------------------------------------------------------------------------------
// (a) Resume after a dropped peer connection
// -------------------------------------------------------------------------------------------------

/**
 * The resumed file: the drop at 30% lands ~10 MiB in, ten times the 1 MiB the resume may send again
 * (a restart from zero would re-send all 10). Its size is not what is tested: 100 MiB tested the same
 * and spent most of each test moving the other 70 MiB.
 */
const RESUMED_FILE_BYTES = 32 * MiB;

for (const droppedOn of ['sender', 'receiver'] as const) {
  test(`a transfer resumes after the ${droppedOn} drops the peer connection at 30%; outage chat arrives once`, async ({
    join,
    scratch,
  }) => {
    test.setTimeout(150_000);
    const { alice, bob } = await callWithChatOpen(join);
    const [sender, receiver] = [alice, bob];
    const dropper = droppedOn === 'sender' ? sender : receiver;
    const other = dropper === alice ? bob : alice;
    const file = await scratch.randomFile(`resume-${droppedOn}.bin`, RESUMED_FILE_BYTES);
    const fromDropper = `sent during the outage by ${dropper.name}`;
    const fromOther = `sent during the outage by ${other.name}`;

    await test.step(`${dropper.name} drops the connection at 30%; the transfer pauses and completes`, async () => {
      await dropper.evaluate(dropConnectionAt, { name: file.name, fraction: 0.3, text: fromDropper });
      await other.evaluate(chatWhenChannelDrops, fromOther);
      await sendFileThroughUi(sender, file.path);
      await expectTransferState(receiver, file.name, 'offered');
      await answerOffer(receiver, file.name, 'Accept');
      await expect
        .poll(() => dropper.evaluate(dropRecord, undefined), {
          message: 'the connection was dropped',
          timeout: 60_000,
        })
        .not.toBeNull();
      await expectTransferState(receiver, file.name, 'done', 90_000);
      await expectTransferState(sender, file.name, 'done');
    });

    await test.step('both sides paused, then went on; the file is intact', async () => {
      const drop = (await dropper.evaluate(dropRecord, undefined))!;
      expect(drop.bytes / drop.size).toBeGreaterThanOrEqual(0.3);
      expect(drop.bytes / drop.size, 'dropped mid-transfer').toBeLessThan(0.9);
      for (const person of [sender, receiver]) {
        const t = await transferOf(person, file.name);
        const states = (await stateHistory(person, t.id)).map((e) => e.state);
        const paused = states.indexOf('paused');
        expect(paused, `${person.name}'s transfer paused (${states.join(' → ')})`).toBeGreaterThan(0);
        expect(states.slice(paused), `${person.name}'s transfer went on after the pause`).toContain(
          'transferring',
        );
        expect(states.at(-1)).toBe('done');
        expect(t).toMatchObject({ bytes: file.size, sha256: file.sha256, error: null });
      }
      await expectIntact(sender, receiver, file, scratch);
    });

    await test.step('at most 1 MiB was sent twice', async () => {
      // Everything the sender wrote to file channels, minus the file itself, is what it sent again.
      const sends = (await sender.evaluate(channelSends, undefined))!;
      const resent = sends.fileBytes - file.size;
      const offsets = sends.headers.map((h) => (JSON.parse(h) as { offset: number }).offset);
      printMetric({
        metric: 'resent_bytes',
        dropped_on: droppedOn,
        value: resent,
        dropped_at_bytes: (await dropper.evaluate(dropRecord, undefined))!.bytes,
        channel_offsets: offsets,
      });
      expect(offsets[0]).toBe(0);
      expect(offsets.length, 'a new channel after the drop').toBeGreaterThanOrEqual(2);
      expect(resent).toBeGreaterThanOrEqual(0);
      expect(resent, 're-sent bytes').toBeLessThanOrEqual(MiB);
    });

    await test.step('the messages sent into the outage arrived exactly once', async () => {
      expect(await other.evaluate(outageChat, undefined)).toEqual({ sentWhileOpen: false });
      await expectPeerTexts(other, [fromDropper]);
      await expectPeerTexts(dropper, [fromOther]);
      await expectAllDelivered(dropper, 1);
      await expectAllDelivered(other, 1);
      await expect(messageTexts(other, 'peer')).toHaveText([fromDropper]);
      await expect(messageTexts(dropper, 'peer')).toHaveText([fromOther]);
      for (const person of [alice, bob]) {
        expect(await person.evaluate(callPhase, undefined)).toBe('connected');
      }
    });
  });
}

// -------------------------------------------------------------------------------------------------
// (b) The signaling server dies during a call, and comes back
// -------------------------------------------------------------------------------------------------

test('the signaling server is killed mid-call: chat and files go on, the call survives its restart', async ({
  join,
  server,
  scratch,
}) => {
  test.setTimeout(120_000);
  const { alice, bob } = await callWithChatOpen(join);
  const banner = (person: Person) => person.page.getByText('Connection to the server lost. Reconnecting…');

  await test.step('SIGKILL the server: both clients see the connection to it lost', async () => {
    await server.kill();
    for (const person of [alice, bob]) {
      await expect
        .poll(() => person.evaluate(serverConnection, undefined), {
          message: `${person.name} notices`,
          timeout: 20_000,
        })
        .toBe('reconnecting');
      await expect(banner(person)).toBeVisible();
      // ...and that the call does not need it.
      await expect(person.page.getByTestId('banner-call-goes-on')).toHaveText(
        `Your call, chat and files keep working: they go straight to ${person === alice ? 'Bob' : 'Alice'}.`,
      );
      expect(await person.evaluate(callPhase, undefined)).toBe('connected');
    }
  });

  await test.step('with the server down, chat goes both ways', async () => {
    await typeAndSend(alice, 'Server is down, still there?', 'enter');
    await expect(messageTexts(bob, 'peer')).toHaveText(['Server is down, still there?']);
    await typeAndSend(bob, 'Yes, peer to peer.', 'button');
    await expect(messageTexts(alice, 'peer')).toHaveText(['Yes, peer to peer.']);
    await expectAllDelivered(alice, 1);
    await expectAllDelivered(bob, 1);
  });

  await test.step('with the server down, a mute shows on the other side (peer to peer)', async () => {
    await alice.button('Mute microphone').click();
    await expect(bob.page.getByTestId('remote-muted')).toBeVisible();
    await expect.poll(() => bob.remoteMedia()).toMatchObject({ microphone: false });
    await alice.button('Unmute microphone').click();
    await expect(bob.page.getByTestId('remote-muted')).toBeHidden();
    await expect.poll(() => bob.remoteMedia()).toMatchObject({ microphone: true });
  });

  await test.step('with the server down, a 20 MiB file arrives intact', async () => {
    const file = await scratch.randomFile('while-server-down.bin', 20 * MiB);
    await sendFileThroughUi(alice, file.path);
    await expectTransferState(bob, file.name, 'offered');
    await answerOffer(bob, file.name, 'Accept');
    await expectTransferState(bob, file.name, 'done', 60_000);
    await expectTransferState(alice, file.name, 'done');
    await expectIntact(alice, bob, file, scratch);
    // Still down: all of that happened without the server.
    for (const person of [alice, bob]) {
      expect(await person.evaluate(serverConnection, undefined)).toBe('reconnecting');
    }
  });

  await test.step('the server restarts on the same port: both reconnect, the call goes on', async () => {
    await server.restart();
    for (const person of [alice, bob]) {
      await expect
        .poll(() => person.evaluate(serverConnection, undefined), {
          message: `${person.name} reconnects to the server`,
          timeout: 20_000,
        })
        .toBe('connected');
      await expect(banner(person)).toBeHidden();
      expect(await person.evaluate(callPhase, undefined)).toBe('connected');
      await expect(person.callState).toHaveText('Connected');
      // One event, one notice (not also "Reconnected to the server.").
      await person.expectNotice('Reconnected. You are back in the room.');
      await expect(person.notices.filter({ hasText: 'Reconnected' })).toHaveCount(1);
    }
    await alice.expectRemoteMediaFlowing();
    await bob.expectRemoteMediaFlowing();
  });

  await test.step('after the restart, chat still goes both ways', async () => {
    await typeAndSend(bob, 'Server is back.', 'enter');
    await typeAndSend(alice, 'And we never hung up.', 'enter');
    await expectPeerTexts(alice, ['Yes, peer to peer.', 'Server is back.']);
    await expectPeerTexts(bob, ['Server is down, still there?', 'And we never hung up.']);
    await expectAllDelivered(alice, 2);
    await expectAllDelivered(bob, 2);
    expect(await alice.evaluate(chatTexts, 'self')).toEqual([
      'Server is down, still there?',
      'And we never hung up.',
    ]);
    expect(await bob.evaluate(chatStatuses, undefined)).toEqual(['delivered', 'delivered']);
    expect(await alice.evaluate(dataChannelOpen, undefined)).toBe(true);
  });
});
