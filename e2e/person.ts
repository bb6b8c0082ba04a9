import { expect, type BrowserContext, type Locator, type Page } from '@playwright/test';
import {
  duetRemoteMedia,
  duetStats,
  expectRemoteMediaFlowing,
  videoState,
  type DuetStats,
  type Evaluate,
  type RemoteMediaState,
  type VideoState,
} from './media.js';

/** What every e2e participant can do, whichever browser and driver it runs in. */
export interface Participant {
  readonly name: string;
  readonly browserName: string;
  callPerson(name: string): Promise<void>;
  expectIncomingCall(from: string): Promise<void>;
  accept(): Promise<void>;
  decline(): Promise<void>;
  hangUp(): Promise<void>;
  expectConnected(): Promise<void>;
  expectNotice(text: string): Promise<void>;
  expectInRoom(): Promise<void>;
  /** Remote video at HAVE_ENOUGH_DATA and presenting new frames; remote audio track live. */
  expectRemoteMediaFlowing(): Promise<void>;
  evaluate: Evaluate;
  /** Console messages and page errors seen so far. */
  consoleLog(): string;
}

/** Someone using Duet in a Playwright page (Chromium): the lobby, the room and the call view. */
export class Person implements Participant {
  readonly browserName = 'chromium';
  private readonly console: string[] = [];

  constructor(
    readonly name: string,
    readonly room: string,
    readonly page: Page,
    readonly context: BrowserContext,
  ) {
    page.on('console', (message) => this.console.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => this.console.push(`[pageerror] ${error.stack ?? error.message}`));
  }

  readonly evaluate: Evaluate = <Arg, R>(fn: (arg: Arg) => R | Promise<R>, arg: Arg): Promise<R> =>
    this.page.evaluate(fn as (arg: unknown) => R | Promise<R>, arg);

  consoleLog(): string {
    return this.console.join('\n');
  }

  /** The lobby for `room`: type the name and press Join (does not wait to get in). */
  async submitJoin(baseURL: string): Promise<void> {
    await this.page.goto(`${baseURL}/?room=${encodeURIComponent(this.room)}`);
    await expect(this.page.getByLabel('Room', { exact: true })).toHaveValue(this.room);
    await this.page.getByLabel('Your name').fill(this.name);
    await this.page.getByRole('button', { name: 'Join', exact: true }).click();
  }

  async expectInRoom(): Promise<void> {
    await expect(this.page.getByRole('heading', { name: this.room })).toBeVisible();
    await expect(this.people).toBeVisible();
  }

  get people(): Locator {
    return this.page.getByRole('list', { name: 'People in this room' });
  }

  /** The people-list entry of `name`. */
  entry(name: string): Locator {
    return this.people.getByRole('listitem').filter({ hasText: name });
  }

  /** `name` is listed, in the given state ("Free" / "In a call"). */
  async expectListed(name: string, state?: 'Free' | 'In a call'): Promise<void> {
    await expect(this.entry(name)).toBeVisible();
    if (state) {
      await expect(this.entry(name)).toContainText(state);
    }
  }

  button(name: string): Locator {
    return this.page.getByRole('button', { name, exact: true });
  }

  get incomingDialog(): Locator {
    return this.page.getByRole('dialog', { name: 'Incoming call' });
  }

  get notices(): Locator {
    return this.page.getByTestId('notice');
  }

  get remoteVideo(): Locator {
    return this.page.getByTestId('remote-video');
  }

  get callState(): Locator {
    return this.page.getByTestId('call-state');
  }

  async callPerson(name: string): Promise<void> {
    await this.button(`Call ${name}`).click();
    await expect(this.page.getByText(`Calling ${name}…`)).toBeVisible();
  }

  async expectIncomingCall(from: string): Promise<void> {
    await expect(this.incomingDialog).toBeVisible();
    await expect(this.incomingDialog).toContainText(`${from} is calling`);
  }

  async accept(): Promise<void> {
    await this.incomingDialog.getByRole('button', { name: 'Accept', exact: true }).click();
    await expect(this.incomingDialog).toBeHidden();
  }

  async decline(): Promise<void> {
    await this.incomingDialog.getByRole('button', { name: 'Decline', exact: true }).click();
    await expect(this.incomingDialog).toBeHidden();
  }

  /** The caller gives up while it rings. */
  async cancel(): Promise<void> {
    await this.button('Cancel').click();
  }

  async hangUp(): Promise<void> {
    await this.button('Hang up').click();
  }

  async expectConnected(): Promise<void> {
    await expect(this.callState).toHaveText('Connected', { timeout: 20_000 });
  }

  /** A notice with exactly this text is on screen (the notice region holds a list of them). */
  async expectNotice(text: string): Promise<void> {
    await expect(this.notices.getByText(text, { exact: true })).toBeVisible();
  }

  async expectRemoteMediaFlowing(): Promise<void> {
    await expectRemoteMediaFlowing(this.evaluate, this.name);
  }

  remoteVideoState(): Promise<VideoState> {
    return this.page.evaluate(videoState, 'remote-video');
  }

  stats(): Promise<DuetStats | null> {
    return this.page.evaluate(duetStats);
  }

  remoteMedia(): Promise<RemoteMediaState | null> {
    return this.page.evaluate(duetRemoteMedia);
  }
}
