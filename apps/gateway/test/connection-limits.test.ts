/**
 * Connection limits that cannot be walked around: slots counted from the TCP accept to the TCP
 * close (a socket the gateway closed keeps its slot until the client answers or the close
 * timeout destroys it; a partial upgrade holds one too, until the header timeout), a cap for the
 * node, and WebSocket upgrades only on GET /ws.
 */
import * as net from 'node:net';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { sleep, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { rawHttp, RawWebSocket, text, upgradeRequest } from './raw-ws';

type Gateway = { app: FastifyInstance; url: string; http: string };
const started: Gateway[] = [];

async function gateway(env: Record<string, string>): Promise<Gateway> {
  const g = await startGateway({ DRAIN_SPREAD_MS: '0', ...env });
  started.push(g);
  return g;
}
afterAll(async () => {
  await Promise.all(started.map((g) => g.app.close()));
});

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const errorCode = (body: string) => (JSON.parse(body) as { error: { code: string; message: string } }).error.code;
const upgrade = (g: Gateway, path = '/ws') => rawHttp(g.url, upgradeRequest(g.url, path));

describe('WebSocket upgrades only on GET /ws', () => {
  it.each(['/', '/healthz', '/metrics', '/ws/../ws', '/ws/', '//ws', '/WS', '/ws%2F', '/nothing-here'])(
    'answers an upgrade on %s with 404 in the error shape',
    async (path) => {
      const g = started[0] ?? (await gateway({}));
      const answer = await upgrade(g, path);
      expect(answer.status).toBe(404);
      expect(errorCode(answer.body)).toBe('ROUTE_NOT_FOUND');
    },
  );

  it('upgrades GET /ws (with or without a query) and refuses other methods', async () => {
    const g = started[0] ?? (await gateway({}));
    expect((await upgrade(g, '/ws')).status).toBe(101);
    expect((await upgrade(g, '/ws?v=1')).status).toBe(101);
    const post = await rawHttp(g.url, upgradeRequest(g.url, '/ws', 'POST'));
    expect(post.status).toBe(404);
    expect(errorCode(post.body)).toBe('ROUTE_NOT_FOUND');
    const metrics = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/voiceroom_upgrades_refused_path_total\{node="gw-test"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });
});

describe('per-address slots last until the TCP connection is gone', () => {
  it('a client that does not answer close frames keeps its slots, and loses its TCP connections after WS_CLOSE_TIMEOUT_MS', async () => {
    const g = await gateway({ MAX_CONNECTIONS_PER_IP: '2', WS_CLOSE_TIMEOUT_MS: '1000' });
    const deaf = await Promise.all([1, 2].map(() => RawWebSocket.open(g.url, '/ws', { halfOpen: true })));
    for (const raw of deaf) raw.write(text('not json'));
    await Promise.all(deaf.map((raw) => raw.waitClose())); // 4400 sent; the client never answers
    const closedAt = Date.now();

    const refused = await upgrade(g);
    expect(refused.status).toBe(429);
    expect(refused.headers).toMatch(/\r\nretry-after: 5/i);
    expect(errorCode(refused.body)).toBe('TOO_MANY_CONNECTIONS');

    await waitFor('the gateway to drop the deaf connections', () => deaf.every((raw) => raw.ended), 5000);
    expect(Date.now() - closedAt).toBeLessThan(3000); // ws's own default was 30 s
    await waitFor('the slots to be free', () => upgrade(g).then((a) => a.status === 101), 3000);
    for (const raw of deaf) raw.destroy();
  });

  it('partial upgrades hold slots until the header timeout closes them with 408; a WebSocket is not timed out', async () => {
    const g = await gateway({ MAX_CONNECTIONS_PER_IP: '3', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000' });
    const ws = await open(g.url);
    const partial = await Promise.all(
      [1, 2].map(async () => {
        const raw = await rawHttpPartial(g.url, 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
        return raw;
      }),
    );
    const refused = await upgrade(g);
    expect(refused.status).toBe(429);
    const answers = await Promise.all(partial.map((p) => p.answer));
    for (const a of answers) {
      expect(a.status).toBe(408);
      expect(errorCode(a.body)).toBe('REQUEST_TIMEOUT');
    }
    expect(Math.max(...partial.map((p) => p.closedAfter()))).toBeLessThan(4000);
    await waitFor('a slot to be free', () => upgrade(g).then((a) => a.status === 101), 3000);
    await sleep(500);
    expect(ws.readyState).toBe(WebSocket.OPEN); // well past both timeouts: upgraded sockets are not timed out
    const metrics = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/voiceroom_http_request_timeouts_total\{node="gw-test"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/voiceroom_connections_refused_total\{reason="per_address",node="gw-test"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    ws.close();
  });

  it('behind a trusted proxy, counts the client address of X-Forwarded-For from the upgrade on', async () => {
    const g = await gateway({ MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: 'true' });
    const a = await Promise.all([1, 2].map(() => open(g.url, { 'x-forwarded-for': '10.0.0.1' })));
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(g.url, { headers: { 'x-forwarded-for': '10.0.0.1' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(429);
    const other = await open(g.url, { 'x-forwarded-for': '10.0.0.2' }); // the proxy's own address is not limited
    for (const ws of [...a, other]) ws.close();
  });
});

describe('MAX_CONNECTIONS', () => {
  it('refuses WebSocket upgrades with 503 while the node holds that many TCP connections; HTTP requests are still served', async () => {
    const g = await gateway({ MAX_CONNECTIONS: '3' });
    const sockets = await Promise.all([1, 2, 3].map(() => open(g.url)));
    const refused = await upgrade(g);
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatch(/\r\nretry-after: 5/i);
    expect(errorCode(refused.body)).toBe('AT_CAPACITY');
    const health = await rawHttp(g.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(health.status).toBe(200);
    const metrics = (await g.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/voiceroom_connections_refused_total\{reason="max_connections",node="gw-test"\} 1\n/);
    expect(metrics).toMatch(/voiceroom_connections\{node="gw-test"\} 3\n/);
    sockets[0]?.close();
    await waitFor('a connection to be free', () => upgrade(g).then((a) => a.status === 101), 3000);
    for (const ws of sockets) ws.close();
  });
});

/** Sends a request head that never ends; resolves at once with the eventual answer. */
function rawHttpPartial(url: string, head: string): Promise<{ answer: Promise<{ status: number; body: string }>; closedAfter: () => number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const start = Date.now();
    let closedAt = 0;
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(head);
      resolve({ answer, closedAfter: () => (closedAt || Date.now()) - start });
    });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const answer = new Promise<{ status: number; body: string }>((done) =>
      socket.on('close', () => {
        closedAt = Date.now();
        const end = data.indexOf('\r\n\r\n');
        done({ status: Number(data.split(' ')[1]), body: end < 0 ? '' : data.slice(end + 4) });
      }),
    );
  });
}
