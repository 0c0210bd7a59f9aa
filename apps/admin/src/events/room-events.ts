/**
 * Room events for other services (docs/events.md): derived on every admin node from the log it
 * applies, written to the database outbox and delivered by one node at a time, the holder of the
 * publisher lease (a row of `room_event_dispatch`).
 *
 * - Every admin node keeps its recent events in memory (`buffer`). The lease holder writes them to
 *   `room_events` (one writer, so outbox ids follow log order); a node that takes the lease over
 *   first writes its whole buffer with `orIgnore()`: the events the previous holder had not
 *   written are added after the last it did, the others are ignored (same ids on every node).
 * - Each target (the RocketMQ topic, each webhook URL) has its cursor (the last outbox id it took
 *   or dead-lettered) and takes one event at a time, in outbox order: per-room order holds, and a
 *   failure holds back the events after it (retried with capped exponential backoff). An event
 *   still failing `giveUpAfterMs` after it was recorded is dead-lettered, with every event behind
 *   it that is as old: the outbox stays bounded, and nothing is dropped without a row.
 * - The cursor moves after each event, so a lease change repeats at most the event in flight.
 */
import type { ClusterPort } from '@voiceroom/cluster';
import type { RoomEventsConfig } from '@voiceroom/config';
import type { Logger } from '@voiceroom/protocol';
import { RoomEventDeadLetterEntity, RoomEventDispatchEntity, RoomEventEntity } from '@voiceroom/persistence';
import { MoreThan, type DataSource } from 'typeorm';
import { deriveRoomEvents } from './room-event';
import { RocketMQTarget, WebhookTarget, type OutboxRow, type Target } from './targets';

/** How long a lease lasts, and how often its holder renews it (and every node tries to take it). */
export const LEASE_MS = 10_000;
const RENEW_MS = 2000;
/** Outbox rows every target is past are deleted once this old; a buffer keeps events half as long (a new holder must find them). */
const RETENTION_MS = 3_600_000;
const BUFFER_AGE_MS = RETENTION_MS / 2;
const BATCH = 200;
const IDLE_POLL_MS = 1000;
const LEASE_ROW = 'lease';

interface Buffered {
  eventId: string;
  roomId: string;
  type: string;
  body: string;
  /** Local time it was derived (buffer age). */
  at: number;
}

export interface TargetStats {
  delivered: number;
  retried: number;
  deadLettered: number;
  /** Outbox rows after its cursor (the lease holder's count; 0 elsewhere). */
  pending: number;
}

export interface RoomEventsOptions {
  ds: DataSource;
  cluster: ClusterPort;
  config: RoomEventsConfig;
  nodeId: string;
  /** The RocketMQ client settings (when the topic is configured). */
  rocketmq?: { endpoints: string; namespace: string; credentials?: { accessKey: string; secretKey: string }; tls: boolean };
  log: Logger;
}

export class RoomEvents {
  readonly targets: Target[] = [];
  readonly stats = {
    /** Events derived from the log on this node. */
    derived: 0,
    /** Events this node wrote to the outbox (as lease holder). */
    recorded: 0,
    /** Events the lease holder dropped from a full buffer before it could write them (database away too long). */
    dropped: 0,
    targets: new Map<string, TargetStats>(),
  };
  private buffer: Buffered[] = [];
  /** buffer[0, written) are in the outbox (meaningful while leading). */
  private written = 0;
  private leading = false;
  private leaseUntil = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastRetention = 0;
  private loops: Promise<void>[] = [];
  private wakers: (() => void)[] = [];
  private readonly log: Logger;

  constructor(private readonly options: RoomEventsOptions) {
    const { config, cluster, rocketmq } = options;
    this.log = options.log;
    if (config.topic !== '' && rocketmq) this.targets.push(new RocketMQTarget({ ...rocketmq, topic: config.topic }, this.log));
    config.webhooks.urls.forEach((url, i) => this.targets.push(new WebhookTarget(url, `webhook-${i}`, config.webhooks.secret, config.webhooks.timeoutMs)));
    for (const t of this.targets) this.stats.targets.set(t.label, { delivered: 0, retried: 0, deadLettered: 0, pending: 0 });
    if (this.targets.length === 0) return;
    cluster.onRoomEvent((room, message) => {
      const events = deriveRoomEvents(room, message, { chat: config.chat, time: cluster.state.time });
      if (events.length === 0) return;
      const at = Date.now();
      for (const e of events) this.buffer.push({ eventId: e.id, roomId: e.room, type: e.type, body: JSON.stringify(e), at });
      this.stats.derived += events.length;
      this.trim(at);
      if (this.leading) this.scheduleFlush();
    });
  }

  /** Whether anything is configured (no target: nothing is derived, no lease is taken). */
  get enabled(): boolean {
    return this.targets.length > 0;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Events derived but not yet in the outbox (the lease holder's), or kept for a takeover (others). */
  get buffered(): number {
    return this.leading ? this.buffer.length - this.written : this.buffer.length;
  }

  /** Call once the database is ready. */
  start(): void {
    if (!this.enabled || !this.stopped) return;
    this.stopped = false;
    const tick = () => {
      void this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, RENEW_MS);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    const wasLeading = this.leading;
    await this.resign();
    if (wasLeading) {
      // Give the lease back at once: another node takes over without waiting for it to expire.
      await this.options.ds
        .createQueryBuilder()
        .update(RoomEventDispatchEntity)
        .set({ leaseUntil: 0 })
        .where('name = :name AND holder = :me', { name: LEASE_ROW, me: this.options.nodeId })
        .execute()
        .catch(() => undefined);
    }
    await Promise.allSettled(this.targets.map((t) => t.close()));
  }

  // ---- the buffer ---------------------------------------------------------------------------

  private trim(now: number): void {
    const { bufferSize } = this.options.config;
    let drop = Math.max(0, this.buffer.length - bufferSize);
    while (drop < this.buffer.length && drop < this.written && now - this.buffer[drop]!.at > BUFFER_AGE_MS) drop++;
    if (!this.leading) while (drop < this.buffer.length && now - this.buffer[drop]!.at > BUFFER_AGE_MS) drop++;
    if (drop === 0) return;
    if (this.leading && drop > this.written) {
      const lost = drop - this.written;
      if (Math.floor(this.stats.dropped / 1000) !== Math.floor((this.stats.dropped + lost) / 1000) || this.stats.dropped === 0)
        this.log.error({ dropped: this.stats.dropped + lost }, 'room events buffer full (database away too long): oldest events dropped');
      this.stats.dropped += lost;
    }
    this.buffer.splice(0, drop);
    this.written = Math.max(0, this.written - drop);
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.flushing) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 20);
  }

  /** Writes the buffer's unwritten events to the outbox (lease holder only). */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      while (this.leading && this.written < this.buffer.length && this.leaseValid()) {
        const batch = this.buffer.slice(this.written, this.written + BATCH);
        const createdAt = Date.now();
        try {
          await this.options.ds
            .createQueryBuilder()
            .insert()
            .into(RoomEventEntity)
            .values(batch.map((b) => ({ eventId: b.eventId, roomId: b.roomId, type: b.type, body: b.body, createdAt })))
            .orIgnore()
            .execute();
        } catch (error) {
          this.log.warn({ err: error, buffered: this.buffered }, 'room events: cannot write the outbox; keeping events in memory');
          return;
        }
        // The buffer may have been trimmed meanwhile (from the front): find where the batch ends now.
        this.written = this.buffer.lastIndexOf(batch[batch.length - 1]!) + 1;
        this.stats.recorded += batch.length;
        this.wake();
      }
    })().finally(() => {
      this.flushing = undefined;
      // Events that came while the last batch was being written.
      if (this.leading && this.written < this.buffer.length) this.scheduleFlush();
    });
    return this.flushing;
  }

  // ---- the lease ----------------------------------------------------------------------------

  private leaseValid(): boolean {
    return Date.now() < this.leaseUntil - 1000;
  }

  private async tick(): Promise<void> {
    const { ds, cluster, nodeId } = this.options;
    try {
      this.trim(Date.now());
      // Only a node that holds the room state may lead: its events are complete.
      if (!cluster.isLive()) {
        if (this.leading) {
          this.log.warn({}, 'room events: cluster state not in sync; giving up the publisher lease');
          await this.resign();
        }
        return;
      }
      const now = Date.now();
      await ds
        .createQueryBuilder()
        .insert()
        .into(RoomEventDispatchEntity)
        .values({ name: LEASE_ROW, holder: '', leaseUntil: 0, lastId: 0 })
        .orIgnore()
        .execute();
      const result = await ds
        .createQueryBuilder()
        .update(RoomEventDispatchEntity)
        .set({ holder: nodeId, leaseUntil: now + LEASE_MS })
        .where('name = :name AND (holder = :me OR leaseUntil < :now)', { name: LEASE_ROW, me: nodeId, now })
        .execute();
      if (this.stopped) return;
      if (result.affected === 1) {
        this.leaseUntil = now + LEASE_MS;
        if (!this.leading) await this.lead();
        else await this.flush(); // what the database did not take before
        await this.housekeeping();
      } else if (this.leading) {
        this.log.warn({}, 'room events: another node holds the publisher lease');
        await this.resign();
      }
    } catch (error) {
      this.log.warn({ err: error }, 'room events: lease or outbox not reachable; trying again');
    }
  }

  private async lead(): Promise<void> {
    const { ds } = this.options;
    // New targets start at the outbox's end (no history for a URL added today).
    const max = await this.maxId();
    const rows = this.targets.map((t) => ({ name: t.key, holder: '', leaseUntil: 0, lastId: max }));
    await ds.createQueryBuilder().insert().into(RoomEventDispatchEntity).values(rows).orIgnore().execute();
    this.leading = true;
    this.written = 0; // the whole buffer: what the previous holder did not write is added, the rest ignored
    this.log.info({ buffered: this.buffer.length, targets: this.targets.map((t) => t.label) }, 'room events: this node publishes (publisher lease taken)');
    await this.flush();
    this.loops = this.targets.map((t) => this.deliver(t));
  }

  private async resign(): Promise<void> {
    this.leading = false;
    this.leaseUntil = 0;
    this.wake();
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  private async maxId(): Promise<number> {
    const row = await this.options.ds.getRepository(RoomEventEntity).find({ select: { id: true }, order: { id: 'DESC' }, take: 1 });
    return row[0]?.id ?? 0;
  }

  /** Pending counts per target, and the retention of the outbox. */
  private async housekeeping(): Promise<void> {
    const { ds } = this.options;
    const cursors = await ds.getRepository(RoomEventDispatchEntity).find();
    const byKey = new Map(cursors.map((c) => [c.name, c.lastId]));
    let min = Infinity;
    for (const t of this.targets) {
      const cursor = byKey.get(t.key) ?? 0;
      min = Math.min(min, cursor);
      (this.stats.targets.get(t.label) as TargetStats).pending = await ds.getRepository(RoomEventEntity).countBy({ id: MoreThan(cursor) });
    }
    if (Date.now() - this.lastRetention > 60_000 && min !== Infinity) {
      this.lastRetention = Date.now();
      await ds
        .createQueryBuilder()
        .delete()
        .from(RoomEventEntity)
        .where('id <= :min AND createdAt < :cutoff', { min, cutoff: Date.now() - RETENTION_MS })
        .execute();
    }
  }

  // ---- delivery -----------------------------------------------------------------------------

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }

  /** Waits up to `ms`, or less when woken (new rows, resignation). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.push(done);
    });
  }

  /** Sleeps `ms` unless the node stops leading meanwhile (a retry wait is not cut short by new rows). */
  private async backoff(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.leading && Date.now() < until) await this.pause(until - Date.now());
  }

  private async deliver(target: Target): Promise<void> {
    const { ds, config } = this.options;
    const stats = this.stats.targets.get(target.label) as TargetStats;
    const cursorRow = await ds.getRepository(RoomEventDispatchEntity).findOneBy({ name: target.key });
    let cursor = cursorRow?.lastId ?? 0;
    let failures = 0;
    const advance = async (id: number) => {
      cursor = id;
      await ds.getRepository(RoomEventDispatchEntity).update({ name: target.key }, { lastId: id });
    };
    while (this.leading) {
      let rows: OutboxRow[];
      try {
        rows = await ds.getRepository(RoomEventEntity).find({ where: { id: MoreThan(cursor) }, order: { id: 'ASC' }, take: BATCH });
      } catch (error) {
        this.log.warn({ err: error, target: target.label }, 'room events: cannot read the outbox');
        await this.backoff(2000);
        continue;
      }
      if (rows.length === 0) {
        await this.pause(IDLE_POLL_MS);
        continue;
      }
      for (const row of rows) {
        if (row.id <= cursor) continue; // dead-lettered with an earlier one
        let attempts = 0;
        const firstTriedAt = Date.now();
        for (;;) {
          if (!this.leading) return;
          if (!this.leaseValid()) {
            // The lease could not be renewed (database away): wait for it, or for another holder.
            await this.pause(500);
            continue;
          }
          attempts++;
          try {
            await target.send(row);
            stats.delivered++;
            stats.pending = Math.max(0, stats.pending - 1);
            if (failures > 0) this.log.info({ target: target.label, failures }, 'room events: target takes events again');
            failures = 0;
            break;
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (failures++ === 0)
              this.log.warn({ target: target.label, event: row.eventId, err: message }, 'room events: delivery failed; retrying with backoff');
            if (Date.now() - row.createdAt >= config.retry.giveUpAfterMs) {
              try {
                await this.deadLetter(target, row, attempts, message, firstTriedAt, advance);
              } catch (dbError) {
                this.log.warn({ err: dbError, target: target.label }, 'room events: cannot write the dead letter; trying again');
                await this.backoff(2000);
                continue;
              }
              break;
            }
            stats.retried++;
            await this.backoff(Math.min(config.retry.minMs * 2 ** Math.min(failures - 1, 30), config.retry.maxMs));
          }
        }
        if (row.id > cursor) {
          try {
            await advance(row.id);
          } catch (error) {
            this.log.warn({ err: error, target: target.label }, 'room events: cannot store the cursor');
            cursor = row.id;
          }
        }
      }
    }
  }

  /**
   * Dead-letters `row` after its last try, and with it every following event as old (each would
   * wait its own backoff against a receiver that has been failing for that long): the outbox stays
   * bounded by WEBHOOK_GIVE_UP_AFTER_S of events.
   */
  private async deadLetter(
    target: Target,
    row: OutboxRow,
    attempts: number,
    lastError: string,
    firstTriedAt: number,
    advance: (id: number) => Promise<void>,
  ): Promise<void> {
    const { ds, config } = this.options;
    const stats = this.stats.targets.get(target.label) as TargetStats;
    const now = Date.now();
    // The run of events right behind it that are as old (outbox order is recording order).
    const next = await ds.getRepository(RoomEventEntity).find({ where: { id: MoreThan(row.id) }, order: { id: 'ASC' }, take: 1000 });
    const dead: OutboxRow[] = [row];
    for (const r of next) {
      if (now - r.createdAt < config.retry.giveUpAfterMs) break;
      dead.push(r);
    }
    await ds.getRepository(RoomEventDeadLetterEntity).insert(
      dead.map((r) => ({
        target: target.key,
        url: target.url,
        eventId: r.eventId,
        roomId: r.roomId,
        type: r.type,
        body: r.body,
        attempts: r === row ? attempts : 0,
        lastError: (r === row ? lastError : `not tried: older than ${config.retry.giveUpAfterMs / 1000} s while ${target.label} was failing`).slice(0, 500),
        firstTriedAt: r === row ? firstTriedAt : now,
        deadAt: now,
      })),
    );
    stats.deadLettered += dead.length;
    stats.pending = Math.max(0, stats.pending - dead.length);
    this.log.error({ target: target.label, first: row.eventId, count: dead.length, err: lastError }, 'room events: dead-lettered after the last try');
    await advance(dead[dead.length - 1]!.id);
  }
}
