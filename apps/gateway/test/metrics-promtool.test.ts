/**
 * /metrics as Prometheus sees it (issue #13, point 6): served on METRICS_PORT, not on the HTTP port,
 * and clean for `promtool check metrics` (Debian's prometheus package; scripts/test.sh installs it),
 * for the gateway (with the embedded admin API's series) and for the standalone admin API.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { runAdminServer } from '@voiceroom/admin';
import { MemoryExchange, type BusStats } from '@voiceroom/bus';
import { ConfigError, loadAdminConfig, loadConfig } from '@voiceroom/config';
import { joinToken, RecordingClient, TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import { adminCaller, startGateway } from './helpers';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const KEY = 'metrics-bootstrap-key-0123456789';

/** `promtool check metrics` on `text`: exit code and what it said. */
function checkMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw new Error(`${PROMTOOL} could not be run (${run.error.message}): apt-get install prometheus, or set PROMTOOL`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Value of the sample `name{labels}` (labels in any order, all of them given), or undefined. */
function sample(text: string, series: string): number | undefined {
  const [, name, labels = ''] = /^([^{]+)(?:\{(.*)\})?$/.exec(series) ?? [];
  const wanted = labels.split(',').filter(Boolean).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').split(',').filter(Boolean).sort().join(',') === wanted) return Number(m[3]);
  }
  return undefined;
}

describe('gateway with the embedded admin API, METRICS_PORT=0', () => {
  let dir: string;
  let gateway: { app: FastifyInstance; url: string; http: string };
  let metricsUrl: string;
  const clients: RecordingClient[] = [];
  const api = adminCaller(() => gateway.app, KEY);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voiceroom-metrics-'));
    const admin = loadAdminConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: `sqlite:${join(dir, 'voiceroom.db')}`,
      ADMIN_BOOTSTRAP_KEY: KEY,
    });
    gateway = await startGateway({ ADMIN_API: 'embedded', METRICS_PORT: '0' }, { admin });
    const port = await gateway.app.metricsServer!.listen('127.0.0.1', 0);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await waitFor('the embedded admin API to have its database', async () => (await api('GET', '/v1/rooms')).status === 200);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics on the metrics port only', async () => {
    expect((await fetch(`${gateway.http}/metrics`)).status).toBe(404);
    const other = await fetch(metricsUrl.replace('/metrics', '/healthz'));
    expect(other.status).toBe(404);
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
  });

  it('times joins, own event-log entries and admin requests, and passes promtool check metrics', async () => {
    await waitFor('ready', async () => (await fetch(`${gateway.http}/readyz`)).status === 200);
    const client = await RecordingClient.join(gateway.url, joinToken('ana', 'metrics-room', 'host'));
    clients.push(client);
    expect((await api('GET', '/v1/rooms/metrics-room/members')).status).toBe(200);
    const text = await (await fetch(metricsUrl)).text();

    expect(sample(text, 'voiceroom_join_duration_seconds_count{node="gw-test"}')).toBe(1);
    expect(sample(text, 'voiceroom_join_duration_seconds_bucket{le="10",node="gw-test"}')).toBe(1);
    expect(sample(text, 'voiceroom_join_duration_seconds_bucket{le="+Inf",node="gw-test"}')).toBe(1);
    // The join and the beats: own entries, applied here.
    expect(sample(text, 'voiceroom_cluster_log_round_trip_seconds_count{node="gw-test"}')).toBeGreaterThan(0);
    // No voice from another node on a memory bus: the histogram is there, empty.
    expect(sample(text, 'voiceroom_voice_remote_frame_age_seconds_count{node="gw-test"}')).toBe(0);
    expect(
      sample(text, 'voiceroom_admin_http_request_duration_seconds_count{method="GET",route="/v1/rooms/:roomId/members",status_class="2xx",node="gw-test"}'),
    ).toBe(1);
    expect(text).toContain('voiceroom_bus_voice_lag_seconds{node="gw-test"}');
    expect(text).not.toContain('voice_lag_ms');
    expect(text).not.toMatch(/^voiceroom_nodejs_active_\w+_total/m);

    const check = checkMetrics(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('cross-node frame age at relay', () => {
  it('observes, per relayed frame, the age the bus computed for its batch (now − birth)', async () => {
    const exchange = new MemoryExchange();
    const fast = { NODE_BEAT_INTERVAL_MS: '100', NODE_TIMEOUT_MS: '1000', CLUSTER_SYNC_TIMEOUT_MS: '300', METRICS_PORT: '0' };
    const one = await startGateway({ ...fast, NODE_ID: 'gw-a' }, { exchange });
    const two = await startGateway({ ...fast, NODE_ID: 'gw-b' }, { exchange });
    const clients: RecordingClient[] = [];
    try {
      // The memory bus knows no birth time: make gw-b's bus answer as RocketMQ's does, 42 ms after birth.
      const bus = two.app.gateway.bus;
      const stats = bus.stats.bind(bus);
      Object.defineProperty(bus, 'kind', { value: 'rocketmq' });
      bus.stats = (): BusStats => ({ ...stats(), lastVoiceLagMs: 42 });
      for (const g of [one, two]) await waitFor('the gateways ready', async () => (await fetch(`${g.http}/readyz`)).status === 200);
      const speaker = await RecordingClient.join(one.url, joinToken('sam', 'age-room', 'host'));
      const listener = await RecordingClient.join(two.url, joinToken('lea', 'age-room', 'listener'));
      clients.push(speaker, listener);
      await waitFor("sam in lea's roster", () => listener.rosterUsers().includes('sam'));
      await speaker.speak(10, 7, 5);
      await waitFor('lea hears every frame', () => listener.heardFrom(speaker.sid).length === 10);
      const port = await two.app.metricsServer!.listen('127.0.0.1', 0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(sample(text, 'voiceroom_voice_remote_frame_age_seconds_count{node="gw-b"}')).toBe(10);
      expect(sample(text, 'voiceroom_voice_remote_frame_age_seconds_bucket{le="0.03",node="gw-b"}')).toBe(0);
      expect(sample(text, 'voiceroom_voice_remote_frame_age_seconds_bucket{le="0.05",node="gw-b"}')).toBe(10);
      expect(sample(text, 'voiceroom_voice_remote_frame_age_seconds_sum{node="gw-b"}')).toBeCloseTo(0.42, 6);
      expect(checkMetrics(text).status).toBe(0);
    } finally {
      for (const c of clients) c.close();
      await two.app.close();
      await one.app.close();
    }
  });
});

describe('gateway in development and test, and in production', () => {
  it('keeps /metrics on the HTTP port unless METRICS_PORT is set; defaults to 9464 in production', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).metricsPort).toBe('main');
    expect(loadConfig({}).metricsPort).toBe('main');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), NODE_ID: 'gw-1' }).metricsPort).toBe(9464);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), NODE_ID: 'gw-1', METRICS_PORT: 'main' }).metricsPort).toBe('main');
    expect(loadConfig({ METRICS_PORT: '9100' }).metricsPort).toBe(9100);
    expect(loadAdminConfig({ NODE_ENV: 'test' }).metricsPort).toBe('main');
    expect(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow(/METRICS_PORT: must differ from PORT/);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: 'public' })).toThrow(/METRICS_PORT/);
  });

  it('serves /metrics on the HTTP port with METRICS_PORT=main, as before', async () => {
    const g = await startGateway({ METRICS_PORT: 'main' });
    try {
      expect(g.app.metricsServer).toBeUndefined();
      const text = await (await fetch(`${g.http}/metrics`)).text();
      expect(checkMetrics(text).status).toBe(0);
    } finally {
      await g.app.close();
    }
  });
});

describe('standalone admin API, METRICS_PORT=0', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof runAdminServer>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voiceroom-admin-metrics-'));
    const config = loadAdminConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      NODE_ID: 'admin-metrics',
      LOG_LEVEL: 'silent',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: `sqlite:${join(dir, 'admin.db')}`,
      ADMIN_BOOTSTRAP_KEY: KEY,
      NODE_BEAT_INTERVAL_MS: '200',
      NODE_TIMEOUT_MS: '1000',
      CLUSTER_SYNC_TIMEOUT_MS: '200',
    });
    server = await runAdminServer(config);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics on its own port, clean for promtool, without doubled process_ names', async () => {
    const http = `http://127.0.0.1:${server.port}`;
    expect(server.metricsPort).toBeGreaterThan(0);
    expect((await fetch(`${http}/metrics`)).status).toBe(404);
    await waitFor('the admin API to answer', async () => (await fetch(`${http}/v1/rooms`, { headers: { authorization: `Bearer ${KEY}` } })).status === 200);
    const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(text).not.toContain('process_process_');
    expect(text).toContain('voiceroom_admin_process_cpu_seconds_total{node="admin-metrics"}');
    expect(text).toContain('voiceroom_admin_nodejs_eventloop_lag_seconds{node="admin-metrics"}');
    expect(
      sample(text, 'voiceroom_admin_http_request_duration_seconds_count{method="GET",route="/v1/rooms",status_class="2xx",node="admin-metrics"}'),
    ).toBeGreaterThan(0);
    expect(text).toContain('voiceroom_admin_cluster_log_round_trip_seconds_count{node="admin-metrics"}');
    const check = checkMetrics(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });
});
