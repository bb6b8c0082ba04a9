/**
 * Scale-out in the browser: two built Duet processes sharing a real redis-server. Two Chromium
 * people connected to different processes call each other through the UI; then the same through
 * HAProxy (the configuration in docs/deploy.md, run as it is but for ports and TLS) in front of
 * both, where stopping the process that holds the call moves both people to the other one and the
 * call goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCall } from './chat-helpers.js';
import { expect, test } from './fixtures.js';
import { Person } from './person.js';
import { startServer, type RunningServer } from './server.js';

const DEPLOY_DOC = fileURLToPath(new URL('../docs/deploy.md', import.meta.url));
const START_TIMEOUT_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A child process started by this test, stopped by its PID (SIGTERM, then SIGKILL after a bound). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Start `command` and resolve once a line of its output matches `ready`. */
async function startChild(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`));
    });
  });
  return child;
}

/** The HAProxy configuration from docs/deploy.md, on loopback ports, plain HTTP. */
async function haproxyConfig(port: number, nodes: RunningServer[]): Promise<string> {
  const doc = await readFile(DEPLOY_DOC, 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) {
    throw new Error('docs/deploy.md has no ```haproxy block');
  }
  const [a, b] = nodes;
  return (
    block
      .replace(/^(\s*)bind .*$/m, `$1bind 127.0.0.1:${port}`)
      // The test serves plain HTTP on loopback: a Secure cookie would not come back.
      .replace(/ httponly secure$/m, ' httponly')
      // /metrics stays denied for the browsers here (they are not on 10.0.0.0/8).
      .replace(/127\.0\.0\.1:3001/, `127.0.0.1:${a!.port}`)
      .replace(/127\.0\.0\.1:3002/, `127.0.0.1:${b!.port}`)
  );
}

async function socketsOn(node: RunningServer): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('duet_sockets'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : -1;
}

function serverConnection(): string {
  return window.__duet!.snapshot.connection;
}

async function call(alice: Person, bob: Person): Promise<void> {
  await alice.expectListed('Bob', 'Free');
  await bob.expectListed('Alice', 'Free');
  await startCall(alice, bob);
  await alice.expectRemoteMediaFlowing();
  await bob.expectRemoteMediaFlowing();
}

test.describe('scale-out: two Duet processes over Redis', () => {
  test.describe.configure({ timeout: 120_000 });
  let redis: ChildProcess;
  let redisUrl: string;
  let nodes: RunningServer[];

  test.beforeEach(async () => {
    const port = await freePort();
    redis = await startChild(
      '/usr/bin/redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      /Ready to accept connections/,
    );
    redisUrl = `redis://127.0.0.1:${port}`;
    nodes = await Promise.all(
      ['node-a', 'node-b'].map((name) =>
        startServer({ DUET_REDIS_URL: redisUrl, DUET_NODE_NAME: name, DUET_TRUST_PROXY: 'true' }),
      ),
    );
  });

  // Playwright reads fixture dependencies from the first parameter's destructuring: `{}` is none.
  // eslint-disable-next-line no-empty-pattern
  test.afterEach(async ({}, testInfo) => {
    const unexpected = nodes.map((node) => node.unexpectedExit()).filter((e) => e !== null);
    for (const [index, node] of nodes.entries()) {
      await node.stop();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach(`node-${index}.log`, { body: node.log(), contentType: 'text/plain' });
      }
    }
    await stopChild(redis);
    expect(unexpected).toEqual([]);
  });

  test('Chromium to Chromium through the UI, each connected to a different process', async ({
    browser,
    room,
  }) => {
    const [a, b] = nodes as [RunningServer, RunningServer];
    const open = async (name: string, node: RunningServer) => {
      const context = await browser.newContext({ locale: 'en-US' });
      const person = new Person(name, room, await context.newPage(), context);
      await person.submitJoin(node.baseURL);
      await person.expectInRoom();
      return person;
    };
    const alice = await open('Alice', a);
    const bob = await open('Bob', b);
    try {
      expect([await socketsOn(a), await socketsOn(b)]).toEqual([1, 1]);
      await call(alice, bob);
      await alice.hangUp();
      await expect(bob.callState).toBeHidden();
      await bob.expectListed('Alice', 'Free');
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test('through HAProxy: a call works, and stopping its process moves both people to the other', async ({
    browser,
    room,
  }) => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'duet-haproxy-'));
    const config = join(dir, 'haproxy.cfg');
    await writeFile(config, await haproxyConfig(port, nodes));
    // -db: stay in the foreground, logs to the terminal; -W: master-worker (clean SIGTERM).
    const haproxy = spawn('/usr/sbin/haproxy', ['-W', '-db', '-f', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let haproxyLog = '';
    haproxy.stdout.on('data', (c: Buffer) => (haproxyLog += c.toString()));
    haproxy.stderr.on('data', (c: Buffer) => (haproxyLog += c.toString()));
    const people: Person[] = [];
    try {
      const base = `http://localhost:${port}`;
      await expect
        // 127.0.0.1: Node may resolve localhost to ::1 first, where HAProxy does not listen.
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status, {
          message: `HAProxy answers on ${base}\n${haproxyLog}`,
        })
        .toBe(200);
      for (const name of ['Alice', 'Bob']) {
        const context = await browser.newContext({ locale: 'en-US' });
        const person = new Person(name, room, await context.newPage(), context);
        people.push(person);
        await person.submitJoin(base);
        await person.expectInRoom();
      }
      const [alice, bob] = people as [Person, Person];
      await call(alice, bob);

      // Stop the process that holds more of the two (round robin usually gave one each).
      const counts = await Promise.all(nodes.map(socketsOn));
      expect(counts[0]! + counts[1]!).toBe(2);
      const victim = counts[0]! >= counts[1]! ? 0 : 1;
      const survivor = nodes[1 - victim]!;
      await nodes[victim]!.stop();
      await expect
        .poll(() => socketsOn(survivor), {
          message: 'both browsers on the remaining process',
          timeout: 30_000,
        })
        .toBe(2);
      for (const person of [alice, bob]) {
        await expect
          .poll(() => person.evaluate(serverConnection, undefined), { timeout: 20_000 })
          .toBe('connected');
        await expect(person.callState).toHaveText('Connected');
      }
      await alice.expectRemoteMediaFlowing();
      await bob.expectRemoteMediaFlowing();
      // The call is still a call to the server: the hang-up reaches the peer through it.
      await bob.hangUp();
      await expect(alice.callState).toBeHidden();
      await alice.expectListed('Bob', 'Free');
    } finally {
      for (const person of people) {
        await person.context.close();
      }
      await stopChild(haproxy);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
