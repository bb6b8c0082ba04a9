/**
 * Links in chat text, found conservatively: only `http://` and `https://` addresses made of ASCII URL
 * characters become links; everything else stays text. The result is rendered with interpolation
 * and `<a :href>`, never as HTML, so no part of a message can become markup or a script.
 */

export type TextSegment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/**
 * A scheme at a word boundary, then the characters RFC 3986 allows in a URL (no spaces, quotes, angle
 * brackets, backslashes or non-ASCII): Chinese text often runs straight on after an address without
 * a space, and that text must not become part of the link.
 */
const URL_PATTERN = /\bhttps?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+/gi;

/** Characters that end a sentence rather than an address ("see https://a.example/x."). */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', '*', '_', '~']);
const CLOSERS: Record<string, string> = { ')': '(', ']': '[' };

/** Drop sentence punctuation and unbalanced closing brackets from the end of a candidate. */
function trimEnd(candidate: string): string {
  let end = candidate.length;
  for (;;) {
    const last = candidate[end - 1];
    if (last === undefined) {
      break;
    }
    if (TRAILING.has(last)) {
      end--;
      continue;
    }
    const opener = CLOSERS[last];
    if (opener !== undefined) {
      const body = candidate.slice(0, end);
      // "(see https://en.wikipedia.org/wiki/Duet_(music))": the inner pair belongs to the address.
      if (count(body, last) > count(body, opener)) {
        end--;
        continue;
      }
    }
    break;
  }
  return candidate.slice(0, end);
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) {
    if (c === char) {
      n++;
    }
  }
  return n;
}

/**
 * The address a candidate may link to, or null. It must parse as an http(s) URL with a host, and
 * must not carry credentials: "https://bank.example@evil.example" reads like the bank but goes to
 * the other host.
 */
export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return null;
  }
  if (!url.hostname || url.username || url.password) {
    return null;
  }
  return url.href;
}

/** Split chat text into text and link segments, in order; joined, the texts give back the input. */
export function splitLinks(text: string): TextSegment[] {
  const segments: TextSegment[] = [];
  let index = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const candidate = trimEnd(match[0]);
    const href = safeHref(candidate);
    // A rejected candidate stays in the text before the next link.
    if (href === null) {
      continue;
    }
    if (match.index > index) {
      segments.push({ kind: 'text', text: text.slice(index, match.index) });
    }
    segments.push({ kind: 'link', text: candidate, href });
    index = match.index + candidate.length;
  }
  if (index < text.length) {
    segments.push({ kind: 'text', text: text.slice(index) });
  }
  return segments;
}
