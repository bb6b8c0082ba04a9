/*
 * Diagnostic variant "duet-core": Duet's call core (`DuetClient` from @duet/rtc, the same code and
 * the same server as the app) with no UI at all: no Vue, no call view, no stats panel. Compared with
 * the full app it shows how much of call setup the web UI costs, and compared with the raw baseline
 * how much the core and the server cost. Bundled by bench/lib/duet-core.ts (Vite, from source like
 * the app) and served by the Duet server from a copy of its web root.
 *
 *   ?room=…&name=…   joins, starts the preview; the harness calls `__duet.call()` on the caller, and
 *                    the callee's "Accept" button answers.
 */
import { DuetClient } from '@duet/rtc';

const params = new URLSearchParams(location.search);
const client = new DuetClient({ isSecureContext: window.isSecureContext });
Object.defineProperty(window, '__duet', { value: client, configurable: false, writable: false });

const status = document.querySelector('#status')!;
const remoteVideo = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]')!;
const acceptButton = document.querySelector<HTMLButtonElement>('#accept')!;

client.on('change', (snapshot) => {
  status.textContent = snapshot.call?.phase ?? snapshot.connection;
  acceptButton.disabled = snapshot.call?.phase !== 'incoming';
  const stream = snapshot.call?.remoteStream ?? null;
  if (remoteVideo.srcObject !== stream) {
    remoteVideo.srcObject = stream;
  }
});
acceptButton.onclick = () => void client.accept();

await client.join(params.get('room') ?? 'bench', params.get('name') ?? 'someone');
await client.media.start();
document.body.dataset.ready = 'true';
