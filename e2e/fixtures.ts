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
  /**
   * The real, built server for this test: the one the previous test used when it had the same
   * `serverEnv` and passed (every test has a room of its own), else a fresh one. A server the test
   * stops, kills or restarts is not used again.
   */
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
  /** The worker's server between tests (see `server`). */
  servers: ServerReuse;
}

/**
 * Keeps the last test's server for the next test with the same environment: starting a server costs
 * about a second of a loaded machine per test, and nothing a test does to a server it leaves running
 * (a room of its own, its people gone) matters to the next one. Tests run one after another in a
 * worker, so "the last server" is all there is to keep.
 */
class ServerReuse {
  private kept: { env: string; server: RunningServer } | null = null;

  /** The kept server if it was started with `env`, else a new one (the kept one stopped first). */
  async take(env: Record<string, string>): Promise<RunningServer> {
    const key = JSON.stringify(env);
    const kept = this.kept;
    this.kept = null;
    if (kept?.env === key) {
      // Between two tests nothing may stop it: a crash there must not pass unseen either.
      const exit = kept.server.unexpectedExit();
      if (!exit) {
        return kept.server;
      }
      await kept.server.stop();
      throw new Error(`the Duet server ${exit} after the previous test\n${kept.server.log()}`);
    }
    await kept?.server.stop();
    return startServer(env);
  }

  /** Keep `server` (started with `env`) for the next test. */
  keep(env: Record<string, string>, server: RunningServer): void {
    this.kept = { env: JSON.stringify(env), server };
  }

  async stop(): Promise<void> {
    const kept = this.kept;
    this.kept = null;
    await kept?.server.stop();
  }
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  serverEnv: [{}, { option: true }],

  server: async ({ serverEnv, servers }, use, testInfo) => {
    const server = await servers.take(serverEnv);
    const logFrom = server.log().length;
    // Stopped, killed or restarted by the test: not handed to the next one. (An object, not a `let`:
    // the callbacks set it.)
    const touched = { lifecycle: false };
    let unexpectedExit: string | null;
    try {
      await use({
        ...server,
        stop: async () => {
          touched.lifecycle = true;
          await server.stop();
        },
        kill: async () => {
          touched.lifecycle = true;
          await server.kill();
        },
        restart: async () => {
          touched.lifecycle = true;
          await server.restart();
        },
      });
    } finally {
      unexpectedExit = server.unexpectedExit();
      const failed = testInfo.status !== testInfo.expectedStatus;
      if (failed || unexpectedExit) {
        await testInfo.attach('server.log', { body: server.log().slice(logFrom), contentType: 'text/plain' });
      }
      // After a failure the next test (or the retry) starts from a fresh server.
      if (!touched.lifecycle && !failed && !unexpectedExit) {
        servers.keep(serverEnv, server);
      } else {
        await server.stop();
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

  servers: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const servers = new ServerReuse();
      try {
        await use(servers);
      } finally {
        await servers.stop();
      }
    },
    { scope: 'worker' },
  ],

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
