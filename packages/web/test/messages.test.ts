import { ERROR_CODES } from '@duet/protocol';
import { describe, expect, it } from 'vitest';
import { createI18n } from 'vue-i18n';
import { en, zhCN } from '../src/i18n/messages.js';
import { describeCallEnd, describeFailure, type Message } from '../src/lib/messages.js';

const i18n = createI18n({ legacy: false, locale: 'en', messages: { en, 'zh-CN': zhCN } });
const render = (message: Message | null, locale: 'en' | 'zh-CN' = 'en'): string | null =>
  message && i18n.global.t(message.key, message.params ?? {}, { locale });

describe('messages', () => {
  it('translates every protocol error code, in both languages', () => {
    for (const code of ERROR_CODES) {
      const message = describeFailure(code);
      expect(message.key).toBe(`errors.${code}`);
      for (const locale of ['en', 'zh-CN'] as const) {
        const text = render(message, locale);
        expect(text, `${code} in ${locale}`).toBeTruthy();
        expect(text).not.toBe(message.key);
      }
    }
  });

  it('gives a reason this build does not know a generic message naming it', () => {
    expect(render(describeFailure('some_future_code'))).toBe('Something went wrong (some_future_code).');
  });

  it('words failures with the person they concern', () => {
    expect(render(describeFailure('busy', { peerName: 'Bob' }))).toBe('Bob is busy in another call.');
    expect(render(describeFailure('room_full', { action: 'join' }))).toBe('This room is full.');
    expect(render(describeFailure('permission_denied'))).toBe('Camera and microphone access was denied.');
  });

  it.each([
    ['declined', 'caller', false, 'Bob declined the call.'],
    ['declined', 'callee', true, 'Call declined.'],
    ['cancelled', 'caller', true, 'Call cancelled.'],
    ['cancelled', 'callee', false, 'Call cancelled. Missed call from Bob.'],
    ['timeout', 'caller', false, 'Bob did not answer.'],
    ['timeout', 'callee', false, 'Missed call from Bob.'],
    ['hangup', 'caller', true, 'Call ended.'],
    ['hangup', 'callee', false, 'Bob hung up.'],
    ['peer_left', 'caller', false, 'Bob left the call.'],
    ['peer_left', 'caller', true, null],
    ['failed', 'callee', false, 'The connection to Bob failed and the call ended.'],
  ] as const)(
    'a call ended by %s, seen by the %s (ended by self: %s)',
    (outcome, role, endedBySelf, text) => {
      expect(render(describeCallEnd({ outcome, role, peerName: 'Bob', endedBySelf }))).toBe(text);
    },
  );

  it('renders names as given, markup included, for the template to escape', () => {
    expect(
      render(
        describeCallEnd({ outcome: 'hangup', role: 'caller', peerName: '<b>x</b>', endedBySelf: false }),
      ),
    ).toBe('<b>x</b> hung up.');
  });
});
