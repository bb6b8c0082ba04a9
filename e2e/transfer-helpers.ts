/**
 * File-transfer helpers: random test files on disk (streamed, hashed as written, deleted after the
 * test), sending and answering through the UI, the app's transfer state and its history, downloads
 * hashed in Node, the receiving page's JS heap (Chrome DevTools Protocol), and the page's console.
 * In-page functions are serialized into the page, so they reference nothing outside themselves.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { TransferView } from '@duet/rtc';
import type { ConsoleMessage, Locator, Page } from '@playwright/test';
import { openChat } from './chat-helpers.js';
import { expect, test as base } from './fixtures.js';
import type { Person } from './person.js';

export { expect };

export const MiB = 1024 * 1024;

/** A transfer as the app's debug hook reports it (`snapshot.transfers`), without its Blobs. */
export interface TransferSummary extends Pick<
  TransferView,
  'id' | 'direction' | 'name' | 'size' | 'photo' | 'state' | 'bytes' | 'error' | 'cancelledBy' | 'sha256'
> {
  hasFile: boolean;
  hasImage: boolean;
}

/** One recorded state of a transfer: when (epoch ms, comparable across pages) and how far. */
export interface StateEntry {
  state: string;
  at: number;
  bytes: number;
}

// -------------------------------------------------------------------------------------------------
// Test files on disk
// -------------------------------------------------------------------------------------------------

export interface TestFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** A temporary directory for this test's files and downloads; removed after the test, pass or fail. */
export interface Scratch {
  readonly dir: string;
  /** `size` random bytes in `dir/name`, written in 1 MiB pieces (never whole in memory), hashed as written. */
  randomFile(name: string, size: number): Promise<TestFile>;
  /** A path in `dir` for a download. */
  path(name: string): string;
}

export const test = base.extend<{ scratch: Scratch }>({
  // eslint-disable-next-line no-empty-pattern
  scratch: async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'duet-e2e-'));
    try {
      await use({
        dir,
        path: (name) => join(dir, name),
        randomFile: async (name, size) => {
          const path = join(dir, name);
          const hash = createHash('sha256');
          const out = createWriteStream(path);
          for (let written = 0; written < size;) {
            const piece = randomBytes(Math.min(MiB, size - written));
            hash.update(piece);
            written += piece.length;
            if (!out.write(piece)) {
              await once(out, 'drain');
            }
          }
          out.end();
          await once(out, 'finish');
          return { path, name, size, sha256: hash.digest('hex') };
        },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

// -------------------------------------------------------------------------------------------------
// In the page
// -------------------------------------------------------------------------------------------------

/** The transfers the app holds (without their Blobs, which do not cross into the test). */
export function transferSummaries(): TransferSummary[] {
  return (window.__duet?.snapshot.transfers ?? []).map((t) => ({
    id: t.id,
    direction: t.direction,
    name: t.name,
    size: t.size,
    photo: t.photo,
    state: t.state,
    bytes: t.bytes,
    error: t.error,
    cancelledBy: t.cancelledBy,
    sha256: t.sha256,
    hasFile: t.file !== null,
    hasImage: t.image !== null,
  }));
}

/**
 * Start recording every state each transfer passes through, with the time (epoch ms) and its bytes,
 * from the app's `change` events: states that last a few milliseconds (paused) are seen too.
 */
export function recordTransferStates(): void {
  const w = window as Window & { __e2eTransferStates?: Record<string, StateEntry[]> };
  if (w.__e2eTransferStates) {
    return;
  }
  const duet = w.__duet!;
  const log: Record<string, StateEntry[]> = {};
  w.__e2eTransferStates = log;
  const record = (): void => {
    for (const t of duet.snapshot.transfers) {
      const entries = (log[t.id] ??= []);
      if (entries.at(-1)?.state !== t.state) {
        entries.push({ state: t.state, at: Date.now(), bytes: t.bytes });
      }
    }
  };
  record();
  duet.on('change', record);
}

export function transferStates(): Record<string, StateEntry[]> {
  return (
    (window as unknown as { __e2eTransferStates?: Record<string, StateEntry[]> }).__e2eTransferStates ?? {}
  );
}

// -------------------------------------------------------------------------------------------------
// From the test (Chromium)
// -------------------------------------------------------------------------------------------------

/** The app's view of the transfer called `name` on `person`'s side (bounded wait until it exists). */
export async function transferOf(person: Person, name: string): Promise<TransferSummary> {
  let found: TransferSummary | undefined;
  await expect
    .poll(
      async () => {
        found = (await person.evaluate(transferSummaries, undefined)).find((t) => t.name === name);
        return found !== undefined;
      },
      { message: `${person.name} has a transfer named ${JSON.stringify(name)}` },
    )
    .toBe(true);
  return found!;
}

/** The transfer's entry in the chat panel's list. */
export function transferItem(person: Person, name: string): Locator {
  return person.page
    .getByTestId('transfer')
    .filter({ has: person.page.locator('.transfer-name', { hasText: name }) });
}

/** Offer a file on disk (or an in-memory payload) through the chat's hidden file input. */
export async function sendFileThroughUi(
  person: Person,
  file: string | { name: string; mimeType: string; buffer: Buffer },
): Promise<void> {
  await openChat(person);
  await person.page.getByTestId('file-input').setInputFiles(file);
}

/** Accept (or decline) the offer of `name` with its button in the open chat. */
export async function answerOffer(person: Person, name: string, answer: 'Accept' | 'Decline'): Promise<void> {
  await openChat(person);
  await person.button(`${answer} ${name}`).click();
}

/** Wait (bounded) until `person`'s transfer `name` is in `state`; returns it. */
export async function expectTransferState(
  person: Person,
  name: string,
  state: string,
  timeout = 10_000,
): Promise<TransferSummary> {
  let last: TransferSummary | undefined;
  await expect
    .poll(
      async () => {
        last = (await person.evaluate(transferSummaries, undefined)).find((t) => t.name === name);
        return last ? `${last.state}${last.error ? ` (${last.error})` : ''}` : 'no such transfer';
      },
      { message: `${person.name}'s transfer ${name} reaches ${state}`, timeout, intervals: [100, 250, 500] },
    )
    .toBe(state);
  return last!;
}

/** States `person`'s transfer went through, from `recordTransferStates`. */
export async function stateHistory(person: Person, id: string): Promise<StateEntry[]> {
  return (await person.evaluate(transferStates, undefined))[id] ?? [];
}

/** Click "Download <name>", save the download to `path`, and return its SHA-256 and suggested name. */
export async function downloadAndHash(
  person: Person,
  name: string,
  path: string,
): Promise<{ sha256: string; suggestedFilename: string }> {
  const link = person.page.getByRole('link', { name: `Download ${name}`, exact: true });
  const [download] = await Promise.all([
    person.page.waitForEvent('download', { timeout: 60_000 }),
    link.click(),
  ]);
  await download.saveAs(path);
  const failure = await download.failure();
  if (failure) {
    throw new Error(`${person.name}'s download of ${name} failed: ${failure}`);
  }
  return { sha256: await sha256File(path), suggestedFilename: download.suggestedFilename() };
}

/** The full SHA-256 the UI shows for `name` (the `<details>` need not be open). */
export async function shownSha256(person: Person, name: string): Promise<string> {
  const code = transferItem(person, name).getByTestId('transfer-sha256');
  await expect(code).toHaveCount(1);
  return (await code.textContent())?.trim() ?? '';
}

// -------------------------------------------------------------------------------------------------
// Measuring
// -------------------------------------------------------------------------------------------------

/** Peaks of a page's memory over a sampling period. */
export interface HeapPeaks {
  /** The V8 heap in use (what `performance.memory.usedJSHeapSize` reports, here exact). */
  jsHeapBytes: number;
  /**
   * The V8 heap plus ArrayBuffer backing stores: received chunks live outside the V8 heap, so
   * this is the number that shows file bytes piling up in the page.
   */
  withBuffersBytes: number;
  /**
   * The same (V8 heap plus ArrayBuffers) for the page's dedicated workers, each one's peak, summed:
   * in Chromium a received file's bytes are kept in the file worker, not in the page.
   */
  workersWithBuffersBytes: number;
  samples: number;
}

/**
 * Samples a page's memory every `intervalMs` until stopped, through the DevTools Protocol
 * (`Runtime.getHeapUsage`: exact, unlike `performance.memory` without --enable-precise-memory-info,
 * and it reports the ArrayBuffer backing stores too).
 */
export async function sampleHeap(page: Page, intervalMs = 500): Promise<{ stop(): Promise<HeapPeaks> }> {
  const cdp = await page.context().newCDPSession(page);
  const peaks: HeapPeaks = { jsHeapBytes: 0, withBuffersBytes: 0, workersWithBuffersBytes: 0, samples: 0 };
  // The page's workers, through Target.sendMessageToTarget (a non-flattened session per worker):
  // each one's peak of heap plus ArrayBuffers.
  const workerPeaks = new Map<string, number>();
  const answers = new Map<number, (usage: { usedSize: number; backingStorageSize?: number }) => void>();
  let nextId = 1;
  cdp.on('Target.attachedToTarget', (event) => {
    if (event.targetInfo.type === 'worker') {
      workerPeaks.set(event.sessionId, 0);
    }
  });
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    const message = JSON.parse(event.message) as { id?: number; result?: { usedSize: number } };
    if (message.id !== undefined && message.result) {
      answers.get(message.id)?.(message.result);
      answers.delete(message.id);
    }
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const workerUsage = (sessionId: string): Promise<number> => {
    const id = nextId++;
    const answered = new Promise<number>((resolve) => {
      answers.set(id, (usage) => resolve(usage.usedSize + (usage.backingStorageSize ?? 0)));
      setTimeout(() => resolve(0), 2000); // a worker that is gone answers nothing
    });
    const message = JSON.stringify({ id, method: 'Runtime.getHeapUsage' });
    void cdp.send('Target.sendMessageToTarget', { sessionId, message }).catch(() => undefined);
    return answered;
  };
  // An object, not a `let`: the loop reads what stop() sets later.
  const control = { running: true };
  const read = async (): Promise<void> => {
    for (const sessionId of workerPeaks.keys()) {
      workerPeaks.set(sessionId, Math.max(workerPeaks.get(sessionId)!, await workerUsage(sessionId)));
    }
    peaks.workersWithBuffersBytes = [...workerPeaks.values()].reduce((sum, peak) => sum + peak, 0);
    const usage = (await cdp.send('Runtime.getHeapUsage')) as {
      usedSize: number;
      backingStorageSize?: number;
    };
    peaks.jsHeapBytes = Math.max(peaks.jsHeapBytes, usage.usedSize);
    peaks.withBuffersBytes = Math.max(
      peaks.withBuffersBytes,
      usage.usedSize + (usage.backingStorageSize ?? 0),
    );
    peaks.samples++;
  };
  const loop = (async () => {
    while (control.running) {
      await read();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      control.running = false;
      await loop;
      await read();
      await cdp.detach();
      return peaks;
    },
  };
}

/** Console messages (and page errors) of a page from now on, until `stop()`. */
export function watchConsole(page: Page): { messages: string[]; stop(): void } {
  const messages: string[] = [];
  const onConsole = (message: ConsoleMessage): void => {
    messages.push(`[${message.type()}] ${message.text()}`);
  };
  const onError = (error: Error): void => {
    messages.push(`[pageerror] ${error.message}`);
  };
  page.on('console', onConsole);
  page.on('pageerror', onError);
  return {
    messages,
    stop: () => {
      page.off('console', onConsole);
      page.off('pageerror', onError);
    },
  };
}

/** Print a metric as one JSON line (collected by whoever runs the suite). */
export function printMetric(metric: Record<string, unknown>): void {
  console.log(JSON.stringify(metric));
}
