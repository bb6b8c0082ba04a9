/**
 * How the e2e tests launch browsers: Debian's Chromium and Firefox ESR, never a downloaded build
 * (see TESTING.md). Shared by playwright.config.ts and the tests that launch a browser of their own.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/** Chromium flags for headless calls on one machine, from TESTING.md, minus the fake permission UI. */
const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these three, Chromium floods the closed network with refused connections.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--auto-select-desktop-capture-source=Entire screen',
  // Without it, a host with only `lo` gathers no ICE candidates at all.
  '--allow-loopback-in-peer-connection',
  // Host candidates as mDNS names would need multicast to resolve.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // The remote <video> carries the peer's audio; it must play without a click.
  '--autoplay-policy=no-user-gesture-required',
];

/** Every page may use the fake camera, microphones (three) and screen (1280x720) without a prompt. */
export const CHROMIUM_ARGS = [...CHROMIUM_BASE_ARGS, '--use-fake-ui-for-media-stream'];

/**
 * A browser whose user says no: without the fake UI, headless Chromium answers every camera and
 * microphone request with NotAllowedError (checked: the same with and without the deny flag).
 */
export const CHROMIUM_DENYING_ARGS = [...CHROMIUM_BASE_ARGS, '--deny-permission-prompts'];

/** Firefox ESR prefs: fake devices, no permission prompt, autoplay with sound allowed. */
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // The app picks its language from the browser's: the tests read the English texts.
  'intl.accept_languages': 'en-US',
} as const;
