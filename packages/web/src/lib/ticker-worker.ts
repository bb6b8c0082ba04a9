/*
 * A metronome for the recording's compositor. A page's own timers and animation frames slow to
 * once a second (or stop) while its tab is in the background, and the recording's picture would
 * freeze with them; a dedicated worker's timers keep their pace. The page posts an interval in ms
 * (0 stops) and gets an empty message at every beat.
 */
let timer: ReturnType<typeof setInterval> | undefined;

self.addEventListener('message', (event: MessageEvent<unknown>) => {
  clearInterval(timer);
  timer = undefined;
  const interval = event.data;
  if (typeof interval === 'number' && interval > 0) {
    timer = setInterval(() => self.postMessage(0), interval);
  }
});
