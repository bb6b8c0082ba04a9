import { describe, expect, it } from 'vitest';
import { fileStamp, formatBytes, formatEta, formatSpeed, percentDone, shortHash } from '../src/lib/format.js';
import { pastedFileName, photoFileName } from '../src/lib/files.js';

const KB = 1024;
const MB = KB * 1024;
const GB = MB * 1024;

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1,023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [10 * KB, '10 KB'],
    [1023.96 * KB, '1 MB'],
    [1.25 * MB, '1.3 MB'],
    [256 * MB, '256 MB'],
    [2 * GB, '2 GB'],
    [5 * 1024 * GB, '5 TB'],
    [5 * 1024 * 1024 * GB, '5,120 TB'],
    [-5, '0 B'],
    [Number.NaN, '0 B'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes, 'en')).toBe(text);
  });

  it('writes numbers the locale’s way', () => {
    expect(formatBytes(1.5 * MB, 'de')).toBe('1,5 MB');
    expect(formatBytes(1.5 * MB, 'zh-CN')).toBe('1.5 MB');
  });
});

describe('formatSpeed', () => {
  it('is a size per second', () => {
    expect(formatSpeed(0, 'en')).toBe('0 B/s');
    expect(formatSpeed(850 * KB, 'en')).toBe('850 KB/s');
    expect(formatSpeed(12.4 * MB, 'en')).toBe('12 MB/s');
    expect(formatSpeed(1.2 * MB, 'en')).toBe('1.2 MB/s');
  });
});

describe('formatEta', () => {
  it.each([
    [null, null],
    [Number.POSITIVE_INFINITY, null],
    [-1, null],
    [0, '0:00'],
    [0.2, '0:01'],
    [7, '0:07'],
    [59.5, '1:00'],
    [750, '12:30'],
    [3723, '1:02:03'],
  ])('%s s → %s', (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });
});

describe('percentDone', () => {
  it('floors, clamps, and counts an empty file as done', () => {
    expect(percentDone(0, 100)).toBe(0);
    expect(percentDone(999, 1000)).toBe(99);
    expect(percentDone(1000, 1000)).toBe(100);
    expect(percentDone(2000, 1000)).toBe(100);
    expect(percentDone(0, 0)).toBe(100);
  });
});

describe('names and hashes', () => {
  it('names photos and pasted images by the local time', () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    expect(fileStamp(at)).toBe('20260102-030405');
    expect(photoFileName(at)).toBe('photo-20260102-030405.jpg');
    expect(pastedFileName({ name: 'image.png', type: 'image/png' }, at)).toBe('pasted-20260102-030405.png');
    expect(pastedFileName({ name: '', type: 'image/jpeg' }, at)).toBe('pasted-20260102-030405.jpg');
    expect(pastedFileName({ name: '', type: 'application/x-thing' }, at)).toBe('pasted-20260102-030405.bin');
    expect(pastedFileName({ name: 'report.pdf', type: 'application/pdf' }, at)).toBe('report.pdf');
  });

  it('shortens a digest to its ends', () => {
    const hex = 'a'.repeat(8) + 'b'.repeat(48) + 'c'.repeat(8);
    expect(shortHash(hex)).toBe('aaaaaaaa…cccccccc');
    expect(shortHash('abc')).toBe('abc');
  });
});
