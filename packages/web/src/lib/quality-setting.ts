import { isQualityMode, type QualityMode } from '@duet/rtc';
import { readSetting, STORAGE_KEYS, writeSetting } from './storage.js';

/** Auto unless the user chose otherwise: it is the one that suits every connection. */
export const DEFAULT_QUALITY_MODE: QualityMode = 'auto';

/** The remembered quality setting; anything unknown (an older or newer app's value) is the default. */
export function readQualityMode(): QualityMode {
  const stored = readSetting(STORAGE_KEYS.quality);
  return isQualityMode(stored) ? stored : DEFAULT_QUALITY_MODE;
}

/** Remember the setting for the next call and the next visit (nothing stored for the default). */
export function writeQualityMode(mode: QualityMode): void {
  writeSetting(STORAGE_KEYS.quality, mode === DEFAULT_QUALITY_MODE ? null : mode);
}
