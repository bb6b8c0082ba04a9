/**
 * Call `onTick` every `intervalMs`, at that pace in a background tab too (see ticker-worker.ts);
 * where workers are missing, an ordinary interval does it. Returns the function that stops it.
 */
export function startTicker(intervalMs: number, onTick: () => void): () => void {
  if (typeof Worker === 'undefined') {
    const timer = setInterval(onTick, intervalMs);
    return () => clearInterval(timer);
  }
  const worker = new Worker(new URL('./ticker-worker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('message', onTick);
  worker.postMessage(intervalMs);
  return () => {
    worker.removeEventListener('message', onTick);
    worker.terminate();
  };
}
