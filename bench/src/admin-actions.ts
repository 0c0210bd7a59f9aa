/**
 * Admin-action benchmark: how long an action at the admin API takes to reach the member it
 * concerns, across processes: the admin API (its own process, MariaDB) and gateway processes,
 * joined by RocketMQ only. Measures, from the HTTP request's start:
 *   - kick: until the kicked member's socket is closed (4403) on its gateway;
 *   - mute: until another member of the room (on the other gateway) gets `members_updated`;
 *   - notice: until every member of the room has it;
 *   - the HTTP response time of each.
 * See docs/benchmarks.md.
 *
 *   npm run bench:admin -- --rooms 10 --members 10 --nodes 2
 *
 * Needs RocketMQ up (bash rocketmq/rocketmq.sh up) and MariaDB/MySQL (TEST_MYSQL_URL).
 */
import WebSocket from 'ws';
import { VoiceRoomClient, type WebSocketFactory } from '@voiceroom/client';
import { createTestDatabase, GatewayProcess, requireRocketMQ, sleep } from '@voiceroom/testkit';
import { Histogram } from './histogram';

const KEY = 'bench-admin-bootstrap-key-0123456789';
const log = (line: string) => process.stderr.write(`[bench:admin] ${line}\n`);

function parse(argv: string[]): { rooms: number; members: number; nodes: number } {
  const o = { rooms: 10, members: 10, nodes: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], Number(argv[i + 1])];
    if (flag === '--rooms') o.rooms = value;
    else if (flag === '--members') o.members = value;
    else if (flag === '--nodes') o.nodes = value;
    else throw new Error(`unknown option ${flag} (options: --rooms --members --nodes)`);
  }
  if (o.members < 3 || o.members > 50) throw new Error('--members must be 3..50');
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  await requireRocketMQ();
  const db = await createTestDatabase('voiceroom_bench');
  const processes: GatewayProcess[] = [];
  const clients: VoiceRoomClient[] = [];
  try {
    const env = { ROOM_CAPACITY: '50', MAX_CONNECTIONS_PER_IP: '100000', MAX_CONNECTIONS_PER_USER: '1000' };
    // Each process is recorded as soon as it runs, so a failed start of another still stops it.
    const started = await Promise.allSettled(
      [
        GatewayProcess.start({ app: 'admin', nodeId: 'bench-admin', env: { ...env, DATABASE_URL: db.url, ADMIN_BOOTSTRAP_KEY: KEY } }),
        ...[...Array(o.nodes).keys()].map((i) => GatewayProcess.start({ nodeId: `bench-adm-gw${i + 1}`, env })),
      ].map((p) => p.then((proc) => (processes.push(proc), proc))),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    processes.sort((a, b) => (a.nodeId === 'bench-admin' ? -1 : b.nodeId === 'bench-admin' ? 1 : a.nodeId.localeCompare(b.nodeId)));
    const [admin, ...gateways] = processes as [GatewayProcess, ...GatewayProcess[]];
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${admin.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    log(`admin + ${o.nodes} gateway(s) ready; ${o.rooms} rooms × ${o.members} members`);
    const rooms: VoiceRoomClient[][] = [];
    for (let r = 0; r < o.rooms; r++) {
      const id = `bench-adm-${Date.now().toString(36)}-${r}`;
      await api('POST', '/v1/rooms', { id, name: id });
      const members = await Promise.all(
        [...Array(o.members).keys()].map(async (m) => {
          const { token } = (await api('POST', `/v1/rooms/${id}/tokens`, { userId: `u${m}`, role: m === 0 ? 'host' : 'speaker' })) as { token: string };
          const client = new VoiceRoomClient(gateways[m % gateways.length]!.wsUrl, { WebSocket: WebSocket as unknown as WebSocketFactory });
          clients.push(client);
          await client.connect(token);
          return client;
        }),
      );
      rooms.push(members);
    }
    await sleep(1000);
    const kick = new Histogram(0.5, 10_000);
    const mute = new Histogram(0.5, 10_000);
    const notice = new Histogram(0.5, 10_000);
    const http = new Histogram(0.5, 10_000);
    for (const [r, members] of rooms.entries()) {
      const roomId = members[0]!.joined!.room;
      // mute u1 (on gateway 2 when there are two); timed at u0 (gateway 1).
      let t0 = performance.now();
      const muted = new Promise<void>((resolve) => members[0]!.once('members_updated', () => resolve()));
      await api('POST', `/v1/rooms/${roomId}/members/u1/mute`, { muted: true });
      http.record(performance.now() - t0);
      await muted;
      mute.record(performance.now() - t0);
      // notice to everyone
      t0 = performance.now();
      const all = Promise.all(members.map((c) => new Promise<void>((resolve) => c.once('notice', () => resolve()))));
      await api('POST', `/v1/rooms/${roomId}/notices`, { text: `notice ${r}` });
      http.record(performance.now() - t0);
      await all;
      notice.record(performance.now() - t0);
      // kick u2; timed at its own socket close
      t0 = performance.now();
      const closed = new Promise<void>((resolve) => members[2]!.once('close', () => resolve()));
      await api('POST', `/v1/rooms/${roomId}/members/u2/kick`);
      http.record(performance.now() - t0);
      await closed;
      kick.record(performance.now() - t0);
    }
    const fmt = (h: Histogram) => {
      const s = h.summary();
      return `n=${s.n} p50=${s.p50.toFixed(1)} p90=${s.p90.toFixed(1)} p99=${s.p99.toFixed(1)} max=${s.max.toFixed(1)} ms`;
    };
    process.stdout.write(
      [
        `admin mute → other member (cross node): ${fmt(mute)}`,
        `admin notice → every member:            ${fmt(notice)}`,
        `admin kick → member's socket closed:     ${fmt(kick)}`,
        `admin HTTP response (applied on log):    ${fmt(http)}`,
      ].join('\n') + '\n',
    );
  } finally {
    for (const c of clients) c.close();
    await Promise.allSettled(processes.map((p) => p.stop()));
    await db.drop();
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
