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
  if (!trimmed) {
    return '?';
  }
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

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
const KIBI = 1024;

/**
 * A byte count for people: "0 B", "980 B", "1.5 KB", "24 MB", "2 GB". Binary multiples with the
 * short names most file managers use; one decimal below 10 of a unit, none above (a size is
 * context, not a checksum). Negative and non-finite input count as 0.
 */
export function formatBytes(bytes: number, locale: string): string {
  let value = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
  let unit = 0;
  while (value >= KIBI && unit < BYTE_UNITS.length - 1) {
    value /= KIBI;
    unit++;
  }
  let digits = unit === 0 || value >= 10 ? 0 : 1;
  // 1023.96 KB would round to "1,024 KB": say "1 MB" instead.
  if (unit < BYTE_UNITS.length - 1 && Number(value.toFixed(digits)) >= KIBI) {
    value /= KIBI;
    unit++;
    digits = 1;
  }
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
  return `${number} ${BYTE_UNITS[unit] ?? 'B'}`;
}

/** A transfer speed: "1.2 MB/s". */
export function formatSpeed(bytesPerSecond: number, locale: string): string {
  return `${formatBytes(bytesPerSecond, locale)}/s`;
}

/**
 * Time left as a clock (`0:07`, `12:30`, `1:02:03`), rounded up so it reaches 0:00 only when done;
 * null when unknown (no speed yet, or a stalled transfer).
 */
export function formatEta(seconds: number | null): string | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) {
    return null;
  }
  return formatDuration(Math.ceil(seconds) * 1000);
}

/** Whole percent done, 0–100; floor, so 100 means every byte (an empty file is done at once). */
export function percentDone(bytes: number, size: number): number {
  if (size <= 0) {
    return 100;
  }
  return Math.min(100, Math.max(0, Math.floor((bytes / size) * 100)));
}

/** A message's time of day, "14:05" (or the locale's way of writing it). */
export function formatClock(at: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }).format(at);
}

/** The short form of a hex digest for display: the first and last 8 characters. */
export function shortHash(hex: string): string {
  return hex.length <= 20 ? hex : `${hex.slice(0, 8)}…${hex.slice(-8)}`;
}

/** `YYYYMMDD-HHMMSS` in local time, for names of photos and pasted images. */
export function fileStamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`
  );
}

/** A day in the locale's short form, "2 Dec" / "12月2日": when a peer was verified. */
export function formatDay(at: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' }).format(at);
}
