import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DuetServer } from '@duet/server';
import { io } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@duet/protocol';
import { parseConfig } from '@duet/server';
import { activeCall, connectClient, startTestServer, type TestClient } from './support.js';

describe('HTTP and lifecycle', () => {
  let server: DuetServer | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.close();
    }
    await server?.close();
    server = undefined;
  });

  it('answers /healthz and /readyz, with security headers', async () => {
    server = await startTestServer();
    const health = await fetch(`${server.url()}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(health.headers.get('permissions-policy')).toContain('camera=(self)');
    expect(await (await fetch(`${server.url()}/readyz`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${server.url()}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('exports Prometheus metrics: sockets, rooms, calls by state, relayed and refused messages', async () => {
    server = await startTestServer();
    const c = await activeCall(server);
    clients.push(c.a, c.b);
    await c.a.request('signal', {
      callId: c.callId,
      to: c.bId,
      data: { kind: 'candidate', candidate: null },
    });
    await c.a.rawWithAck('room:join', null);
    const text = await (await fetch(`${server.url()}/metrics`)).text();
    expect(text).toContain('duet_sockets 2');
    expect(text).toContain('duet_rooms 1');
    expect(text).toContain('duet_users 2');
    expect(text).toContain('duet_calls{state="active"} 1');
    expect(text).toContain('duet_calls{state="ringing"} 0');
    expect(text).toContain('duet_relayed_messages_total{kind="candidate"} 1');
    expect(text).toContain('duet_refused_messages_total{code="invalid_payload"} 1');
    expect(text).toContain('duet_process_resident_memory_bytes');
  });

  it('keeps /metrics to this host, or to holders of the metrics token', async () => {
    server = await startTestServer({ trustProxy: true });
    const get = (headers: Record<string, string> = {}) => fetch(`${server!.url()}/metrics`, { headers });
    expect((await get()).status).toBe(200);
    // Through a reverse proxy, for a client on the internet.
    expect((await get({ 'X-Forwarded-For': '203.0.113.9' })).status).toBe(403);
    await server.close();

    const token = 'metrics-token-0123456789';
    server = await startTestServer({ metricsToken: token });
    expect((await get()).status).toBe(403);
    expect((await get({ Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(403);
    const allowed = await get({ Authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('duet_sockets');
  });

  it('serves the built web app with an SPA fallback, and says so when it is not built', async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'duet-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Duet</title>');
    server = await startTestServer({ webRoot });
    for (const path of ['/', '/some/room/link']) {
      const page = await fetch(`${server.url()}${path}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Duet</title>');
    }
    await server.close();
    server = await startTestServer({ webRoot: join(webRoot, 'missing') });
    expect(await (await fetch(`${server.url()}/`)).text()).toContain('web app is not built');
    expect((await fetch(`${server.url()}/nope`)).status).toBe(404);
  });

  it('shuts down gracefully: tells clients, refuses new work, closes within the bound', async () => {
    server = await startTestServer({ shutdownTimeoutMs: 2000 });
    const client = await connectClient(server);
    clients.push(client);
    const url = server.url();
    const disconnected = new Promise((resolve) => client.socket.once('disconnect', resolve));
    const started = Date.now();
    const closing = server.close();
    expect(await client.next('server:shutdown')).toEqual({ retryAfterMs: expect.any(Number) });
    await closing;
    expect(Date.now() - started).toBeLessThan(2000);
    await disconnected;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    server = undefined;
  });

  it('serves HTTPS with a self-signed certificate made at start (LAN mode), Socket.IO included', async () => {
    server = await startTestServer({ https: true });
    const url = server.url();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { status, certificate } = await new Promise<{ status: number; certificate: string }>(
      (resolve, reject) => {
        get(`${url}/healthz`, { rejectUnauthorized: false }, (response) => {
          const socket = response.socket;
          if (!(socket instanceof TLSSocket)) {
            throw new Error('not a TLS connection');
          }
          const peer = socket.getPeerCertificate();
          response.resume();
          resolve({ status: response.statusCode ?? 0, certificate: peer.subjectaltname ?? '' });
        }).on('error', reject);
      },
    );
    expect(status).toBe(200);
    expect(certificate).toContain('DNS:localhost');
    expect(certificate).toContain('IP Address:127.0.0.1');
    const socket = io(url, {
      auth: { protocolVersion: PROTOCOL_VERSION },
      transports: ['websocket'],
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) =>
      socket.once('connect', resolve).once('connect_error', reject),
    );
    socket.close();
  });

  it('refuses a certificate without its key', () => {
    expect(() => parseConfig({ https: true, tlsCert: '/etc/duet/cert.pem' })).toThrow(
      /both a certificate and a key/,
    );
  });
});
