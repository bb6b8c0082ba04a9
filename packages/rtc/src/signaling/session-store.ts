/*
 * The session this tab holds on the server, kept where it survives a page reload (sessionStorage:
 * per tab, gone with the tab), so a reloaded page takes its seat back with `session:resume`
 * instead of joining as a second person.
 */

/** Where the session token survives a page reload (sessionStorage: per tab, gone with the tab). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface StoredSession {
  token: string;
  room: string;
  name: string;
  /** The private room's secret (from its link), to make the room again if the server forgot it. */
  secret?: string;
}

const STORAGE_KEY = 'duet.session';

export class SessionStore {
  private session: StoredSession | null;

  constructor(private readonly storage: StorageLike | undefined) {
    this.session = this.load();
  }

  /** The session held now, or the one a reloaded page found stored; null once forgotten. */
  get current(): StoredSession | null {
    return this.session;
  }

  remember(session: StoredSession): void {
    this.session = session;
    this.storage?.setItem(STORAGE_KEY, JSON.stringify(session));
  }

  forget(): void {
    this.session = null;
    this.storage?.removeItem(STORAGE_KEY);
  }

  private load(): StoredSession | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) {
        return null;
      }
      const value = JSON.parse(raw) as Partial<StoredSession>;
      if (
        typeof value.token === 'string' &&
        typeof value.room === 'string' &&
        typeof value.name === 'string'
      ) {
        const secret = typeof value.secret === 'string' ? { secret: value.secret } : {};
        return { token: value.token, room: value.room, name: value.name, ...secret };
      }
    } catch {
      // A corrupt entry is just no entry.
    }
    return null;
  }
}
