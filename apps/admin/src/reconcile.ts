import type { Logger } from '@voiceroom/protocol';
import { IsNull } from 'typeorm';
import type { DataSource } from 'typeorm';
import type { ClusterPort } from '@voiceroom/cluster';
import type { RoomId, UserId } from '@voiceroom/protocol';
import { BanEntity, RoomEntity } from '@voiceroom/persistence';

/**
 * Brings the cluster's room directory and bans (replicated state) in line with the database,
 * which is the record that survives a restart of the whole cluster. Runs when the admin API is
 * in sync with the cluster, every `intervalMs`, and soon after a change could not be published.
 * Each difference becomes one log entry; running it twice changes nothing.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  /** Entries published to bring the cluster in line, and runs that could not finish. */
  readonly stats = { published: 0, failedRuns: 0 };

  constructor(
    private readonly ds: DataSource,
    private readonly cluster: ClusterPort,
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runQuietly(), this.intervalMs);
    this.timer.unref();
    this.soon(500);
  }

  /** Schedules a run shortly (after a failed publish, or at start-up). */
  soon(delayMs = 2000): void {
    if (this.stopped || this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.runQuietly().then((n) => {
        if (n < 0) this.soon(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    this.soonTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
  }

  /** Returns how many entries it published, or -1 when it could not finish (it will try again). */
  private async runQuietly(): Promise<number> {
    try {
      return await this.run();
    } catch (error) {
      this.stats.failedRuns++;
      this.log.warn({ err: error }, 'directory reconcile failed; trying again later');
      return -1;
    }
  }

  async run(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.runOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runOnce(): Promise<number> {
    if (!this.cluster.isLive()) return -1;
    const state = this.cluster.state;
    const rooms = await this.ds.getRepository(RoomEntity).find();
    const now = Date.now();
    const bans = (await this.ds.getRepository(BanEntity).findBy({ revokedAt: IsNull() })).filter((b) => b.expiresAt === null || b.expiresAt > now);
    let published = 0;
    const known = new Set<string>();
    for (const room of rooms) {
      known.add(room.id);
      const want = { capacity: room.capacity, seats: room.seats, open: room.status === 'open' };
      const have = state.directory.get(room.id as RoomId);
      if (have && have.capacity === want.capacity && have.seats === want.seats && have.open === want.open) continue;
      await this.cluster.request({ t: 'room', room: room.id as RoomId, config: want });
      published++;
    }
    for (const id of [...state.directory.keys()]) {
      if (known.has(id)) continue;
      await this.cluster.request({ t: 'room', room: id, config: null });
      published++;
    }
    // One ban per (room, user) in the cluster: the longest of the active ones.
    const wanted = new Map<string, { room: string | null; userId: string; until: number | null }>();
    for (const ban of bans) {
      const key = `${ban.roomId ?? '*'} ${ban.userId}`;
      const prev = wanted.get(key);
      const until = prev === undefined ? ban.expiresAt : prev.until === null || ban.expiresAt === null ? null : Math.max(prev.until, ban.expiresAt);
      wanted.set(key, { room: ban.roomId, userId: ban.userId, until });
    }
    const have = new Map(state.activeBans().map((b) => [`${b.room ?? '*'} ${b.userId}`, b]));
    for (const [key, ban] of wanted) {
      if (have.has(key) && have.get(key)!.until === ban.until) continue;
      await this.cluster.request({ t: 'ban', room: ban.room as RoomId | null, userId: ban.userId as UserId, until: ban.until });
      published++;
    }
    for (const [key, ban] of have) {
      if (wanted.has(key)) continue;
      await this.cluster.request({ t: 'unban', room: ban.room, userId: ban.userId });
      published++;
    }
    this.stats.published += published;
    if (published > 0) this.log.info({ published }, 'room directory and bans reconciled with the database');
    return published;
  }
}
