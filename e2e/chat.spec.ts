/**
 * In-call chat over the data channel, through the UI: both ways between two Chromiums and between
 * Chromium and Firefox ESR, delivery receipts, the unread badge, a burst of 1000 messages (exactly
 * once, in order), hostile text shown as text, links made safe, and the length limit.
 */
import {
  chatButton,
  chatMessages,
  chatTexts,
  expectAllDelivered,
  expectPeerTexts,
  messageBox,
  messageTexts,
  openChat,
  openChatFirefox,
  readChatStatuses,
  renderedChatTexts,
  startCall,
  typeAndSend,
  typeAndSendFirefox,
  watchChatStatuses,
} from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import type { Person } from './person.js';

/** Alice and Bob join, Alice calls Bob, Bob accepts. */
async function aliceCallsBob(
  join: (name: string) => Promise<Person>,
): Promise<{ alice: Person; bob: Person }> {
  return test.step('Alice and Bob join, Alice calls Bob, Bob accepts', async () => {
    const alice = await join('Alice');
    const bob = await join('Bob');
    await alice.expectListed('Bob', 'Free');
    await startCall(alice, bob);
    return { alice, bob };
  });
}

test('chat both ways through the UI: Sending… becomes Delivered, unread badge counts and clears', async ({
  join,
}) => {
  const { alice, bob } = await aliceCallsBob(join);
  const badge = bob.page.getByTestId('chat-unread');

  await test.step('Alice sends with Enter; her message shows Sending…, then Delivered', async () => {
    await openChat(alice);
    await alice.evaluate(watchChatStatuses, undefined);
    await typeAndSend(alice, 'Hello Bob', 'enter');
    await expect(chatMessages(alice, 'self')).toHaveCount(1);
    await expect(chatMessages(alice, 'self').getByTestId('chat-status')).toHaveText('Delivered');
    expect(await alice.evaluate(readChatStatuses, undefined)).toEqual([['Sending…', 'Delivered']]);
  });

  await test.step('Bob, chat closed, sees an unread count that grows', async () => {
    await expect(badge).toHaveText('1');
    await expect(badge).toHaveAttribute('aria-label', '1 unread');
    await typeAndSend(alice, 'Are you there?', 'button');
    await typeAndSend(alice, 'Third one', 'enter');
    await expect(badge).toHaveText('3');
    await expect(badge).toHaveAttribute('aria-label', '3 unread');
    // Alice has her chat open: no badge for her.
    await expect(alice.page.getByTestId('chat-unread')).toHaveCount(0);
  });

  await test.step('Bob opens the chat: the badge clears and the three messages show in order', async () => {
    await openChat(bob);
    await expect(badge).toHaveCount(0);
    await expect(messageTexts(bob, 'peer')).toHaveText(['Hello Bob', 'Are you there?', 'Third one']);
    const unread = (): number => window.__duet!.snapshot.unreadChat;
    await expect.poll(() => bob.evaluate(unread, undefined), { message: "Bob's unread count" }).toBe(0);
  });

  await test.step('Bob answers with the Send button; Alice receives it, both see Delivered', async () => {
    await bob.evaluate(watchChatStatuses, undefined);
    await typeAndSend(bob, 'Yes, hi Alice!', 'button');
    await expect(messageTexts(alice, 'peer')).toHaveText(['Yes, hi Alice!']);
    await expect(chatMessages(bob, 'self').getByTestId('chat-status')).toHaveText('Delivered');
    expect(await bob.evaluate(readChatStatuses, undefined)).toEqual([['Sending…', 'Delivered']]);
    await expect(chatMessages(alice, 'self').getByTestId('chat-status')).toHaveText([
      'Delivered',
      'Delivered',
      'Delivered',
    ]);
    await expectPeerTexts(alice, ['Yes, hi Alice!']);
    await expectPeerTexts(bob, ['Hello Bob', 'Are you there?', 'Third one']);
  });

  await test.step('closing and reopening: a new message counts as unread again', async () => {
    await chatButton(bob).click();
    await expect(messageBox(bob)).toHaveCount(0);
    await typeAndSend(alice, 'One more', 'enter');
    await expect(badge).toHaveText('1');
    await chatButton(bob).click();
    await expect(badge).toHaveCount(0);
    await expect(messageTexts(bob, 'peer').last()).toHaveText('One more');
  });
});

test('chat both ways between Chromium and Firefox ESR', async ({ join, joinFirefox }) => {
  const chrome = await join('Chrome');
  const fox = await joinFirefox('Fox');
  await chrome.expectListed('Fox', 'Free');
  await fox.expectListed('Chrome');
  // Firefox calls: it creates the offer, Chromium answers (the interop spec covers both ways round).
  await startCall(fox, chrome);

  await test.step('Chromium → Firefox', async () => {
    await openChat(chrome);
    await typeAndSend(chrome, 'Hallo Firefox, grüß dich 👋', 'enter');
    await openChatFirefox(fox);
    await expect
      .poll(() => fox.evaluate(renderedChatTexts, 'peer'), { message: 'Firefox shows the message' })
      .toEqual(['Hallo Firefox, grüß dich 👋']);
    await expectPeerTexts(fox, ['Hallo Firefox, grüß dich 👋']);
    await expect(chatMessages(chrome, 'self').getByTestId('chat-status')).toHaveText('Delivered');
  });

  await test.step('Firefox → Chromium', async () => {
    await typeAndSendFirefox(fox, 'Hi Chromium, from Gecko');
    await expect(messageTexts(chrome, 'peer')).toHaveText(['Hi Chromium, from Gecko']);
    await expectPeerTexts(chrome, ['Hi Chromium, from Gecko']);
    await expectAllDelivered(fox, 1);
    await expect
      .poll(
        () =>
          fox.evaluate(
            () =>
              [...document.querySelectorAll('[data-testid="chat-status"]')].map((e) => e.textContent.trim()),
            undefined,
          ),
        { message: 'Firefox shows its message as delivered' },
      )
      .toEqual(['Delivered']);
  });
});

test('1000 messages in a burst arrive exactly once and in order', async ({ join }) => {
  test.setTimeout(90_000);
  const { alice, bob } = await aliceCallsBob(join);
  const COUNT = 1000;
  const expected = Array.from({ length: COUNT }, (_, i) => `burst ${i}`);

  await test.step('Alice sends 1000 messages in one tight loop', async () => {
    await expect.poll(() => alice.evaluate(() => window.__duet !== undefined, undefined)).toBe(true);
    await alice.evaluate((count) => {
      const duet = window.__duet!;
      for (let i = 0; i < count; i++) {
        duet.chat.send(`burst ${i}`);
      }
    }, COUNT);
  });

  await test.step("Bob's app holds each of them once, in order; Alice's are all delivered", async () => {
    await expectPeerTexts(bob, expected, 30_000);
    await expectAllDelivered(alice, COUNT, 30_000);
    // Still exactly once after every acknowledgement came back (no late resend doubles one).
    expect(await bob.evaluate(chatTexts, 'peer')).toEqual(expected);
  });

  await test.step('Bob opens the chat: 1000 messages from Alice are rendered, in order', async () => {
    await openChat(bob);
    await expect(chatMessages(bob, 'peer')).toHaveCount(COUNT, { timeout: 20_000 });
    expect(await bob.evaluate(renderedChatTexts, 'peer')).toEqual(expected);
  });
});

test('hostile text is shown as text, links are safe, an over-long message is not sent', async ({ join }) => {
  const { alice, bob } = await aliceCallsBob(join);
  await openChat(alice);
  await openChat(bob);
  const hostile = [
    '<img src=x onerror=window.__xss=1>',
    '<script>window.__xss=1</script>',
    'javascript:alert(1)',
  ];
  const dialogs: string[] = [];
  for (const person of [alice, bob]) {
    person.page.on('dialog', (dialog) => dialogs.push(dialog.message()));
  }

  await test.step('markup and a javascript: URL arrive literally, nothing runs', async () => {
    for (const text of hostile) {
      await typeAndSend(alice, text, 'enter');
    }
    await expect(chatMessages(bob, 'peer')).toHaveCount(hostile.length);
    for (const person of [alice, bob]) {
      const from = person === alice ? 'self' : 'peer';
      expect(
        await person.evaluate(renderedChatTexts, from),
        `${person.name} shows the text literally`,
      ).toEqual(hostile);
      const inLog = await person.evaluate(
        () => ({
          elements: document.querySelectorAll('[role="log"] img, [role="log"] script, [role="log"] a').length,
          xss: (window as unknown as { __xss?: unknown }).__xss,
        }),
        undefined,
      );
      expect(inLog, `${person.name}: no element made from the text, no script ran`).toEqual({
        elements: 0,
        xss: undefined,
      });
    }
    expect(dialogs).toEqual([]);
  });

  await test.step('a web address becomes a link that opens with noopener', async () => {
    await typeAndSend(alice, 'see https://example.org/a?b=c please', 'enter');
    const link = chatMessages(bob, 'peer').last().getByRole('link');
    await expect(link).toHaveCount(1);
    await expect(link).toHaveText('https://example.org/a?b=c');
    await expect(link).toHaveAttribute('href', 'https://example.org/a?b=c');
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(link).toHaveAttribute('rel', /(^|\s)noopener(\s|$)/);
    await expect(messageTexts(bob, 'peer').last()).toHaveText('see https://example.org/a?b=c please');
  });

  await test.step('4001 characters: the limit message shows, Send and Enter send nothing', async () => {
    const box = messageBox(alice);
    await box.fill('x'.repeat(4001));
    await expect(alice.page.getByTestId('chat-error')).toHaveText(
      'Too long: messages can have at most 4,000 characters. Remove 1.',
    );
    await expect(box).toHaveAttribute('aria-invalid', 'true');
    await expect(alice.page.getByTestId('chat-counter')).toHaveText('4,001 / 4,000');
    await expect(alice.button('Send')).toBeDisabled();
    await box.press('Enter');
    await expect(box).toHaveValue('x'.repeat(4001));
    // The core refuses it too (the UI is not the only guard).
    const refused = await alice.evaluate(() => {
      try {
        window.__duet!.chat.send('y'.repeat(4001));
        return null;
      } catch (error) {
        return (error as { reason?: string }).reason ?? String(error);
      }
    }, undefined);
    expect(refused).toBe('payload_too_large');
    // The channel is ordered: had anything gone out, it would arrive before this message.
    await box.fill('');
    await expect(alice.page.getByTestId('chat-error')).toHaveText('');
    await typeAndSend(alice, 'after the long one', 'enter');
    await expect(messageTexts(bob, 'peer').last()).toHaveText('after the long one');
    await expectPeerTexts(bob, [...hostile, 'see https://example.org/a?b=c please', 'after the long one']);
    expect(await alice.evaluate(chatTexts, 'self')).toHaveLength(hostile.length + 2);
  });
});
