import { existsSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { sanitizeFileName } from '@duet/rtc';

/** Different names tried for one file before giving up (`name (1).ext` … `name (999).ext`). */
const MAX_NUMBERED = 999;

/**
 * Where a received file goes: `dir` plus the peer's name made safe (the core's sanitizeFileName:
 * no directories, no leading dots, no control or bidi characters). Never outside `dir`, checked
 * again on the final path; never over an existing file (or one being received) unless `force`:
 * `name (1).ext`, `name (2).ext`, … instead.
 */
export function chooseTargetPath(
  dir: string,
  offeredName: string,
  options: { force: boolean; taken?: ReadonlySet<string>; exists?: (path: string) => boolean },
): string {
  const root = resolve(dir);
  const safe = sanitizeFileName(offeredName);
  const exists = options.exists ?? existsSync;
  const taken = options.taken ?? new Set<string>();
  const busy = (path: string) => taken.has(path) || (!options.force && exists(path));
  const ext = extname(safe);
  const stem = ext ? safe.slice(0, -ext.length) : safe;
  for (let n = 0; n <= MAX_NUMBERED; n++) {
    const name = n === 0 ? safe : `${stem} (${n})${ext}`;
    const path = inside(root, name);
    if (!busy(path)) {
      return path;
    }
  }
  throw new Error(`no free name for ${safe} in ${root}`);
}

/** `root/name`, refusing anything that would land elsewhere (defence in depth after sanitising). */
export function inside(root: string, name: string): string {
  const path = resolve(join(root, name));
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || basename(path) !== rel) {
    throw new Error(`refusing a file name outside the output directory: ${JSON.stringify(name)}`);
  }
  return path;
}
