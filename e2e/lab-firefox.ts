/**
 * Firefox ESR inside one of the NAT lab's client namespaces (netns.ts), driven by puppeteer-core over
 * WebDriver BiDi. Playwright reaches a namespaced Chromium over inherited pipes; Firefox's BiDi is a
 * WebSocket on the namespace's own loopback, which the host cannot reach. So a relay inside the
 * namespace serves that port on a Unix socket (the file system is shared across network namespaces),
 * and a relay in this process serves the Unix socket on the host's loopback for puppeteer. Every
 * process runs inside the lab's namespace, which the lab's teardown empties and deletes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer, { type Browser } from 'puppeteer-core';
import { FIREFOX_PATH, FIREFOX_PREFS } from './browsers.js';
import { LAB_SERVER_IP, type LabSite } from './netns.js';

const START_TIMEOUT_MS = 30_000;

/** In the namespace: serve the Unix socket argv[1] by connecting each client to 127.0.0.1:argv[2]. */
const NAMESPACE_RELAY = `
const net = require('node:net');
const [path, port] = process.argv.slice(1);
net.createServer((client) => {
  const upstream = net.connect(Number(port), '127.0.0.1');
  client.pipe(upstream).on('error', () => upstream.destroy());
  upstream.pipe(client).on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}).listen(path, () => console.log('ready'));
`;

const PREFS: Record<string, string | number | boolean> = {
  ...FIREFOX_PREFS,
  // The app is plain HTTP on the lab's address: a secure context there anyway (WebCrypto, workers).
  'dom.securecontext.allowlist': LAB_SERVER_IP,
  // Plain host candidates: nothing in the lab resolves mDNS names.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
};

export interface LabFirefox {
  browser: Browser;
  close(): Promise<void>;
}

function waitForLine(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  match: RegExp,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const source = child[stream];
    if (!source) {
      reject(new Error(`${what}: no ${stream}`));
      return;
    }
    const seen: string[] = [];
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start:\n${seen.join('\n')}`)),
      START_TIMEOUT_MS,
    );
    createInterface({ input: source }).on('line', (line) => {
      seen.push(line);
      if (match.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${seen.join('\n')}`));
    });
  });
}

/** Firefox in `site`'s client namespace, connected over BiDi. */
export async function launchLabFirefox(site: LabSite): Promise<LabFirefox> {
  const dir = await mkdtemp(join(tmpdir(), 'duet-lab-firefox-'));
  const profile = join(dir, 'profile');
  const socket = join(dir, 'bidi.sock');
  const children: ChildProcess[] = [];
  let hostRelay: Server | null = null;
  const close = async (): Promise<void> => {
    hostRelay?.close();
    for (const child of children) {
      child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(profile);
    await writeFile(
      join(profile, 'user.js'),
      Object.entries(PREFS)
        .map(([key, value]) => `user_pref(${JSON.stringify(key)}, ${JSON.stringify(value)});`)
        .join('\n'),
    );
    // Firefox accepts a BiDi connection only when its Host header names the port it listens on: so
    // it listens inside the namespace on the port the host relay got here.
    hostRelay = createServer((client) => {
      const upstream = connect(socket);
      client.pipe(upstream).on('error', () => upstream.destroy());
      upstream.pipe(client).on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => hostRelay!.listen(0, '127.0.0.1', resolve));
    const { port } = hostRelay.address() as AddressInfo;
    const firefox = spawn(
      'ip',
      ['netns', 'exec', site.clientNetns, FIREFOX_PATH, '--headless', '--no-remote', '--profile', profile,
        '--remote-debugging-port', String(port), 'about:blank'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ); // prettier-ignore
    children.push(firefox);
    await waitForLine(firefox, 'stderr', /WebDriver BiDi listening on ws:\/\//, 'Firefox');
    const relay = spawn(
      'ip',
      ['netns', 'exec', site.clientNetns, process.execPath, '-e', NAMESPACE_RELAY, socket, String(port)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(relay);
    await waitForLine(relay, 'stdout', /^ready$/, 'the namespace relay');
    const browser = await puppeteer.connect({
      browserWSEndpoint: `ws://127.0.0.1:${port}/session`,
      protocol: 'webDriverBiDi',
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => undefined);
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
