import type { DuetClient } from '@duet/rtc';
import type { Reporter } from '../output/reporter.js';

/**
 * Print the call's security symbols once the connection gives them, and again whenever a new
 * connection brings other ones. They are derived by the same core as the browser's, from the same
 * two certificate fingerprints, so the person at the browser sees the same six under "Verify"
 * unless someone sits in the middle. The terminal has no dialog to press "They match" in: it shows
 * the symbols to compare by voice, and the browser side records the verdict.
 */
export function reportSecuritySymbols(client: DuetClient, reporter: Reporter): () => void {
  let shown: string | null = null;
  const check = (): void => {
    const { verification, call } = client.snapshot;
    const symbols = verification?.symbols;
    if (!symbols || !call) {
      return;
    }
    const key = symbols.map((symbol) => symbol.emoji).join('');
    if (key === shown) {
      return;
    }
    const changed = shown !== null;
    shown = key;
    reporter.emit({
      event: 'security-symbols',
      peer: call.peer.name,
      symbols: symbols.map(({ emoji, en, zh }) => ({ emoji, en, zh })),
      changed,
    });
  };
  const off = client.on('change', check);
  check();
  return off;
}
