import type { Logger } from '@voiceroom/protocol';
import { LessThan, type DataSource, type FindOptionsWhere } from 'typeorm';
import type { ClusterPort } from '@voiceroom/cluster';
import { ChatMessageEntity } from '@voiceroom/persistence';

type Row = Omit<ChatMessageEntity, 'id'>;

/** One page of a room's history, newest first: messages with an id below `before` (all when absent). */
export async function readHistory(ds: DataSource, roomId: string, limit: number, before?: number) {
  const where: FindOptionsWhere<ChatMessageEntity> = before === undefined ? { roomId } : { roomId, id: LessThan(before) };
  const rows = await ds.getRepository(ChatMessageEntity).find({ where, order: { id: 'DESC' }, take: limit });
  return {
    items: rows.map((m) => ({ id: m.id, kind: m.kind, userId: m.authorId, name: m.authorName, text: m.body, sentAt: new Date(m.sentAt).toISOString() })),
    nextBefore: rows.length === limit ? rows[rows.length - 1]!.id : null,
  };
}

/** Rows kept while the database is away; beyond this the oldest are dropped (and counted). */
const MAX_QUEUED = 50_000;
const BATCH = 500;

/**
 * Stores every chat message and notice the event log applies. Rows are written in batches
 * (one INSERT per batch, not per message); while the database is away they wait in memory (up
 * to MAX_QUEUED) and are written when it returns. A message is named by (room, room epoch, seq),
 * identical on every node, so several admin nodes archiving the same log store it once.
 */
export class ChatArchive {
  private queue: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  readonly stats = { stored: 0, dropped: 0, batches: 0 };

  constructor(
    private readonly ds: DataSource,
    cluster: ClusterPort,
    private readonly log: Logger,
    private readonly delayMs = 100,
  ) {
    cluster.onRoomEvent((room, message) => {
      if (message.type === 'chat') {
        this.add({
          roomId: room.id,
          roomEpoch: room.epoch,
          seq: message.seq,
          kind: 'chat',
          authorId: message.userId,
          authorName: message.name ?? null,
          body: message.text,
          sentAt: message.at,
        });
      } else if (message.type === 'notice') {
        this.add({
          roomId: room.id,
          roomEpoch: room.epoch,
          seq: message.seq,
          kind: 'notice',
          authorId: null,
          authorName: null,
          body: message.text,
          sentAt: message.at,
        });
      }
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private add(row: Row): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      if (this.stats.dropped++ % 1000 === 0)
        this.log.error({ dropped: this.stats.dropped }, 'chat archive queue full (database away too long): oldest messages dropped');
    }
    this.queue.push(row);
    this.schedule(this.delayMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /** Writes what is queued; resolves when the queue is empty or the database refused (it retries later). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule(this.failures > 0 ? Math.min(1000 * 2 ** (this.failures - 1), 10_000) : 0);
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, BATCH);
      try {
        await this.ds.createQueryBuilder().insert().into(ChatMessageEntity).values(batch).orIgnore().execute();
      } catch (error) {
        if (this.failures++ === 0)
          this.log.warn({ err: error, queued: this.queue.length }, 'chat archive cannot write; keeping messages until the database is back');
        return;
      }
      if (this.failures > 0) this.log.info({ queued: this.queue.length }, 'chat archive writing again');
      this.failures = 0;
      this.queue.splice(0, batch.length);
      this.stats.stored += batch.length;
      this.stats.batches++;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
