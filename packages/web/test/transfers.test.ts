import type { TransferView } from '@duet/rtc';
import { describe, expect, it } from 'vitest';
import { createI18n } from 'vue-i18n';
import { en, zhCN } from '../src/i18n/messages.js';
import { describeFailure, type Message } from '../src/lib/messages.js';
import { transferNotice, transferStatus } from '../src/lib/transfers.js';

const i18n = createI18n({ legacy: false, locale: 'en', messages: { en, 'zh-CN': zhCN } });
const render = (message: Message | null | undefined, locale: 'en' | 'zh-CN' = 'en') =>
  message ? i18n.global.t(message.key, message.params ?? {}, { locale }) : null;

function view(patch: Partial<TransferView>): TransferView {
  return {
    id: 't1',
    direction: 'receive',
    name: 'report.pdf',
    size: 1000,
    mime: 'application/pdf',
    photo: false,
    state: 'offered',
    bytes: 0,
    bytesPerSecond: 0,
    secondsLeft: null,
    error: null,
    cancelledBy: null,
    file: null,
    image: null,
    sha256: null,
    ...patch,
  };
}

const ctx = { peerName: 'Bob', chatOpen: false };

describe('transfer notices', () => {
  it('announces an incoming offer while the chat is closed, once', () => {
    expect(render(transferNotice(undefined, view({}), ctx)?.message)).toBe(
      'Bob wants to send you report.pdf.',
    );
    expect(transferNotice(undefined, view({}), { ...ctx, chatOpen: true })).toBeNull();
    expect(transferNotice('offered', view({}), ctx)).toBeNull();
    expect(transferNotice(undefined, view({ direction: 'send', state: 'waiting' }), ctx)).toBeNull();
  });

  it('announces finished transfers both ways', () => {
    const received = transferNotice('verifying', view({ state: 'done' }), ctx);
    expect(render(received?.message)).toBe('Received report.pdf.');
    expect(received?.tone).toBe('success');
    const sent = transferNotice('verifying', view({ direction: 'send', state: 'done' }), ctx);
    expect(render(sent?.message)).toBe('Bob received report.pdf.');
  });

  it('names the failure', () => {
    const failed = transferNotice('verifying', view({ state: 'failed', error: 'hash_mismatch' }), ctx);
    expect(failed?.tone).toBe('error');
    expect(render(failed?.message)).toBe('report.pdf arrived damaged (checksum mismatch) and was discarded.');
    const unknown = transferNotice(
      'transferring',
      view({ state: 'failed', error: 'cosmic_rays' as TransferView['error'] }),
      ctx,
    );
    expect(render(unknown?.message)).toBe('Something went wrong (cosmic_rays).');
  });

  it('tells the peer’s decisions, not the user’s own', () => {
    expect(
      render(transferNotice('waiting', view({ direction: 'send', state: 'declined' }), ctx)?.message),
    ).toBe('Bob declined report.pdf.');
    expect(transferNotice('offered', view({ state: 'declined' }), ctx)).toBeNull();
    expect(
      render(transferNotice('transferring', view({ state: 'cancelled', cancelledBy: 'peer' }), ctx)?.message),
    ).toBe('Bob cancelled report.pdf.');
    expect(transferNotice('transferring', view({ state: 'cancelled', cancelledBy: 'self' }), ctx)).toBeNull();
  });

  it('keeps a file name with markup as text for the template to escape', () => {
    const name = '<img src=x onerror=alert(1)>.png';
    expect(render(transferNotice(undefined, view({ name }), ctx)?.message)).toBe(
      `Bob wants to send you ${name}.`,
    );
  });
});

describe('transfer status', () => {
  it.each([
    [{ state: 'offered' }, 'Bob wants to send you this file.'],
    [{ direction: 'send', state: 'waiting' }, 'Waiting for Bob to accept…'],
    [{ state: 'transferring' }, 'Receiving…'],
    [{ direction: 'send', state: 'transferring' }, 'Sending…'],
    [
      { state: 'failed', error: 'hash_mismatch' },
      'The file arrived damaged (checksum mismatch) and was discarded.',
    ],
    [{ state: 'cancelled', cancelledBy: 'peer' }, 'Cancelled by Bob.'],
    [{ state: 'cancelled', cancelledBy: 'self' }, 'Cancelled by you.'],
    [{ direction: 'send', state: 'declined' }, 'Bob declined.'],
    [{ direction: 'send', state: 'done' }, 'Sent. Bob received it intact.'],
    [{ state: 'done', file: new Blob(['x']) }, 'Received and checked.'],
    [{ state: 'done', file: null }, 'Saved where you chose, and checked.'],
  ] as const)('%o → %s', (patch, text) => {
    expect(render(transferStatus(view(patch), 'Bob'))).toBe(text);
  });

  it('has a status in both languages for every failure', () => {
    for (const error of Object.keys(en.transferErrors) as Array<NonNullable<TransferView['error']>>) {
      for (const locale of ['en', 'zh-CN'] as const) {
        const text = render(transferStatus(view({ state: 'failed', error }), 'Bob'), locale);
        expect(text, `${error} in ${locale}`).toBeTruthy();
        expect(text).not.toContain('transferErrors');
      }
    }
  });
});

describe('chat failures', () => {
  it('words a refused chat message', () => {
    expect(render(describeFailure('payload_too_large', { action: 'chat' }))).toBe(
      'Messages can have at most 4000 characters.',
    );
    expect(render(describeFailure('invalid_payload', { action: 'chat' }))).toBe('Type a message first.');
    expect(render(describeFailure('not_in_call', { action: 'file' }))).toBe(
      'Files can be sent only during a call.',
    );
  });
});
