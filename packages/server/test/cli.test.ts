import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONFIG_OPTIONS, ConfigSchema, loadConfig } from '@duet/server';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The real CLI, run from source (tsx), as `npm start` runs the built one. */
function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@duet/source', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, output: () => ({ stdout, stderr }) };
}

describe('configuration', () => {
  it('takes flags over env over defaults', () => {
    const config = loadConfig(['--port', '4001', '--room-capacity', '3'], {
      DUET_PORT: '5000',
      DUET_RING_TIMEOUT_MS: '1234',
      DUET_ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443',
      DUET_TRUST_PROXY: 'yes',
    });
    expect(config).toMatchObject({
      port: 4001,
      roomCapacity: 3,
      ringTimeoutMs: 1234,
      reconnectGraceMs: 15_000,
      allowedOrigins: ['https://a.example', 'https://b.example:8443'],
      trustProxy: true,
      iceServers: [],
    });
    expect(loadConfig([], { PORT: '8080' }).port).toBe(8080);
  });

  it('parses ICE servers from JSON and names every bad field', () => {
    const config = loadConfig([], { DUET_ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]' });
    expect(config.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }]);
    expect(() =>
      loadConfig(['--port', 'http'], { DUET_ROOM_CAPACITY: '1', DUET_ICE_SERVERS: '{oops' }),
    ).toThrow(
      /--port \/ DUET_PORT[\s\S]*--room-capacity \/ DUET_ROOM_CAPACITY[\s\S]*--ice-servers \/ DUET_ICE_SERVERS: must be JSON/,
    );
    expect(() => loadConfig([], { DUET_ALLOWED_ORIGINS: 'evil.example/path' })).toThrow(
      /DUET_ALLOWED_ORIGINS/,
    );
  });
});

describe('configuration surface', () => {
  it('gives every setting exactly one flag and one environment variable, all in the README', () => {
    const keys = Object.keys(ConfigSchema.shape).sort();
    expect(CONFIG_OPTIONS.map((o) => o.key).sort()).toEqual(keys);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const option of CONFIG_OPTIONS) {
      expect(readme, `README lacks ${option.env}`).toContain(`\`${option.env}\``);
    }
  });

  it.each([
    [{ DUET_TURN_URLS: 'turn:t.example.org:3478' }, /DUET_TURN_URLS: TURN URLs need the shared secret/],
    [{ DUET_TURN_SERVER: 'local' }, /DUET_TURN_RELAY_IP: a local turnserver needs/],
    [{ DUET_TURN_MIN_PORT: '50000', DUET_TURN_MAX_PORT: '40000' }, /DUET_TURN_MIN_PORT: must not exceed/],
    [
      { DUET_ICE_TRANSPORT_POLICY: 'relay' },
      /DUET_ICE_TRANSPORT_POLICY: relay-only calls need a TURN server/,
    ],
  ])('refuses settings that contradict each other: %j', (env, message) => {
    expect(() => loadConfig([], env)).toThrow(message);
  });

  it('reads TURN and HTTPS settings from the environment', () => {
    const config = loadConfig(['--turn-server', 'local'], {
      DUET_HTTPS: 'true',
      DUET_TURN_RELAY_IP: '198.51.100.7',
      DUET_TURN_URLS: 'turn:turn.example.org:3478',
      DUET_TURN_SECRET: 'a-secret-of-enough-length',
      DUET_ICE_TRANSPORT_POLICY: 'relay',
    });
    expect(config).toMatchObject({
      https: true,
      turnServer: 'local',
      turnRelayIp: '198.51.100.7',
      turnUrls: ['turn:turn.example.org:3478'],
      iceTransportPolicy: 'relay',
    });
  });
});

describe('duet-server command', () => {
  it('exits 2 with a clear message on bad configuration', async () => {
    const { child, output } = runCli(['--room-capacity', 'many']);
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(output().stderr).toContain('--room-capacity / DUET_ROOM_CAPACITY');
  });

  it('prints its configuration, serves, and stops cleanly on SIGTERM', async () => {
    const { child, output } = runCli(['--host', '127.0.0.1', '--port', '0'], { DUET_LOG_LEVEL: 'info' });
    await expect.poll(() => output().stdout, { timeout: 15_000 }).toContain('Duet is listening on');
    const logLines = output()
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; url?: string; config?: unknown });
    expect(logLines[0]).toMatchObject({ msg: 'configuration', config: { roomCapacity: 2, port: 0 } });
    const url = logLines.find((line) => line.url)!.url!;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(output().stdout).toContain('"msg":"closed"');
  });
});
