/**
 * The browser side of sending and receiving files: picking a save location, writing to it, grabbing
 * a camera frame, and reading files out of drops and pastes. Components call these instead of
 * reaching for the File System Access API, canvases or DataTransfer themselves.
 */
import { WritableSink, type FileSink } from '@duet/rtc';
import { fileStamp } from './format.js';

/**
 * Above this size an incoming file goes to a file the user picks, where the browser can: memory is
 * fine for photos and documents, but a large video held as Blobs competes with the call for RAM
 * (and the core refuses more than 2 GiB without a save location).
 */
export const SAVE_TO_DISK_THRESHOLD = 256 * 1024 * 1024;

interface SaveFilePickerOptions {
  suggestedName?: string;
}
type ShowSaveFilePicker = (options?: SaveFilePickerOptions) => Promise<FileSystemFileHandle>;

function saveFilePicker(): ShowSaveFilePicker | null {
  // Chromium on desktop only; not in lib.dom (not a standard everywhere yet).
  const picker = (window as { showSaveFilePicker?: ShowSaveFilePicker }).showSaveFilePicker;
  return typeof picker === 'function' ? picker.bind(window) : null;
}

/** Whether this browser can write an incoming file straight to disk (File System Access API). */
export function canPickSaveLocation(): boolean {
  return saveFilePicker() !== null;
}

/** Whether accepting `size` bytes should ask where to save them first. */
export function shouldPickSaveLocation(size: number): boolean {
  return size > SAVE_TO_DISK_THRESHOLD && canPickSaveLocation();
}

/**
 * Ask where to save an incoming file and open it for writing. Call straight from a click handler:
 * the picker needs the user's gesture. Resolves null when the user closed the picker.
 */
export async function pickSaveSink(suggestedName: string): Promise<FileSink | null> {
  const picker = saveFilePicker();
  if (!picker) {
    return null;
  }
  let handle: FileSystemFileHandle;
  try {
    handle = await picker({ suggestedName });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') {
      return null;
    }
    throw error;
  }
  const writable = await handle.createWritable();
  // The browser writes to a temporary file and moves it into place on close(), so an aborted or
  // failed transfer never leaves a half file under the chosen name.
  return new WritableSink(writable);
}

/** The name of a photo taken now: `photo-YYYYMMDD-HHMMSS.jpg`. */
export function photoFileName(date: Date): string {
  return `photo-${fileStamp(date)}.jpg`;
}

const IMAGE_EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * A pasted image comes with no name or a generic one ("image.png" for every screenshot); give it a
 * name the receiver can tell apart: `pasted-YYYYMMDD-HHMMSS.png`.
 */
export function pastedFileName(file: { name: string; type: string }, date: Date): string {
  if (file.name && file.name !== 'image.png') {
    return file.name;
  }
  return `pasted-${fileStamp(date)}.${IMAGE_EXTENSIONS[file.type] ?? 'bin'}`;
}

/** JPEG quality of "Take photo": visually lossless for a camera frame at a fraction of PNG's size. */
const PHOTO_QUALITY = 0.9;

/**
 * The frame a `<video>` shows now, as a JPEG, at the stream's own resolution and the camera's own
 * orientation (the preview's mirroring is CSS only). Rejects when no frame is there yet.
 */
export function captureFrame(video: HTMLVideoElement): Promise<Blob> {
  const { videoWidth: width, videoHeight: height } = video;
  if (!width || !height) {
    return Promise.reject(new Error('no video frame'));
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) {
    return Promise.reject(new Error('no 2d canvas'));
  }
  context.drawImage(video, 0, 0, width, height);
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('toBlob failed'))),
      'image/jpeg',
      PHOTO_QUALITY,
    );
  });
}

/** Whether a drag carries files (not text or a link being dragged around the page). */
export function draggingFiles(transfer: DataTransfer | null): boolean {
  return transfer?.types.includes('Files') ?? false;
}

/**
 * The files of a drop or paste. Folders are left out (they arrive as empty "files" that cannot be
 * read) and counted, so the UI can say why they were not sent.
 */
export function filesOf(transfer: DataTransfer): { files: File[]; folders: number } {
  const files: File[] = [];
  let folders = 0;
  const items = Array.from(transfer.items).filter((item) => item.kind === 'file');
  if (items.length === 0) {
    return { files: Array.from(transfer.files), folders };
  }
  for (const item of items) {
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry?.isDirectory) {
      folders++;
      continue;
    }
    const file = item.getAsFile();
    if (file) {
      files.push(file);
    }
  }
  return { files, folders };
}
