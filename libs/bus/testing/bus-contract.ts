/**
 * The contract every Bus implementation must pass (see src/bus.ts). Run by src/memory-bus.test.ts
 * and, against the real broker, by test/rocketmq-bus.test.ts. Test support, not production code:
 * imported as `@voiceroom/bus/testing` and type-checked with jest's types by testing/tsconfig.json.
 */
import type { NodeId, RoomId } from '@voiceroom/protocol';
import { BusClosedError, type Bus, type BusHandler, type EventMeta } from '@voiceroom/bus';

export interface BusCluster {
  /** A new, not yet started bus for `nodeId` on the shared transport. */
  create(nodeId: string): Bus;
}

export interface Received {
  lane: 'voice' | 'event';
  /** Voice only ('' for events). */
  room: RoomId;
  bytes: Buffer;
  origin: NodeId;
  /** Events only (-1 for voice). */
  position: number;
  index: number;
  count: number;
}

export class Recorder implements BusHandler {
  readonly received: Received[] = [];
  onVoice(room: RoomId, frame: Uint8Array, origin: NodeId): void {
    this.received.push({ lane: 'voice', room, bytes: Buffer.from(frame), origin, position: -1, index: 0, count: 0 });
  }
  onEvent(payload: Uint8Array, meta: EventMeta): void {
    this.received.push({
      lane: 'event',
      room: '' as RoomId,
      bytes: Buffer.from(payload),
      origin: meta.origin,
      position: meta.position,
      index: meta.index,
      count: meta.count,
    });
  }
  voice(room?: string): Received[] {
    return this.received.filter((r) => r.lane === 'voice' && (room === undefined || r.room === room));
  }
  /** Events whose payload starts with `prefix`. */
  events(prefix = ''): Received[] {
    return this.received.filter((r) => r.lane === 'event' && r.bytes.toString().startsWith(prefix));
  }
}

const room = (id: string) => id as RoomId;
const frame = (i: number) => {
  const bytes = Buffer.alloc(72, i & 0xff);
  bytes.writeUInt32BE(i, 0);
  return bytes;
};

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes probe events from `from` until `to` hears one: the path is live from then on. */
export async function awaitLink(from: Bus, to: Recorder, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!to.events('probe').some((e) => e.origin === from.nodeId)) {
    if (Date.now() > deadline) throw new Error(`no message from ${from.nodeId} arrived within ${timeoutMs} ms`);
    await from.publishEvent(Buffer.from('probe'));
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function busContractSuite(name: string, makeCluster: () => BusCluster, timeoutMs = 20_000): void {
  describe(`Bus contract: ${name}`, () => {
    let cluster: BusCluster;
    const open: Bus[] = [];
    const start = async (nodeId: string): Promise<{ bus: Bus; rec: Recorder }> => {
      const bus = cluster.create(nodeId);
      open.push(bus);
      const rec = new Recorder();
      await bus.start(rec);
      return { bus, rec };
    };

    beforeEach(() => {
      cluster = makeCluster();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((bus) => bus.close()));
    });

    it('delivers voice to every other node, once, in publish order, and never back to the publisher', async () => {
      const a = await start('contract-a');
      const b = await start('contract-b');
      const c = await start('contract-c');
      await awaitLink(a.bus, b.rec, timeoutMs);
      await awaitLink(a.bus, c.rec, timeoutMs);
      for (let i = 0; i < 300; i++) a.bus.publishVoice(room('r1'), frame(i));
      await until('300 frames at b and c', () => b.rec.voice('r1').length >= 300 && c.rec.voice('r1').length >= 300, timeoutMs);
      await new Promise((r) => setTimeout(r, 300)); // room for duplicates to show up
      for (const rec of [b.rec, c.rec]) {
        const got = rec.voice('r1');
        expect(got).toHaveLength(300);
        expect(got.map((r) => r.bytes.readUInt32BE(0))).toEqual([...Array(300).keys()]);
        expect(got.every((r) => r.origin === a.bus.nodeId)).toBe(true);
        expect(got[7]?.bytes.equals(frame(7))).toBe(true);
      }
      expect(a.rec.voice()).toHaveLength(0);
      expect(a.bus.stats().voiceFramesPublished).toBe(300);
    });

    it('keeps rooms apart and carries room ids exactly', async () => {
      const a = await start('contract-a');
      const b = await start('contract-b');
      await awaitLink(a.bus, b.rec, timeoutMs);
      a.bus.publishVoice(room('room.one'), frame(1));
      a.bus.publishVoice(room('room:two-2'), frame(2));
      await until('both frames', () => b.rec.voice().length >= 2, timeoutMs);
      expect(b.rec.voice().map((r) => [r.room, r.bytes.readUInt32BE(0)])).toEqual([
        ['room.one', 1],
        ['room:two-2', 2],
      ]);
    });

    it('delivers events to every node, the publisher included, in one order with consecutive positions', async () => {
      const a = await start('contract-a');
      const b = await start('contract-b');
      await awaitLink(a.bus, b.rec, timeoutMs);
      await awaitLink(b.bus, a.rec, timeoutMs);
      // Both publish at once: the log interleaves them, the same way for everyone.
      await Promise.all([
        (async () => {
          for (let i = 0; i < 15; i++) await a.bus.publishEvent(Buffer.from(`event-a-${i}`));
        })(),
        (async () => {
          for (let i = 0; i < 15; i++) await b.bus.publishEvent(Buffer.from(`event-b-${i}`));
        })(),
      ]);
      await until('30 events at a and b', () => a.rec.events('event-').length >= 30 && b.rec.events('event-').length >= 30, timeoutMs);
      await new Promise((r) => setTimeout(r, 300)); // room for duplicates to show up
      const seen = (rec: Recorder) => rec.events('event-').map((e) => `${e.position}.${e.index}:${e.bytes.toString()}`);
      expect(seen(a.rec)).toHaveLength(30);
      expect(seen(a.rec)).toEqual(seen(b.rec));
      for (const rec of [a.rec, b.rec]) {
        const all = rec.events();
        for (let i = 1; i < all.length; i++) {
          const [prev, cur] = [all[i - 1] as Received, all[i] as Received];
          // The next entry of the same message, or the first of the next position.
          const next = prev.index + 1 < prev.count ? `${prev.position}.${prev.index + 1}` : `${prev.position + 1}.0`;
          expect(`${cur.position}.${cur.index}`).toBe(next);
        }
        const fromA = rec.events('event-a-').map((e) => e.bytes.toString());
        expect(fromA).toEqual([...Array(15).keys()].map((i) => `event-a-${i}`));
        expect(rec.events('event-a-').every((e) => e.origin === a.bus.nodeId)).toBe(true);
      }
    });

    it('does not deliver to a node voice published before it started; its events continue the same log', async () => {
      const a = await start('contract-a');
      const b = await start('contract-b');
      await awaitLink(a.bus, b.rec, timeoutMs);
      for (let i = 0; i < 50; i++) a.bus.publishVoice(room('old'), frame(i));
      await until('old voice at b', () => b.rec.voice('old').length >= 50, timeoutMs);

      const late = await start('contract-late');
      await awaitLink(a.bus, late.rec, timeoutMs);
      a.bus.publishVoice(room('new'), frame(1));
      await a.bus.publishEvent(Buffer.from('after-late'));
      await until('new traffic at the late node', () => late.rec.voice('new').length >= 1 && late.rec.events('after-late').length >= 1, timeoutMs);
      await until('the event at b', () => b.rec.events('after-late').length >= 1, timeoutMs);
      expect(late.rec.voice('old')).toHaveLength(0);
      const atB = b.rec.events('after-late')[0]?.position;
      expect(late.rec.events('after-late')[0]?.position).toBe(atB);
    });

    it('drops voice and rejects events when not started or closed, without throwing', async () => {
      const idle = cluster.create('contract-idle');
      open.push(idle);
      expect(() => idle.publishVoice(room('r1'), frame(1))).not.toThrow();
      await expect(idle.publishEvent(Buffer.from('x'))).rejects.toBeInstanceOf(BusClosedError);
      expect(idle.stats().voiceFramesDropped).toBe(1);
      expect(idle.isStarted()).toBe(false);

      const a = await start('contract-a');
      expect(a.bus.isStarted()).toBe(true);
      await a.bus.close();
      expect(a.bus.isStarted()).toBe(false);
      expect(() => a.bus.publishVoice(room('r1'), frame(1))).not.toThrow();
      await expect(a.bus.publishEvent(Buffer.from('x'))).rejects.toBeInstanceOf(BusClosedError);
    });
  });
}
