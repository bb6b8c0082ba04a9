/**
 * The NAT lab as Playwright fixtures (the lab itself: netns.ts): `lab` builds the namespaces with the
 * NAT kinds of `natKinds`, `labServer` runs the built Duet server (and its turnserver) on the lab's
 * "internet", and `labJoin` opens Duet in a Chromium inside a site's client namespace and joins one
 * room. On a failed test each person's screenshot, ICE report and console are attached. Everything
 * is removed in the teardown.
 */
import { randomBytes } from 'node:crypto';
import { test as base } from '@playwright/test';
import {
  createNatLab,
  iceReport,
  recordPeerConnections,
  type LabServer,
  type NatKind,
  type NatLab,
} from './netns.js';
import { fixCameraSize } from './media.js';
import { Person } from './person.js';

export { expect } from '@playwright/test';

export interface LabJoinOptions {
  camera?: { width: number; height: number };
}

export interface LabFixtures {
  /** The NAT of site a and of site b; set per describe with test.use. */
  natKinds: readonly [NatKind, NatKind];
  /** Extra environment for the lab's Duet server; set per describe with test.use. */
  labServerEnv: Record<string, string>;
  lab: NatLab;
  labServer: LabServer;
  /**
   * Open Duet as `name` in a new Chromium inside site `site`'s client namespace and join the room;
   * `camera`: every camera track scaled to this size (media.ts's fixCameraSize).
   */
  labJoin: (site: 0 | 1, name: string, options?: LabJoinOptions) => Promise<Person>;
}

export const test = base.extend<LabFixtures>({
  natKinds: [['symmetric', 'symmetric'], { option: true }],

  lab: async ({ natKinds }, use) => {
    const lab = await createNatLab(natKinds);
    try {
      await use(lab);
    } finally {
      await lab.dispose();
    }
  },

  labServerEnv: [{}, { option: true }],

  labServer: async ({ lab, labServerEnv }, use, testInfo) => {
    const server = await lab.startServer(labServerEnv);
    let unexpectedExit: string | null;
    try {
      await use(server);
    } finally {
      unexpectedExit = server.unexpectedExit();
      await server.stop();
      if (testInfo.status !== testInfo.expectedStatus || unexpectedExit) {
        await testInfo.attach('lab-server.log', { body: server.log(), contentType: 'text/plain' });
      }
    }
    if (unexpectedExit) {
      throw new Error(`the lab's Duet server ${unexpectedExit} during the test`);
    }
  },

  labJoin: async ({ lab, labServer }, use, testInfo) => {
    const room = `lab-${randomBytes(4).toString('hex')}`;
    const people: Person[] = [];
    await use(async (site, name, options = {}) => {
      const browser = await lab.launchChromium(lab.sites[site], labServer.origin);
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
      await context.addInitScript(recordPeerConnections);
      if (options.camera) {
        await context.addInitScript(fixCameraSize, options.camera);
      }
      const person = new Person(name, room, await context.newPage(), context);
      people.push(person);
      await person.submitJoin(labServer.origin);
      await person.expectInRoom();
      return person;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const person of people) {
      if (failed) {
        await testInfo.attach(`${person.name}.png`, {
          body: await person.page.screenshot().catch(() => Buffer.alloc(0)),
          contentType: 'image/png',
        });
        const report = await person.page.evaluate(iceReport).catch(() => null);
        await testInfo.attach(`${person.name}-ice.json`, {
          body: JSON.stringify(report, null, 2),
          contentType: 'application/json',
        });
        await testInfo.attach(`${person.name}-console.txt`, {
          body: person.consoleLog(),
          contentType: 'text/plain',
        });
      }
      await person.context.close().catch(() => undefined);
    }
  },
});
