import { describe, expect, it } from 'vitest';
import { safeHref, splitLinks, type TextSegment } from '../src/lib/links.js';

const links = (text: string) =>
  splitLinks(text)
    .filter((s): s is Extract<TextSegment, { kind: 'link' }> => s.kind === 'link')
    .map((s) => s.href);

describe('splitLinks', () => {
  it('keeps plain text as one text segment', () => {
    expect(splitLinks('hello there')).toEqual([{ kind: 'text', text: 'hello there' }]);
    expect(splitLinks('')).toEqual([]);
  });

  it('finds http and https addresses between text', () => {
    expect(splitLinks('see https://example.com/a?b=1#c and http://example.org now')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://example.org', href: 'http://example.org/' },
      { kind: 'text', text: ' now' },
    ]);
  });

  it('gives back the input when the segments are joined', () => {
    const inputs = [
      'a https://x.example/y. b',
      '(https://x.example/(1)) <https://y.example>',
      'javascript:alert(1) https://ok.example/!!',
      '看https://例子.example/路径这个，还有https://a.example/b。',
      'line one\nhttps://x.example\n\nline three',
    ];
    for (const input of inputs) {
      expect(
        splitLinks(input)
          .map((s) => s.text)
          .join(''),
      ).toBe(input);
    }
  });

  it.each([
    'javascript:alert(1)',
    'JaVaScRiPt:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    'ftp://example.com/file',
    '//example.com/protocol-relative',
    'mailto:someone@example.com',
  ])('never links %s', (text) => {
    expect(splitLinks(text)).toEqual([{ kind: 'text', text }]);
  });

  it('links only the http part of a scheme put in front of it', () => {
    expect(links('blob:https://example.com/1234')).toEqual(['https://example.com/1234']);
    expect(splitLinks('javascript:https://evil.example')).toEqual([
      { kind: 'text', text: 'javascript:' },
      { kind: 'link', text: 'https://evil.example', href: 'https://evil.example/' },
    ]);
  });

  it('keeps markup as text, and out of addresses', () => {
    expect(splitLinks('<script>alert(1)</script>')).toEqual([
      { kind: 'text', text: '<script>alert(1)</script>' },
    ]);
    expect(splitLinks('<a href="https://x.example/">x</a>')).toEqual([
      { kind: 'text', text: '<a href="' },
      { kind: 'link', text: 'https://x.example/', href: 'https://x.example/' },
      { kind: 'text', text: '">x</a>' },
    ]);
    expect(links('https://x.example/"onmouseover="alert(1)')).toEqual(['https://x.example/']);
    expect(links("https://x.example/'><img src=x onerror=alert(1)>")).toEqual(['https://x.example/']);
  });

  it.each([
    ['Look at https://example.com/page.', 'https://example.com/page'],
    ['Really? https://example.com/q?x=1!', 'https://example.com/q?x=1'],
    ['https://example.com/a, https://example.com/b;', 'https://example.com/a'],
    ['(see https://example.com/x)', 'https://example.com/x'],
    ['https://en.wikipedia.org/wiki/Duet_(music)', 'https://en.wikipedia.org/wiki/Duet_(music)'],
    ['(https://en.wikipedia.org/wiki/Duet_(music))', 'https://en.wikipedia.org/wiki/Duet_(music)'],
    ['[https://example.com/list]', 'https://example.com/list'],
    ['https://example.com/path...', 'https://example.com/path'],
    ['打开https://example.com/路径，谢谢', 'https://example.com/'],
    ['网址：https://example.com/a。', 'https://example.com/a'],
  ])('leaves punctuation after an address out of it: %s', (text, href) => {
    expect(links(text)[0]).toBe(href);
  });

  it('needs a word boundary before the scheme', () => {
    expect(links('xhttps://example.com')).toEqual([]);
    expect(links('x https://example.com')).toEqual(['https://example.com/']);
  });

  it('refuses addresses without a host or with credentials', () => {
    expect(splitLinks('http:// nothing')).toEqual([{ kind: 'text', text: 'http:// nothing' }]);
    expect(links('https://bank.example@evil.example/login')).toEqual([]);
    expect(links('https://user:pass@example.com/')).toEqual([]);
  });

  it('normalises the href but shows the text as typed', () => {
    expect(splitLinks('HTTPS://EXAMPLE.COM/A%20B')).toEqual([
      { kind: 'link', text: 'HTTPS://EXAMPLE.COM/A%20B', href: 'https://example.com/A%20B' },
    ]);
  });
});

describe('safeHref', () => {
  it('accepts http and https only', () => {
    expect(safeHref('https://example.com')).toBe('https://example.com/');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/plain,hi')).toBeNull();
    expect(safeHref('not a url')).toBeNull();
  });
});
