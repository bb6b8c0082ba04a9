import type { StorageLike } from '../../src/signaling/signaling-client.js';

/** sessionStorage in memory: what a tab keeps across a reload; tests read `items` to see what was saved. */
export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}
