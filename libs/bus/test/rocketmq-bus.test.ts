/**
 * The bus contract and the RocketMQ-specific promises, against the real broker started by
 * `npm test` (rocketmq/rocketmq.sh up).
 */
import { Producer } from 'rocketmq-client-nodejs';
import type { NodeId, RoomId } from '@voiceroom/protocol';
import { requireRocketMQ, ROCKETMQ_ENDPOINTS, VOICE_TOPIC, EVENT_TOPIC } from '@voiceroom/testkit';
import { BatchWriter } from '../src/batch-codec';
import { awaitLink, busContractSuite, Recorder } from '@voiceroom/bus/testing';
import type { RocketMQBus } from '../src/rocketmq-bus';
import { rocketBus } from './rocketmq-test-bus';

beforeAll(async () => {
  await requireRocketMQ();
});

/*
 * A fresh consumer group for every bus of this file: client 1.0.8 was seen to hang in startup()
 * when a group was closed and opened again within seconds in the same process (docs/rocketmq.md).
 * Gateways restarting as new processes reuse their groups; that is covered by the gateway tests.
 */
const RUN = Date.now().toString(36);
let created = 0;
const fresh = (nodeId: string) => `${nodeId}-${RUN}-${++created}`;

busContractSuite('rocketmq', () => ({ create: (nodeId) => rocketBus(fresh(nodeId)) }), 30_000);

describe('RocketMQ bus specifics', () => {
  const open: RocketMQBus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  const started = async (nodeId: string) => {
    const bus = rocketBus(fresh(nodeId));
    open.push(bus);
    const rec = new Recorder();
    await bus.start(rec);
    return { bus, rec };
  };

  it('packs frames arriving in bursts into few RocketMQ messages, all delivered in order', async () => {
    const a = await started('pack-a');
    const b = await started('pack-b');
    await awaitLink(a.bus, b.rec, 30_000);
    const frames = 1000;
    for (let i = 0; i < frames; i++) {
      const bytes = Buffer.alloc(100);
      bytes.writeUInt32BE(i, 0);
      a.bus.publishVoice('burst' as RoomId, bytes);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // 100 frames every ~5 ms
    }
    const deadline = Date.now() + 20_000;
    while (b.rec.voice('burst').length < frames && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(b.rec.voice('burst').map((r) => r.bytes.readUInt32BE(0))).toEqual([...Array(frames).keys()]);
    // A message per frame would be 1000.
    expect(a.bus.stats().voiceMessagesPublished).toBeLessThanOrEqual(30);
    expect(a.bus.stats().voiceFramesDropped).toBe(0);
  });

  it('drops and counts the frames that do not fit while a send is pending, never blocking the caller', async () => {
    const a = rocketBus(fresh('overflow-a'), { maxVoiceBatchBytes: 4096 });
    open.push(a);
    await a.start(new Recorder());
    const started = Date.now();
    for (let i = 0; i < 1000; i++) a.publishVoice('burst' as RoomId, Buffer.alloc(100));
    expect(Date.now() - started).toBeLessThan(500);
    const stats = a.stats();
    expect(stats.voiceFramesPublished).toBeLessThan(100); // one 4 KiB batch holds 37 frames of 100 bytes
    expect(stats.voiceFramesPublished + stats.voiceFramesDropped).toBe(1000);
  });

  it('drops voice that arrives older than the voice deadline', async () => {
    const b = await started('stale-b');
    const a = await started('stale-a');
    await awaitLink(a.bus, b.rec, 30_000);
    const producer = new Producer({ endpoints: ROCKETMQ_ENDPOINTS, namespace: '', topics: [VOICE_TOPIC], logger: quiet });
    await producer.startup();
    try {
      const send = async (roomId: string, birth: number) => {
        const writer = new BatchWriter('forger' as NodeId, 1024);
        writer.append(roomId as RoomId, Buffer.from('late'), birth);
        await producer.send({ topic: VOICE_TOPIC, body: writer.take() });
      };
      const staleBefore = b.bus.stats().staleMessagesDropped;
      await send('too-old', Date.now() - 10_000); // past the 2 s deadline
      await send('fresh', Date.now());
      const deadline = Date.now() + 20_000;
      while (b.rec.voice('fresh').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(b.rec.voice('fresh')).toHaveLength(1);
      expect(b.rec.voice('too-old')).toHaveLength(0);
      expect(b.bus.stats().staleMessagesDropped).toBeGreaterThan(staleBefore);
    } finally {
      await producer.shutdown();
    }
  });

  it('ignores messages that are not batches instead of failing', async () => {
    const b = await started('junk-b');
    const a = await started('junk-a');
    await awaitLink(a.bus, b.rec, 30_000);
    const producer = new Producer({ endpoints: ROCKETMQ_ENDPOINTS, namespace: '', topics: [VOICE_TOPIC], logger: quiet });
    await producer.startup();
    try {
      await producer.send({ topic: VOICE_TOPIC, body: Buffer.from('not a batch at all') });
      const deadline = Date.now() + 20_000;
      while (b.bus.stats().malformedMessagesDropped === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(b.bus.stats().malformedMessagesDropped).toBe(1);
      a.bus.publishVoice('after-junk' as RoomId, Buffer.from('still works'));
      while (b.rec.voice('after-junk').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(b.rec.voice('after-junk')[0]?.bytes.toString()).toBe('still works');
    } finally {
      await producer.shutdown();
    }
  });
});

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('RocketMQ event log', () => {
  it('delivers junk on the event topic as an empty entry at its position, keeping positions consecutive', async () => {
    const a = rocketBus(fresh('log-junk-a'));
    const rec = new Recorder();
    try {
      await a.start(rec);
      await awaitLink(a, rec, 30_000);
      const producer = new Producer({ endpoints: ROCKETMQ_ENDPOINTS, namespace: '', topics: [EVENT_TOPIC], logger: quiet });
      await producer.startup();
      try {
        await producer.send({ topic: EVENT_TOPIC, body: Buffer.from('not a batch at all') });
      } finally {
        await producer.shutdown();
      }
      await a.publishEvent(Buffer.from('after-junk'));
      const deadline = Date.now() + 20_000;
      while (rec.events('after-junk').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const after = rec.events('after-junk')[0];
      expect(after).toBeDefined();
      const junk = rec.received.find((r) => r.lane === 'event' && r.position === (after?.position ?? 0) - 1);
      expect(junk?.bytes.length).toBe(0);
      expect(a.stats().malformedMessagesDropped).toBe(1);
    } finally {
      await a.close();
    }
  });
});

describe('RocketMQ event packing', () => {
  it('packs the events queued during a send into one message: few positions, every event once, in order', async () => {
    const a = rocketBus(fresh('log-pack-a'));
    const rec = new Recorder();
    try {
      await a.start(rec);
      await awaitLink(a, rec, 30_000);
      const before = a.stats().eventMessagesPublished;
      await Promise.all([...Array(100).keys()].map((i) => a.publishEvent(Buffer.from(`packed-${i}`))));
      const deadline = Date.now() + 20_000;
      while (rec.events('packed-').length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const got = rec.events('packed-');
      expect(got.map((e) => e.bytes.toString())).toEqual([...Array(100).keys()].map((i) => `packed-${i}`));
      const messages = a.stats().eventMessagesPublished - before;
      expect(messages).toBeLessThan(20); // one send at a time; the rest wait and go together
      expect(new Set(got.map((e) => e.position)).size).toBe(messages);
    } finally {
      await a.close();
    }
  });
});
