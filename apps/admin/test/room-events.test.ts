/**
 * Room events for other services (docs/events.md), against the real parts: two gateway processes
 * and an admin API process on the real RocketMQ and a real MariaDB database. A scripted session
 * (open, joins, role change, mutes, chat, kick, ban, leave, close) must reach
 * - a consumer group (orderly) on the FIFO topic: every event, in order, once;
 * - a webhook receiver started here: every event, signed, in order, once, also across a 30 s
 *   outage of the receiver in the middle of a session.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { execFile, spawnSync } from 'node:child_process';
import { join as joinPath } from 'node:path';
import { ConsumeResult, PushConsumer, type MessageView } from 'rocketmq-client-nodejs';
import type { SpeakerId } from '@voiceroom/protocol';
import {
  createTestDatabase,
  FAST_CLUSTER_ENV,
  freePort,
  GatewayProcess,
  RecordingClient,
  REPO_ROOT,
  requireRocketMQ,
  ROCKETMQ_ENDPOINTS,
  sleep,
  waitFor,
  type TestDatabase,
} from '@voiceroom/testkit';
import { verifyWebhook, SIGNATURE_HEADER, type RoomEventEnvelope } from '../src/events';

const RUN = Date.now().toString(36);
const KEY = 'bootstrap-key-for-the-room-events-test-01';
const SECRET = 'webhook-secret-for-the-room-events-test-0123456789';
const TOPIC = 'voiceroom-room-events';
// One group for every run (created orderly each time, idempotent): runs leave no group behind; events of other rooms are ignored.
const GROUP = 'voiceroom-test-room-events';
const ENV = { ...FAST_CLUSTER_ENV, COMMANDS_PER_SEC: '50', COMMAND_BURST: '50', KICK_REJOIN_BLOCK_SECONDS: '0' };

let db: TestDatabase;
let admin: GatewayProcess;
let gw1: GatewayProcess;
let gw2: GatewayProcess;
let consumer: PushConsumer | undefined;
let receiver: Receiver;
const fromTopic: RoomEventEnvelope[] = [];
const clients: RecordingClient[] = [];

/** A webhook receiver: checks every signature, keeps what it accepted, in arrival order. */
class Receiver {
  readonly events: RoomEventEnvelope[] = [];
  readonly badSignatures: string[] = [];
  requests = 0;
  private server: Server | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/voiceroom?token=abc`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      void readBody(request).then((body) => {
        this.requests++;
        const header = request.headers[SIGNATURE_HEADER];
        if (!verifyWebhook(SECRET, body, typeof header === 'string' ? header : undefined, Math.floor(Date.now() / 1000))) {
          this.badSignatures.push(body);
          response.writeHead(401).end();
          return;
        }
        const event = JSON.parse(body) as RoomEventEnvelope;
        if (request.headers['x-voiceroom-event-id'] !== event.id) this.badSignatures.push(`id header: ${body}`);
        this.events.push(event);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops kept-alive connections: the admin API's tries fail from now on. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${admin.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const res = await api(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}\n--- admin ---\n${admin.output.slice(-10).join('\n')}`);
  return res.json;
}

async function join(gateway: GatewayProcess, room: string, userId: string, role: string): Promise<RecordingClient> {
  const { token } = (await ok('POST', `/v1/rooms/${room}/tokens`, { userId, role, name: userId.toUpperCase() })) as { token: string };
  const client = new RecordingClient(gateway.wsUrl);
  clients.push(client);
  await client.connect(token);
  return client;
}

function createGroup(name: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('bash', [joinPath(REPO_ROOT, 'rocketmq/rocketmq.sh'), 'group', name, 'orderly'], { timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`rocketmq.sh group: ${error.message}\n${stdout}${stderr}`)) : resolve(),
    ),
  );
}

/** Type and subject of each event, as the assertions compare them. */
function describe_(e: RoomEventEnvelope): string {
  const d = e.data as { member?: { userId: string }; userId?: string; reason?: string; muted?: boolean; role?: string };
  const who = d.member?.userId ?? d.userId ?? '';
  const detail = d.reason ?? (d.muted !== undefined ? `muted=${d.muted}` : (d.role ?? ''));
  return [e.type, who, detail].filter((x) => x !== '').join(' ');
}

/**
 * The scripted session in `room` (listed in the directory first). `middle` runs after the joins,
 * before the moderation (the webhook test takes its receiver away there). Each step waits until
 * the host has seen its room event, so the order of the log is the order of the script.
 */
async function session(room: string, middle: () => Promise<void> = async () => undefined): Promise<string[]> {
  await ok('POST', '/v1/rooms', { id: room, name: room, capacity: 10, seats: 3 });
  const host = await join(gw1, room, 'host', 'host');
  let count = host.roomEvents.length;
  const seen = () => {
    const n = ++count;
    return waitFor(`the host to see room event ${n}`, () => host.roomEvents.length >= n, 15_000);
  };
  const bob = await join(gw2, room, 'bob', 'speaker');
  await seen();
  const carol = await join(gw1, room, 'carol', 'listener');
  await seen();
  await middle();
  const sid = (userId: string) => [...host.members.values()].find((m) => m.userId === userId)?.sid as SpeakerId;
  host.setRole(sid('carol'), 'speaker');
  await seen();
  host.mute(sid('bob'));
  await seen();
  await ok('POST', `/v1/rooms/${room}/members/carol/mute`, { muted: true });
  await seen();
  host.chat('not an event unless ROOM_EVENTS_CHAT=true');
  await seen();
  host.kick(bob.sid);
  await seen();
  await ok('POST', '/v1/bans', { userId: 'carol', roomId: room, reason: 'test' });
  await seen();
  expect((await carol.waitClosed()).code).toBe(4407);
  const dave = await join(gw2, room, 'dave', 'speaker');
  await seen();
  dave.leave();
  await seen();
  await ok('POST', `/v1/rooms/${room}/close`);
  await host.waitClosed();
  return [
    'room.opened.v1',
    'member.joined.v1 host',
    'member.joined.v1 bob',
    'member.joined.v1 carol',
    'member.role_changed.v1 carol speaker',
    'member.muted.v1 bob muted=true',
    'member.muted.v1 carol muted=true',
    'member.kicked.v1 bob',
    'member.left.v1 bob kicked',
    'member.banned.v1 carol',
    'member.left.v1 carol banned',
    'member.joined.v1 dave',
    'member.left.v1 dave left',
    'member.left.v1 host closed',
    'room.closed.v1 closed',
  ];
}

/** The value of a series of the admin's /metrics whose labels include `labels` (e.g. 'target="rocketmq"'). */
async function metric(name: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${admin.httpUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name && (m[2] ?? '').includes(labels)) return Number(m[3]);
  }
  return undefined;
}

function ofRoom(events: RoomEventEnvelope[], room: string): RoomEventEnvelope[] {
  return events.filter((e) => e.room === room);
}

beforeAll(async () => {
  await requireRocketMQ();
  db = await createTestDatabase('voiceroom_room_events');
  receiver = new Receiver(await freePort());
  await receiver.start();
  await createGroup(GROUP);
  consumer = new PushConsumer({
    endpoints: ROCKETMQ_ENDPOINTS,
    namespace: '',
    consumerGroup: GROUP,
    subscriptions: new Map([[TOPIC, '*']]),
    requestTimeout: 3000,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    messageListener: {
      consume: (message: MessageView) => {
        fromTopic.push(JSON.parse(message.body.toString('utf8')) as RoomEventEnvelope);
        return Promise.resolve(ConsumeResult.SUCCESS);
      },
    },
  });
  await consumer.startup();
  [admin, gw1, gw2] = await Promise.all([
    GatewayProcess.start({
      app: 'admin',
      nodeId: `ev-admin-${RUN}`,
      env: {
        ...ENV,
        DATABASE_URL: db.url,
        ADMIN_BOOTSTRAP_KEY: KEY,
        ROOM_EVENTS_TOPIC: TOPIC,
        WEBHOOK_URLS: receiver.url,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_RETRY_MIN_MS: '200',
        WEBHOOK_RETRY_MAX_MS: '2000',
      },
    }),
    GatewayProcess.start({ nodeId: `ev-gw1-${RUN}`, env: ENV }),
    GatewayProcess.start({ nodeId: `ev-gw2-${RUN}`, env: ENV }),
  ]);
}, 180_000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await Promise.all([admin?.stop(), gw1?.stop(), gw2?.stop(), consumer?.shutdown(), receiver?.stop()]);
  await db?.drop();
}, 60_000);

it('a consumer group on the FIFO topic and a webhook receiver see every event of a session in order, once', async () => {
  const room = `events-${RUN}`;
  const expected = await session(room);
  await waitFor('room.closed on the topic', () => ofRoom(fromTopic, room).some((e) => e.type === 'room.closed.v1'), 30_000);
  await waitFor('room.closed at the webhook', () => ofRoom(receiver.events, room).some((e) => e.type === 'room.closed.v1'), 30_000);
  const topic = ofRoom(fromTopic, room);
  expect(topic.map(describe_)).toEqual(expected);
  expect(new Set(topic.map((e) => e.id)).size).toBe(topic.length);
  // Ids name the state's room event (room, epoch, seq) and the derived event's index.
  expect(topic[0]!.id).toBe(`${room}/${topic[0]!.roomEpoch}/1/0`);
  expect(topic.map((e) => e.seq)).toEqual([...topic.map((e) => e.seq)].sort((a, b) => a - b));
  const hooked = ofRoom(receiver.events, room);
  expect(hooked).toEqual(topic);
  expect(receiver.badSignatures).toEqual([]);

  expect(await metric('voiceroom_admin_room_events_publisher')).toBe(1);
  expect(await metric('voiceroom_admin_room_events_delivered_total', 'target="rocketmq"')).toBeGreaterThanOrEqual(expected.length);
  expect(await metric('voiceroom_admin_room_events_delivered_total', 'target="webhook-0"')).toBeGreaterThanOrEqual(expected.length);
  // The series pass `promtool check metrics` (Debian's prometheus package; scripts/test.sh installs it).
  const text = await (await fetch(`${admin.httpUrl}/metrics`)).text();
  const promtool = spawnSync(process.env.PROMTOOL ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (promtool.error) throw new Error(`promtool could not be run (${promtool.error.message}): apt-get install prometheus, or set PROMTOOL`);
  expect(`${promtool.stdout}${promtool.stderr}`).toBe('');
  expect(promtool.status).toBe(0);
}, 120_000);

it('the webhook receiver gets every event after a 30 s outage, in order; the topic is not held up', async () => {
  const room = `outage-${RUN}`;
  const requestsBefore = receiver.requests;
  const expected = await session(room, async () => {
    await receiver.stop();
  });
  // The topic has the whole session while the receiver is away.
  await waitFor('room.closed on the topic', () => ofRoom(fromTopic, room).some((e) => e.type === 'room.closed.v1'), 30_000);
  expect(ofRoom(receiver.events, room).length).toBeLessThan(expected.length);
  await sleep(30_000);
  await receiver.start();
  await waitFor('room.closed at the webhook', () => ofRoom(receiver.events, room).some((e) => e.type === 'room.closed.v1'), 30_000);
  const hooked = ofRoom(receiver.events, room);
  expect(hooked.map(describe_)).toEqual(expected);
  expect(new Set(hooked.map((e) => e.id)).size).toBe(hooked.length);
  expect(hooked).toEqual(ofRoom(fromTopic, room));
  expect(receiver.badSignatures).toEqual([]);
  expect(receiver.requests - requestsBefore).toBeGreaterThanOrEqual(expected.length);

  expect(await metric('voiceroom_admin_room_events_retried_total', 'target="webhook-0"')).toBeGreaterThan(0);
  expect(await metric('voiceroom_admin_room_events_dead_lettered_total', 'target="webhook-0"')).toBe(0);
}, 120_000);
