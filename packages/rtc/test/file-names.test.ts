import { describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_LENGTH, sanitizeFileName, sniffImageType } from '../src/files/file-names.js';

describe('sanitizeFileName', () => {
  it.each<[string, string, string]>([
    ['keeps an ordinary name', 'holiday photo.jpg', 'holiday photo.jpg'],
    ['keeps non-Latin letters', 'отчёт 2024 — 東京.pdf', 'отчёт 2024 — 東京.pdf'],
    ['strips a POSIX path', '../../etc/passwd', 'passwd'],
    ['strips an absolute POSIX path', '/home/user/.ssh/id_rsa', 'id_rsa'],
    ['strips a Windows path', 'C:\\Windows\\System32\\evil.dll', 'evil.dll'],
    ['strips a UNC path', '\\\\server\\share\\doc.txt', 'doc.txt'],
    ['strips mixed separators', 'a/b\\c/d.txt', 'd.txt'],
    ['a trailing separator leaves nothing', 'folder/', 'file'],
    ['strips control characters', 'a\u0000b\u0007c\nd\re\u001b[31m.txt', 'abcde[31m.txt'],
    ['strips DEL and C1 controls', 'a\u007fb\u0085c\u009f.txt', 'abc.txt'],
    ['strips a right-to-left override', 'invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['strips bidi isolates and marks', '\u2066a\u2069\u200fb\u200e\u061c.txt', 'ab.txt'],
    ['strips zero-width characters and the BOM', '\ufeffa\u200bb\u200d.txt', 'ab.txt'],
    ['strips leading dots (hidden files)', '.bashrc', 'bashrc'],
    ['strips a dot-dot name entirely', '..', 'file'],
    ['strips trailing dots and spaces', 'report.exe. . ', 'report.exe'],
    ['trims surrounding whitespace', '  notes.txt\t', 'notes.txt'],
    ['replaces characters Windows forbids', 'a<b>c:d"e|f?g*h.txt', 'a_b_c_d_e_f_g_h.txt'],
    ['an NTFS stream name becomes harmless', 'file.txt:hidden', 'file.txt_hidden'],
    ['guards a reserved device name', 'CON', '_CON'],
    ['guards a reserved name in any case, with an extension', 'nul.txt', '_nul.txt'],
    ['guards COM and LPT ports', 'com1.tar.gz', '_com1.tar.gz'],
    ['guards LPT9', 'LPT9', '_LPT9'],
    ['leaves names that only start like a device', 'console.log', 'console.log'],
    ['never empty', '', 'file'],
    ['never empty after stripping', '\u202e\u0000 . ', 'file'],
  ])('%s', (_, raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['keeps the extension', `${'a'.repeat(300)}.pdf`, `${'a'.repeat(MAX_FILE_NAME_LENGTH - 4)}.pdf`],
    [
      'keeps a multi-part name readable',
      `${'b'.repeat(250)}.tar.gz`,
      `${'b'.repeat(MAX_FILE_NAME_LENGTH - 3)}.gz`,
    ],
    ['drops an absurd extension', `x.${'c'.repeat(300)}`, `x.${'c'.repeat(MAX_FILE_NAME_LENGTH - 2)}`],
    [
      'counts characters, not UTF-16 units',
      `${'😀'.repeat(250)}.png`,
      `${'😀'.repeat(MAX_FILE_NAME_LENGTH - 4)}.png`,
    ],
  ])('limits the length: %s', (_, raw, expected) => {
    const name = sanitizeFileName(raw);
    expect(name).toBe(expected);
    expect(Array.from(name)).toHaveLength(MAX_FILE_NAME_LENGTH);
  });

  it('never ends a shortened name in a dot or space', () => {
    expect(sanitizeFileName(`${'a'.repeat(197)} . ${'z'.repeat(20)}`)).toBe('a'.repeat(197));
  });

  it('never splits a surrogate pair', () => {
    const name = sanitizeFileName(`a${'😀'.repeat(300)}`);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(name).not.toMatch(loneSurrogate);
    expect(Array.from(name)).toHaveLength(MAX_FILE_NAME_LENGTH);
  });
});

describe('sniffImageType', () => {
  const bytes = (...values: Array<number | string>) =>
    new Uint8Array(
      values.flatMap((v) => (typeof v === 'string' ? Array.from(v, (c) => c.charCodeAt(0)) : [v])),
    );

  it.each<[string, Uint8Array, string | null]>([
    ['PNG', bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13), 'image/png'],
    ['JPEG (JFIF)', bytes(0xff, 0xd8, 0xff, 0xe0, 0, 16, 'JFIF'), 'image/jpeg'],
    ['JPEG (Exif)', bytes(0xff, 0xd8, 0xff, 0xe1), 'image/jpeg'],
    ['GIF87a', bytes('GIF87a', 1, 0, 1, 0), 'image/gif'],
    ['GIF89a', bytes('GIF89a', 1, 0, 1, 0), 'image/gif'],
    ['WebP', bytes('RIFF', 0x24, 0, 0, 0, 'WEBPVP8 '), 'image/webp'],
    ['a RIFF that is not WebP (WAV)', bytes('RIFF', 0x24, 0, 0, 0, 'WAVEfmt '), null],
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg">'), null],
    ['SVG behind an XML declaration', bytes('<?xml version="1.0"?><svg>'), null],
    ['HTML', bytes('<!DOCTYPE html><script>'), null],
    ['PDF', bytes('%PDF-1.7'), null],
    ['a truncated PNG signature', bytes(0x89, 'PNG'), null],
    ['a truncated JPEG signature', bytes(0xff, 0xd8), null],
    ['a truncated WebP header', bytes('RIFF', 0, 0, 0, 0, 'WEB'), null],
    ['nothing', bytes(), null],
  ])('%s', (_, head, expected) => {
    expect(sniffImageType(head)).toBe(expected);
  });
});
