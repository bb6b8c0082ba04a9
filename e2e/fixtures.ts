import { randomBytes } from 'node:crypto';
import { test as base, chromium, expect, type Browser, type Page } from '@playwright/test';
import { CHROMIUM_DENYING_ARGS, CHROMIUM_PATH } from './browsers.js';
import type { Browser as PuppeteerBrowser } from 'puppeteer-core';
import { FirefoxPerson, launchFirefox } from './firefox.js';
import { fixCameraSize } from './media.js';
import { Person } from './person.js';
import { startServer, type RunningServer } from './server.js';

export { expect };

export interface OpenOptions {
  /** Default: the test's own room. */
  room?: string;
  /** Another Chromium (e.g. one that denies camera access); default: the test's browser. */
  browser?: Browser;
  viewport?: { width: number; height: number };
  /** Default true: wait until the room view shows. False: press Join and return (e.g. a full room). */
  expectJoined?: boolean;
  /**
   * Make the camera one that captures only this size (Chromium's fake camera otherwise delivers
   * whatever the app asks for, the same 1280x720 as the fake screen).
   */
  cameraSize?: { width: number; height: number };
  /** Runs on the new page before it loads the app (e.g. to route its WebSocket). */
  beforeJoin?: (page: Page) => Promise<unknown>;
}

interface TestFixtures {
  /** Server environment on top of DUET_LOG_LEVEL=info; override per file or describe with test.use. */
  serverEnv: Record<string, string>;
  /** The real, built server for this test. */
  server: RunningServer;
  /** A fresh room name for this test (room names are lower case). */
  room: string;
  /** Open Duet as `name` in a new browser context, join the room, and return them. */
  join: (name: string, options?: OpenOptions) => Promise<Person>;
  /** A second Chromium whose user refuses camera and microphone access (getUserMedia: NotAllowedError). */
  denyingBrowser: Browser;
  /** The same in Firefox ESR (a new browser context of the worker's Firefox). */
  joinFirefox: (name: string, options?: Pick<OpenOptions, 'room'>) => Promise<FirefoxPerson>;
}

interface WorkerFixtures {
  /** Firefox ESR through puppeteer-core (WebDriver BiDi), launched once per worker when first used. */
  firefox: PuppeteerBrowser;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  serverEnv: [{}, { option: true }],

  server: async ({ serverEnv }, use, testInfo) => {
    const server = await startServer(serverEnv);
    let unexpectedExit: string | null;
    try {
      await use(server);
    } finally {
      unexpectedExit = server.unexpectedExit();
      await server.stop();
      if (testInfo.status !== testInfo.expectedStatus || unexpectedExit) {
        await testInfo.attach('server.log', { body: server.log(), contentType: 'text/plain' });
      }
    }
    // Nothing in a test stops its server: a crash (or a stray kill from outside) must not pass unseen.
    if (unexpectedExit) {
      throw new Error(`the Duet server ${unexpectedExit} during the test`);
    }
  },

  // Playwright reads fixture dependencies from the first parameter's destructuring: `{}` is none.
  // eslint-disable-next-line no-empty-pattern
  room: async ({}, use) => {
    await use(`room-${randomBytes(4).toString('hex')}`);
  },

  join: async ({ browser, server, room }, use, testInfo) => {
    const people: Person[] = [];
    await use(async (name, options = {}) => {
      const context = await (options.browser ?? browser).newContext({
        viewport: options.viewport ?? { width: 1280, height: 800 },
        // The app picks its language from the browser's: the tests read the English texts.
        locale: 'en-US',
      });
      if (options.cameraSize) {
        await context.addInitScript(fixCameraSize, options.cameraSize);
      }
      const page = await context.newPage();
      const person = new Person(name, options.room ?? room, page, context);
      people.push(person);
      await options.beforeJoin?.(page);
      await person.submitJoin(server.baseURL);
      if (options.expectJoined !== false) {
        await person.expectInRoom();
      }
      return person;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const person of people) {
      if (failed) {
        if (!person.page.isClosed()) {
          await testInfo.attach(`${person.name}.png`, {
            body: await person.page.screenshot().catch(() => Buffer.alloc(0)),
            contentType: 'image/png',
          });
        }
        const log = person.consoleLog();
        await testInfo.attach(`${person.name}-console.txt`, { body: log, contentType: 'text/plain' });
        if (log) {
          console.log(`--- ${person.name}'s browser console ---\n${log}`);
        }
      }
      await person.context.close();
    }
  },

  joinFirefox: async ({ firefox, server, room }, use, testInfo) => {
    const people: FirefoxPerson[] = [];
    await use(async (name, options = {}) => {
      const context = await firefox.createBrowserContext();
      const page = await context.newPage();
      const person = new FirefoxPerson(name, options.room ?? room, page, context);
      people.push(person);
      await person.submitJoin(server.baseURL);
      await person.expectInRoom();
      return person;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const person of people) {
      if (failed) {
        const screenshot = await person.page.screenshot().catch(() => undefined);
        if (screenshot) {
          await testInfo.attach(`${person.name}-firefox.png`, {
            body: Buffer.from(screenshot),
            contentType: 'image/png',
          });
        }
        const log = person.consoleLog();
        await testInfo.attach(`${person.name}-firefox-console.txt`, { body: log, contentType: 'text/plain' });
        if (log) {
          console.log(`--- ${person.name}'s Firefox console ---\n${log}`);
        }
      }
      await person.context.close();
    }
  },

  // eslint-disable-next-line no-empty-pattern
  denyingBrowser: async ({}, use) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_DENYING_ARGS });
    try {
      await use(browser);
    } finally {
      await browser.close();
    }
  },

  firefox: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const browser = await launchFirefox();
      try {
        await use(browser);
      } finally {
        await browser.close();
      }
    },
    { scope: 'worker', timeout: 60_000 },
  ],
});
