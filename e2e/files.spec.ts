/**
 * File transfer over data channels, through the UI (Chromium to Chromium): a 200 MiB random file
 * each way in one call, verified by SHA-256 of the download against the source and against what
 * both UIs show, with the receiver's JS heap and the throughput printed as JSON lines:
 *   {"metric":"receiver_peak_js_heap_mib","direction":"a->b","value":…}
 *   {"metric":"transfer_mb_per_s","direction":"a->b","value":…}   (MB = 10^6 bytes)
 * Then declining, cancelling from either side mid-transfer, a hostile file name, and "Take photo".
 */
import { createHash } from 'node:crypto';
import { openChat, startCall } from './chat-helpers.js';
import type { Person } from './person.js';
import {
  answerOffer,
  downloadAndHash,
  expect,
  expectTransferState,
  MiB,
  printMetric,
  recordTransferStates,
  sampleHeap,
  sendFileThroughUi,
  shownSha256,
  stateHistory,
  test,
  transferItem,
  transferOf,
  watchConsole,
  type HeapPeaks,
  type Scratch,
  type TestFile,
} from './transfer-helpers.js';

const BIG = 200 * MiB;
/** Large enough that a cancel lands mid-transfer, whatever else the machine runs meanwhile. */
const MEDIUM = 64 * MiB;
/**
 * The receiving page's memory must stay below this while 200 MiB arrive: the file goes into Blob
 * storage (outside the renderer's heap), so neither the JS heap nor its ArrayBuffers hold it.
 */
const HEAP_LIMIT_MIB = 150;

/** Alice and Bob join, Alice calls Bob, Bob accepts; both record transfer states and open the chat. */
async function callWithChatOpen(
  join: (name: string) => Promise<Person>,
): Promise<{ alice: Person; bob: Person }> {
  return test.step('Alice calls Bob, both open the chat', async () => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.expectListed('Bob', 'Free');
    await startCall(alice, bob);
    for (const person of [alice, bob]) {
      await person.evaluate(recordTransferStates, undefined);
      await openChat(person);
    }
    return { alice, bob };
  });
}

/** Console lines that betray a data-channel overflow or any error or warning of the app. */
function troubling(lines: string[]): string[] {
  return lines.filter(
    (line) =>
      /send queue is full/i.test(line) ||
      line.startsWith('[error]') ||
      line.startsWith('[pageerror]') ||
      line.includes('[duet:'),
  );
}

/**
 * `sender` offers `file` through the UI, `receiver` accepts; both reach done; the receiver's heap is
 * sampled throughout; the download, the source and both UIs agree on the SHA-256.
 */
async function sendBigFile(
  sender: Person,
  receiver: Person,
  file: TestFile,
  direction: string,
  scratch: Scratch,
): Promise<void> {
  const consoles = [watchConsole(sender.page), watchConsole(receiver.page)];

  await sendFileThroughUi(sender, file.path);
  const offered = await expectTransferState(receiver, file.name, 'offered');
  expect(offered).toMatchObject({ direction: 'receive', size: file.size, photo: false });
  await expectTransferState(sender, file.name, 'waiting');
  await expect(transferItem(receiver, file.name).getByTestId('transfer-status')).toHaveText(
    `${sender.name} wants to send you this file.`,
  );

  const heap = await sampleHeap(receiver.page);
  let peaks: HeapPeaks;
  try {
    await answerOffer(receiver, file.name, 'Accept');
    await expectTransferState(receiver, file.name, 'done', 120_000);
    await expectTransferState(sender, file.name, 'done', 10_000);
  } finally {
    peaks = await heap.stop();
    for (const watch of consoles) {
      watch.stop();
    }
  }

  const sent = await transferOf(sender, file.name);
  const received = await transferOf(receiver, file.name);
  expect(sent).toMatchObject({ state: 'done', bytes: file.size, sha256: file.sha256, error: null });
  expect(received).toMatchObject({ state: 'done', bytes: file.size, sha256: file.sha256, hasFile: true });
  // In Chromium the file channel moved into the sender's file worker, which sent every byte from
  // there (the page path, Firefox's, is covered by the interop specs and the unit tests).
  const workerSends = await sender.page.evaluate(() => window.__duet!.fileWorkerSends());
  expect(workerSends?.fileBytes ?? 0, "bytes the sender's file worker sent").toBeGreaterThanOrEqual(
    file.size,
  );

  // Neither side ever paused or failed: a channel that overflowed ("send queue is full") would have
  // closed and shown up as paused, even though the core does not log it to the console.
  const senderStates = (await stateHistory(sender, sent.id)).map((e) => e.state);
  const receiverStates = (await stateHistory(receiver, received.id)).map((e) => e.state);
  expect(senderStates.filter((s) => s !== 'verifying')).toEqual(['waiting', 'transferring', 'done']);
  expect(receiverStates.filter((s) => s !== 'verifying')).toEqual(['offered', 'transferring', 'done']);
  expect(troubling([...consoles[0]!.messages, ...consoles[1]!.messages])).toEqual([]);

  // Throughput: from the moment the sender learned of the accept (it starts sending) to the
  // receiver's verified file. Both pages stamp Date.now() on one machine's clock.
  const started = (await stateHistory(sender, sent.id)).find((e) => e.state === 'transferring')!.at;
  const finished = (await stateHistory(receiver, received.id)).find((e) => e.state === 'done')!.at;
  const seconds = (finished - started) / 1000;
  printMetric({
    metric: 'transfer_mb_per_s',
    direction,
    value: Number((file.size / 1e6 / seconds).toFixed(1)),
    bytes: file.size,
    seconds: Number(seconds.toFixed(2)),
  });
  const mib = (bytes: number): number => Number((bytes / MiB).toFixed(1));
  printMetric({
    metric: 'receiver_peak_js_heap_mib',
    direction,
    value: mib(peaks.jsHeapBytes),
    with_array_buffers_mib: mib(peaks.withBuffersBytes),
    workers_with_array_buffers_mib: mib(peaks.workersWithBuffersBytes),
    samples: peaks.samples,
  });
  expect(mib(peaks.jsHeapBytes), `${receiver.name}'s peak JS heap while receiving`).toBeLessThan(
    HEAP_LIMIT_MIB,
  );
  expect(
    mib(peaks.withBuffersBytes),
    `${receiver.name}'s peak JS heap plus ArrayBuffers while receiving`,
  ).toBeLessThan(HEAP_LIMIT_MIB);
  expect(
    mib(peaks.withBuffersBytes + peaks.workersWithBuffersBytes),
    `${receiver.name}'s page and workers: peak heap plus ArrayBuffers while receiving`,
  ).toBeLessThan(HEAP_LIMIT_MIB);

  const download = await downloadAndHash(receiver, file.name, scratch.path(`downloaded-${file.name}`));
  expect(download.suggestedFilename).toBe(file.name);
  expect(download.sha256, 'the downloaded file is the source file').toBe(file.sha256);
  expect(await shownSha256(receiver, file.name), "the receiver's UI shows the source's hash").toBe(
    file.sha256,
  );
  expect(await shownSha256(sender, file.name), "the sender's UI shows the source's hash").toBe(file.sha256);
  await expect(transferItem(sender, file.name).getByTestId('transfer-status')).toHaveText(
    `Sent. ${receiver.name} received it intact.`,
  );
  await expect(transferItem(receiver, file.name).getByTestId('transfer-status')).toHaveText(
    'Received and checked.',
  );
}

test('a 200 MiB file each way in one call arrives intact, with the receiving heap bounded', async ({
  join,
  scratch,
}) => {
  // Two 200 MiB transfers at the rates a busy two-core machine gives (4–6 MB/s seen): ~100 s.
  test.setTimeout(240_000);
  const { alice, bob } = await callWithChatOpen(join);
  await test.step('Alice → Bob', async () => {
    const file = await scratch.randomFile('alice-to-bob.bin', BIG);
    await sendBigFile(alice, bob, file, 'a->b', scratch);
  });
  await test.step('Bob → Alice', async () => {
    const file = await scratch.randomFile('bob-to-alice.bin', BIG);
    await sendBigFile(bob, alice, file, 'b->a', scratch);
  });
});

test('declining, and cancelling from either side mid-transfer', async ({ join, scratch }) => {
  test.setTimeout(90_000);
  const { alice, bob } = await callWithChatOpen(join);
  const noDownload = async (name: string): Promise<void> => {
    for (const person of [alice, bob]) {
      await expect(person.page.getByRole('link', { name: `Download ${name}` })).toHaveCount(0);
      await expect(transferItem(person, name).getByTestId('transfer-sha256')).toHaveCount(0);
      expect((await transferOf(person, name)).hasFile).toBe(false);
    }
  };

  await test.step('Bob declines: Alice sees it declined, nothing is transferred', async () => {
    await sendFileThroughUi(alice, {
      name: 'unwanted.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not for you'),
    });
    await expectTransferState(bob, 'unwanted.txt', 'offered');
    await answerOffer(bob, 'unwanted.txt', 'Decline');
    await expectTransferState(bob, 'unwanted.txt', 'declined');
    const sent = await expectTransferState(alice, 'unwanted.txt', 'declined');
    expect(sent.bytes).toBe(0);
    await expect(transferItem(alice, 'unwanted.txt').getByTestId('transfer-status')).toHaveText(
      'Bob declined.',
    );
    await expect(transferItem(bob, 'unwanted.txt').getByTestId('transfer-status')).toHaveText('Declined.');
    await expect(transferItem(bob, 'unwanted.txt')).toHaveAttribute('data-state', 'declined');
    await expect(bob.button('Accept unwanted.txt')).toHaveCount(0);
    await noDownload('unwanted.txt');
  });

  for (const canceller of ['sender', 'receiver'] as const) {
    await test.step(`the ${canceller} cancels mid-transfer: both end cancelled, no download`, async () => {
      const file = await scratch.randomFile(`cancelled-by-${canceller}.bin`, MEDIUM);
      await sendFileThroughUi(alice, file.path);
      await expectTransferState(bob, file.name, 'offered');
      await answerOffer(bob, file.name, 'Accept');
      // Mid-transfer: some bytes stored, most still to come.
      await expect
        .poll(async () => (await transferOf(bob, file.name)).bytes, {
          message: 'Bob has stored the first bytes',
          intervals: [50],
          timeout: 30_000,
        })
        .toBeGreaterThan(4 * MiB);
      const who = canceller === 'sender' ? alice : bob;
      await who.button(`Cancel ${file.name}`).click();

      const mine = await expectTransferState(who, file.name, 'cancelled');
      const other = await expectTransferState(who === alice ? bob : alice, file.name, 'cancelled');
      expect(mine.cancelledBy).toBe('self');
      expect(other.cancelledBy).toBe('peer');
      const stored = (await transferOf(bob, file.name)).bytes;
      expect(stored, 'cancelled before the end').toBeLessThan(file.size);
      await expect(transferItem(who, file.name).getByTestId('transfer-status')).toHaveText(
        'Cancelled by you.',
      );
      await expect(
        transferItem(who === alice ? bob : alice, file.name).getByTestId('transfer-status'),
      ).toHaveText(`Cancelled by ${who.name}.`);
      for (const person of [alice, bob]) {
        await expect(transferItem(person, file.name)).toHaveAttribute('data-state', 'cancelled');
        await expect(person.button(`Cancel ${file.name}`)).toHaveCount(0);
      }
      await noDownload(file.name);
    });
  }
});

test('a hostile file name arrives as a plain base name, shown literally; a photo shows a preview', async ({
  join,
  scratch,
}) => {
  const { alice, bob } = await callWithChatOpen(join);
  const dialogs: string[] = [];
  for (const person of [alice, bob]) {
    person.page.on('dialog', (dialog) => dialogs.push(dialog.message()));
  }

  await test.step('../../<img src=x onerror=alert(1)>.txt becomes a safe base name', async () => {
    const raw = '../../<img src=x onerror=alert(1)>.txt';
    // No directory, no angle brackets (Windows-forbidden characters become "_"): nothing to parse.
    const safe = '_img src=x onerror=alert(1)_.txt';
    const content = Buffer.from('harmless text\n');
    await sendFileThroughUi(alice, { name: raw, mimeType: 'text/plain', buffer: content });
    const offered = await expectTransferState(bob, safe, 'offered');
    expect(offered.name).not.toMatch(/[/\\<>]/);
    await expect(transferItem(bob, safe).locator('.transfer-name')).toHaveText(safe);
    await answerOffer(bob, safe, 'Accept');
    await expectTransferState(bob, safe, 'done');
    await expectTransferState(alice, safe, 'done');

    const link = bob.page.getByRole('link', { name: `Download ${safe}`, exact: true });
    await expect(link).toHaveAttribute('download', safe);
    const download = await downloadAndHash(bob, safe, scratch.path('hostile-name.txt'));
    expect(download.suggestedFilename).toBe(safe);
    expect(download.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    for (const person of [alice, bob]) {
      const found = await person.evaluate(
        () => ({
          images: document.querySelectorAll('[data-testid="transfer"] img').length,
          alerts: (window as unknown as { __xss?: unknown }).__xss,
        }),
        undefined,
      );
      expect(found, `${person.name}: the name made no element`).toEqual({ images: 0, alerts: undefined });
    }
    expect(dialogs).toEqual([]);
  });

  await test.step('"Take photo" sends a JPEG that Bob sees as a preview at once, without accepting it', async () => {
    await alice.button('Take photo').click();
    let name = '';
    await expect
      .poll(
        async () => {
          const offer = (await bob.evaluate(() => {
            return window.__duet!.snapshot.transfers.find((t) => t.photo) ?? null;
          }, undefined)) as { name: string } | null;
          name = offer?.name ?? '';
          return name;
        },
        { message: 'Bob gets a photo' },
      )
      .toMatch(/^photo-.+\.jpg$/);
    await expect(transferItem(bob, name).locator('.transfer-type')).toHaveText('Photo');
    // Like a picture in any messenger, it arrives without an Accept (still verified by its hash).
    const received = await expectTransferState(bob, name, 'done');
    expect(received).toMatchObject({ photo: true, hasImage: true });
    expect(received.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(bob.button(`Accept ${name}`)).toHaveCount(0);
    const preview = transferItem(bob, name).getByTestId('transfer-preview');
    await expect(preview).toBeVisible();
    // ...and saves like any file.
    await expect(bob.page.getByRole('link', { name: `Download ${name}`, exact: true })).toBeVisible();
    await expect(preview).toHaveAttribute('alt', name);
    const image = await preview.evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return { scheme: new URL(img.src).protocol, width: img.naturalWidth, height: img.naturalHeight };
    });
    expect(image.scheme).toBe('blob:');
    expect(image.width, 'the preview decodes to a picture').toBeGreaterThan(0);
    expect(image.height).toBeGreaterThan(0);
    // The bytes behind the preview (the page's CSP does not let fetch() read blob: URLs, so from the
    // app's Blob): a JPEG by its magic number, typed as one for the <img> only.
    const blob = await bob.evaluate(async (photoName) => {
      const t = window.__duet!.snapshot.transfers.find((x) => x.name === photoName);
      const head = new Uint8Array(await (t?.image ?? new Blob()).slice(0, 3).arrayBuffer());
      return { imageType: t?.image?.type, fileType: t?.file?.type, magic: Array.from(head) };
    }, name);
    expect(blob).toEqual({
      imageType: 'image/jpeg',
      fileType: 'application/octet-stream',
      magic: [0xff, 0xd8, 0xff],
    });
    // The sender sees no preview of its own photo, only the transfer.
    await expect(transferItem(alice, name).getByTestId('transfer-preview')).toHaveCount(0);
    await expectTransferState(alice, name, 'done');
  });
});
