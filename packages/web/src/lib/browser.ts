/**
 * The few browser globals the UI needs, in one typed place. Components call these instead of
 * reaching for `window`/`navigator` themselves, which keeps them easy to read and to test.
 */

/** getUserMedia exists only in a secure context: HTTPS, or http://localhost. */
export function isSecureOrigin(): boolean {
  return window.isSecureContext;
}

/** Screen capture: missing on most phones (and on insecure origins, where mediaDevices is absent). */
export function canShareScreen(): boolean {
  const devices = navigator.mediaDevices as MediaDevices | undefined;
  return typeof devices?.getDisplayMedia === 'function';
}

/** Rejects where the Clipboard API is unavailable (insecure origin) or refused. */
export async function copyText(text: string): Promise<void> {
  const clipboard = navigator.clipboard as Clipboard | undefined;
  if (!clipboard) {
    throw new Error('Clipboard API unavailable');
  }
  await clipboard.writeText(text);
}

export function setDocumentTitle(title: string): void {
  document.title = title;
}

export function reloadPage(): void {
  window.location.reload();
}

/** Whether keyboard focus is inside `element`. */
export function containsFocus(element: Element | null | undefined): boolean {
  return element?.contains(document.activeElement) ?? false;
}
