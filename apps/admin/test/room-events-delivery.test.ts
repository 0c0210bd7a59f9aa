/**
 * The room-event outbox and its delivery (apps/admin/src/events/room-events.ts) on an SQLite
 * database, with fake cluster ports and a webhook receiver started here: dead letters after the
 * last try, and a publisher lease handed from one admin node to another without losing or
 * repeating events.
 */
import { createServer, type Server } from 'node:http';
import type { ClusterPort, RoomEventListener, RoomRecord } from '@voiceroom/cluster';
import type { RoomEventsConfig } from '@voiceroom/config';
import type { RoomEventMessage, RoomId, SpeakerId, UserId } from '@voiceroom/protocol';
import { createDataSource, migrate, RoomEventDeadLetterEntity, RoomEventEntity } from '@voiceroom/persistence';
import { freePort, waitFor } from '@voiceroom/testkit';
import type { DataSource } from 'typeorm';
import { RoomEvents, verifyWebhook, type RoomEventEnvelope } from '../src/events';

const SECRET = 'x'.repeat(40);
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** What the state machine hands the admin node: room events, by hand. */
class FakeCluster {
  private listener: RoomEventListener | undefined;
  readonly state = { time: Date.UTC(2026, 11, 4) };
  live = true;

  port(nodeId: string): ClusterPort {
    return {
      nodeId,
      state: this.state,
      isLive: () => this.live,
      onRoomEvent: (l: RoomEventListener) => (this.listener = l),
      request: () => Promise.reject(new Error('not here')),
    } as unknown as ClusterPort;
  }

  /** A member joins room `room` (a new room when `seq` is 1). */
  join(room: string, seq: number, userId: string): void {
    const record = { id: room, epoch: 7, settings: { capacity: 5, seats: 2 }, members: new Map([[1, {}]]) } as unknown as RoomRecord;
    const message: RoomEventMessage = {
      type: 'member_joined',
      room: room as RoomId,
      seq,
      member: { userId: userId as UserId, sid: seq as SpeakerId, role: 'speaker', muted: false, handRaised: false },
    };
    this.listener?.(record, message);
  }
}

let server: Server;
let port: number;
let status = 204;
const received: RoomEventEnvelope[] = [];
let ds: DataSource;
const running: RoomEvents[] = [];

function config(giveUpAfterMs: number): RoomEventsConfig {
  return {
    topic: '',
    chat: false,
    webhooks: { urls: [`http://127.0.0.1:${port}/hook`], secret: SECRET, timeoutMs: 1000 },
    retry: { minMs: 50, maxMs: 200, giveUpAfterMs },
    bufferSize: 1000,
  };
}

function events(nodeId: string, cluster: FakeCluster, giveUpAfterMs = 60_000): RoomEvents {
  const e = new RoomEvents({ ds, cluster: cluster.port(nodeId), config: config(giveUpAfterMs), nodeId, log: silent });
  running.push(e);
  return e;
}

beforeAll(async () => {
  port = await freePort();
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = request.headers['x-voiceroom-signature'];
      if (status === 204 && verifyWebhook(SECRET, body, typeof header === 'string' ? header : undefined, Math.floor(Date.now() / 1000))) {
        received.push(JSON.parse(body) as RoomEventEnvelope);
      }
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
});

beforeEach(async () => {
  ds = createDataSource({ url: 'sqlite::memory:' });
  await ds.initialize();
  await migrate(ds);
  received.length = 0;
  status = 204;
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
  await ds.destroy();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it('dead-letters an event after its last try, with the run of events as old behind it, then goes on', async () => {
  status = 500;
  const cluster = new FakeCluster();
  const e = events('admin-a', cluster, 1500);
  e.start();
  await waitFor('the lease', () => e.isLeader);
  cluster.join('r1', 1, 'ann'); // room.opened + member.joined
  cluster.join('r1', 2, 'bob');
  await waitFor('three dead letters', async () => (await ds.getRepository(RoomEventDeadLetterEntity).count()) === 3, 10_000);
  const dead = await ds.getRepository(RoomEventDeadLetterEntity).find({ order: { id: 'ASC' } });
  expect(dead.map((d) => [d.eventId, d.type, d.url])).toEqual([
    ['r1/7/1/0', 'room.opened.v1', `http://127.0.0.1:${port}/hook`],
    ['r1/7/1/1', 'member.joined.v1', `http://127.0.0.1:${port}/hook`],
    ['r1/7/2/0', 'member.joined.v1', `http://127.0.0.1:${port}/hook`],
  ]);
  expect(dead[0]!.attempts).toBeGreaterThan(1);
  expect(dead[0]!.lastError).toBe('HTTP 500');
  expect(JSON.parse(dead[0]!.body)).toMatchObject({ id: 'r1/7/1/0', type: 'room.opened.v1', room: 'r1' });
  const stats = e.stats.targets.get('webhook-0')!;
  expect(stats.deadLettered).toBe(3);
  expect(stats.retried).toBeGreaterThan(0);

  status = 204;
  cluster.join('r1', 3, 'cid');
  await waitFor('the next event delivered', () => received.length === 1);
  expect(received.map((r) => r.id)).toEqual(['r1/7/3/0']);
  expect(stats.delivered).toBe(1);
});

it('hands the publisher lease over: the new holder adds what the old one had not written, nothing twice', async () => {
  const [ca, cb] = [new FakeCluster(), new FakeCluster()];
  const a = events('admin-a', ca);
  const b = events('admin-b', cb);
  a.start();
  await waitFor('a to hold the lease', () => a.isLeader);
  b.start();
  for (const c of [ca, cb]) {
    c.join('r2', 1, 'ann');
    c.join('r2', 2, 'bob');
  }
  await waitFor('three events delivered', () => received.length === 3);
  expect(b.isLeader).toBe(false);
  expect(b.buffered).toBe(3); // kept for a takeover

  await a.stop(); // gives the lease back
  cb.join('r2', 3, 'cid'); // only b saw this one
  await waitFor('b to take the lease', () => b.isLeader, 10_000);
  await waitFor('the fourth event delivered', () => received.length === 4, 10_000);
  expect(received.map((r) => r.id)).toEqual(['r2/7/1/0', 'r2/7/1/1', 'r2/7/2/0', 'r2/7/3/0']);
  expect(await ds.getRepository(RoomEventEntity).count()).toBe(4);
  expect(b.stats.recorded).toBe(4); // its whole buffer, three of them ignored as already there
});
