import type { Page } from '@playwright/test';

/** Control over the presence updates one page receives. */
export interface PresenceGate {
  /** From now on, keep presence updates from reaching the page (its people list goes stale). */
  hold(): void;
  /** Deliver the held updates in order and stop holding. */
  release(): void;
  /** How many updates are held right now. */
  held(): number;
}

/**
 * Put the page's Socket.IO connection through a relay that can hold back `presence` events: a list a
 * moment behind the server, as on a slow network. Call before the page loads the app. The app's
 * client tries WebSocket first; each engine.io text frame `42["presence",…]` is one presence event.
 */
export async function gatePresence(page: Page): Promise<PresenceGate> {
  let holding = false;
  const queue: Array<() => void> = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    // Page-to-server frames are forwarded as they are; only the server's side is inspected.
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const deliver = (): void => ws.send(message);
      if (holding && typeof message === 'string' && message.startsWith('42["presence"')) {
        queue.push(deliver);
      } else {
        deliver();
      }
    });
  });
  return {
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const deliver of queue.splice(0)) {
        deliver();
      }
    },
    held: () => queue.length,
  };
}
