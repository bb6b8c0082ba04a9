/**
 * What a hostile peer can put in a file offer or a file's first bytes, made safe to show and to
 * save: a base name that cannot climb directories, spoof its extension or hit a reserved device
 * name, and an image type decided by magic bytes rather than by the declared MIME type.
 */

/** Longest name kept, in characters (code points); leaves room below the usual 255-byte limits. */
export const MAX_FILE_NAME_LENGTH = 200;

/** An extension longer than this is not worth keeping when a name is shortened. */
const MAX_KEPT_EXTENSION_LENGTH = 20;

const FALLBACK_NAME = 'file';

// C0 and C1 controls and DEL: invisible, and some terminals and file systems act on them.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Bidirectional overrides, embeddings, isolates and marks ("invoice\u202Efdp.exe" shows as
 * "invoiceexe.pdf"), plus zero-width characters and the BOM, which hide what a name really says.
 */
const INVISIBLE_FORMATTING = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Characters Windows refuses in names (`:` would even address an NTFS alternate data stream). */
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;

/** Device names Windows reserves with any extension: `CON`, `nul.txt`, `LPT1.tar.gz`. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * Reduce a name chosen by the peer to a safe base name: no directories (either separator), no
 * control or bidi characters, no leading dots (hidden files, `..`), no trailing dots or spaces
 * (Windows strips them, so `a.exe.` becomes `a.exe`), no reserved device names, at most
 * {@link MAX_FILE_NAME_LENGTH} characters with the extension kept. Never empty: `file` instead.
 */
export function sanitizeFileName(raw: string): string {
  let name = raw.normalize('NFC').replace(CONTROL_CHARACTERS, '').replace(INVISIBLE_FORMATTING, '');
  // The base name: whatever follows the last separator of either platform.
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(WINDOWS_FORBIDDEN, '_');
  name = trimEnds(name);
  if (WINDOWS_RESERVED.test(name)) {
    name = `_${name}`;
  }
  name = truncateKeepingExtension(name, MAX_FILE_NAME_LENGTH);
  return name === '' ? FALLBACK_NAME : name;
}

/** Strip surrounding whitespace, leading dots and trailing dots and spaces (to a fixed point). */
function trimEnds(name: string): string {
  let previous: string;
  do {
    previous = name;
    name = name
      .trim()
      .replace(/^\.+/, '')
      .replace(/[. ]+$/, '');
  } while (name !== previous);
  return name;
}

function truncateKeepingExtension(name: string, limit: number): string {
  const characters = Array.from(name); // code points: never split a surrogate pair
  if (characters.length <= limit) {
    return name;
  }
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(name.slice(dot)) : [];
  const keep = extension.length > 1 && extension.length <= MAX_KEPT_EXTENSION_LENGTH ? extension : [];
  const base = characters.slice(0, limit - keep.length).join('');
  return trimEnds(base) + keep.join('');
}

/** Raster image types Duet previews. SVG is absent on purpose: it is a document that can run script. */
export type ImageMime = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** How many leading bytes {@link sniffImageType} needs. */
export const IMAGE_SNIFF_BYTES = 12;

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0): boolean =>
  bytes.length >= at + signature.length && signature.every((value, i) => bytes[at + i] === value);

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');

/**
 * The image type of a file by its first bytes (the WHATWG MIME-sniffing signatures), or null.
 * The declared MIME type and the name are never consulted: a peer controls both.
 */
export function sniffImageType(head: Uint8Array): ImageMime | null {
  if (startsWith(head, PNG)) {
    return 'image/png';
  }
  if (startsWith(head, JPEG)) {
    return 'image/jpeg';
  }
  if (startsWith(head, GIF87) || startsWith(head, GIF89)) {
    return 'image/gif';
  }
  if (startsWith(head, RIFF) && startsWith(head, WEBP, 8)) {
    return 'image/webp';
  }
  return null;
}

/** The first bytes of a file, kept as its chunks pass, to tell a raster image by its signature. */
export class ImageSniffer {
  private readonly head = new Uint8Array(IMAGE_SNIFF_BYTES);
  private headLength = 0;

  /** The next chunk of the file, in order. */
  add(bytes: Uint8Array): void {
    if (this.headLength < this.head.byteLength) {
      const part = bytes.subarray(0, this.head.byteLength - this.headLength);
      this.head.set(part, this.headLength);
      this.headLength += part.byteLength;
    }
  }

  /** The image type of what was added (see {@link sniffImageType}), or null. */
  imageType(): ImageMime | null {
    return sniffImageType(this.head.subarray(0, this.headLength));
  }
}
