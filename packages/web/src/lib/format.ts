/** Formatting helpers shared by the call view and the statistics panel. Pure, locale passed in. */

/** `m:ss`, or `h:mm:ss` past an hour: the call timer. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** ISO 8601 duration for `<time datetime>`, so assistive tech gets the exact value. */
export function isoDuration(ms: number): string {
  return `PT${Math.max(0, Math.floor(ms / 1000))}S`;
}

/**
 * The first user-perceived character of a name, upper-cased where the script has case. Uses grapheme
 * segmentation so an emoji, a flag or a combining sequence stays whole ("👩‍💻 Ada" → "👩‍💻").
 */
export function initial(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) return '?';
  let first: string | undefined;
  if (typeof Intl.Segmenter === 'function') {
    const segments = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(trimmed);
    first = segments[Symbol.iterator]().next().value?.segment;
  }
  first ??= Array.from(trimmed)[0] ?? '?';
  return first.toLocaleUpperCase();
}

export function formatNumber(value: number, locale: string, fractionDigits = 0): string {
  return new Intl.NumberFormat(locale, {
    maximumFractionDigits: fractionDigits,
    minimumFractionDigits: fractionDigits,
  }).format(value);
}

/** A bitrate in the unit that keeps it short: 850 kbit/s, 1.2 Mbit/s. */
export function bitrateParts(kbps: number): { value: number; unit: 'kbps' | 'mbps'; digits: number } {
  return kbps >= 1000
    ? { value: kbps / 1000, unit: 'mbps', digits: 1 }
    : { value: kbps, unit: 'kbps', digits: 0 };
}
