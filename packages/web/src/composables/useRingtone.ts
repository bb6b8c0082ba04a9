import { getCurrentScope, onScopeDispose } from 'vue';

export type RingKind = 'incoming' | 'outgoing';

interface Pattern {
  /** Two frequencies played together, as telephone tones are. */
  frequencies: readonly [number, number];
  /** Tone bursts within one cycle: [start, duration] in seconds. */
  bursts: readonly (readonly [number, number])[];
  cycleSeconds: number;
  volume: number;
}

/**
 * Synthesised, so there is no audio file to fetch (the CSP allows media only from our origin, and a
 * file would need autoplay permission just the same).
 * - incoming: the UK double ring (400+450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off), which reads as
 *   "a phone is ringing" and stands out from call audio.
 * - outgoing: a quiet ringback (440+480 Hz, 2 s on, 4 s off) so the caller hears that it rings.
 */
const PATTERNS: Record<RingKind, Pattern> = {
  incoming: {
    frequencies: [400, 450],
    bursts: [
      [0, 0.4],
      [0.6, 0.4],
    ],
    cycleSeconds: 3,
    volume: 0.12,
  },
  outgoing: { frequencies: [440, 480], bursts: [[0, 2]], cycleSeconds: 6, volume: 0.05 },
};

/** How far ahead cycles are scheduled on the audio clock; the timer only tops the schedule up. */
const LOOKAHEAD_SECONDS = 1;
const TICK_MS = 250;
/** How long after the ring ends its AudioContext is closed. */
const CLOSE_DELAY_MS = 2000;
/** Short fades avoid the click of a tone switched on and off at a non-zero sample. */
const FADE_SECONDS = 0.015;

/**
 * A ringtone from Web Audio oscillators. Browsers keep an AudioContext suspended until the page has
 * had a user gesture; then `resume()` is refused and we simply stay silent (the dialog is still
 * there). Nothing here throws: a missing or blocked audio stack must not break call handling.
 * Stopped automatically when the calling component's scope ends.
 */
export function useRingtone() {
  let context: AudioContext | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const sources = new Set<OscillatorNode>();

  function audioContext(): AudioContext | null {
    try {
      context ??= new AudioContext({ latencyHint: 'playback' });
    } catch {
      return null;
    }
    if (context.state === 'suspended') {
      context.resume().catch(() => undefined);
    }
    return context;
  }

  function scheduleCycle(ctx: AudioContext, start: number, pattern: Pattern): void {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start);
    for (const [offset, duration] of pattern.bursts) {
      const on = start + offset;
      const off = on + duration;
      gain.gain.setValueAtTime(0, on);
      gain.gain.linearRampToValueAtTime(pattern.volume, on + FADE_SECONDS);
      gain.gain.setValueAtTime(pattern.volume, off - FADE_SECONDS);
      gain.gain.linearRampToValueAtTime(0, off);
    }
    gain.connect(ctx.destination);
    const end = start + Math.max(...pattern.bursts.map(([offset, duration]) => offset + duration));
    let playing = pattern.frequencies.length;
    for (const frequency of pattern.frequencies) {
      const oscillator = ctx.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.onended = () => {
        oscillator.disconnect();
        sources.delete(oscillator);
        playing -= 1;
        if (playing === 0) {
          gain.disconnect();
        }
      };
      sources.add(oscillator);
      oscillator.start(start);
      oscillator.stop(end);
    }
  }

  function start(kind: RingKind): void {
    stop();
    const ctx = audioContext();
    if (!ctx) {
      return;
    }
    const pattern = PATTERNS[kind];
    let next = ctx.currentTime + 0.05;
    const topUp = () => {
      try {
        // The audio clock stands still while the context is suspended, so nothing piles up then.
        while (next < ctx.currentTime + LOOKAHEAD_SECONDS) {
          scheduleCycle(ctx, next, pattern);
          next += pattern.cycleSeconds;
        }
      } catch {
        stop();
      }
    };
    topUp();
    timer = setInterval(topUp, TICK_MS);
  }

  function stop(): void {
    if (timer !== null) {
      clearInterval(timer);
    }
    timer = null;
    for (const source of sources) {
      try {
        // Fires `ended`, which disconnects the node and its cycle's gain.
        source.stop();
      } catch {
        source.disconnect();
      }
    }
    sources.clear();
  }

  function dispose(): void {
    stop();
    const closing = context;
    context = null;
    // Silent already; closing the audio stack is slow and the ring ends as a call is being set up.
    if (closing) {
      setTimeout(() => void closing.close().catch(() => undefined), CLOSE_DELAY_MS);
    }
  }

  if (getCurrentScope()) {
    onScopeDispose(dispose);
  }

  return { start, stop, dispose };
}
