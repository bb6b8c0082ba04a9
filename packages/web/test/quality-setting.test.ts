import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readQualityMode, writeQualityMode } from '../src/lib/quality-setting.js';
import { STORAGE_KEYS } from '../src/lib/storage.js';

/** Web Storage as the browser has it, in memory (the tests run in Node). */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

describe('the quality setting', () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
    vi.stubGlobal('window', { localStorage: storage, sessionStorage: new MemoryStorage() });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('is Auto when nothing was chosen', () => {
    expect(readQualityMode()).toBe('auto');
  });

  it.each(['saver', 'high', 'auto'] as const)('remembers %s across visits', (mode) => {
    writeQualityMode(mode);
    expect(readQualityMode()).toBe(mode);
  });

  it('stores nothing for the default, so a later default can change', () => {
    writeQualityMode('high');
    expect(storage.items.get(STORAGE_KEYS.quality)).toBe('high');
    writeQualityMode('auto');
    expect(storage.items.has(STORAGE_KEYS.quality)).toBe(false);
  });

  it.each(['ultra', '', 'AUTO', '{"mode":"high"}'])('reads an unknown value (%j) as Auto', (value) => {
    storage.setItem(STORAGE_KEYS.quality, value);
    expect(readQualityMode()).toBe('auto');
  });

  it('without storage (private mode, blocked cookies) it is Auto and writing does not throw', () => {
    vi.stubGlobal('window', {
      get localStorage(): never {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    expect(() => writeQualityMode('saver')).not.toThrow();
    expect(readQualityMode()).toBe('auto');
  });
});
