import { CloseCode, ErrorCode, type NodeId, type RoomEventMessage, type SpeakerId } from '@voiceroom/protocol';
import { ClusterState, type JoinOutcome, type MemberRecord, type ResumeOutcome, type StateListener } from './cluster-state';
import type { LogEntry } from './log-events';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

class Calls implements StateListener {
  events: RoomEventMessage[] = [];
  joins = new Map<string, JoinOutcome>();
  resumes = new Map<string, ResumeOutcome>();
  commands = new Map<string, { code: ErrorCode; message: string } | undefined>();
  ended: { sid: SpeakerId; node: NodeId; code: number }[] = [];
  lost: string[] = [];
  roomEvent(_room: unknown, message: RoomEventMessage): void {
    this.events.push(message);
  }
  joinDecided(_origin: NodeId, req: string, outcome: JoinOutcome): void {
    this.joins.set(req, outcome);
  }
  resumeDecided(_origin: NodeId, req: string, outcome: ResumeOutcome): void {
    this.resumes.set(req, outcome);
  }
  commandDone(_origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void {
    this.commands.set(req, error);
  }
  sessionEnded(member: MemberRecord, node: NodeId, closeCode: number): void {
    this.ended.push({ sid: member.sid, node, code: closeCode });
  }
  memberChanged(): void {}
  nodeLost(node: NodeId, why: string): void {
    this.lost.push(`${node}:${why}`);
  }
}

const A = 'node-a' as NodeId;
const B = 'node-b' as NodeId;
const settings = { capacity: 3, seats: 1 };

/** A log under construction: entries get positions, counters and birth times like the real one. */
class Log {
  readonly entries: { entry: LogEntry; origin: NodeId; position: number; birth: number }[] = [];
  private n = new Map<NodeId, number>();
  time = 1_000_000;
  add(origin: NodeId, entry: DistributiveOmit<LogEntry, 'inc' | 'n'>, advanceMs = 10): LogEntry {
    const n = (this.n.get(origin) ?? 0) + 1;
    this.n.set(origin, n);
    this.time += advanceMs;
    const full = { ...entry, inc: `inc-${origin}`, n };
    this.entries.push({ entry: full, origin, position: this.entries.length + 100, birth: this.time });
    return full;
  }
  join(origin: NodeId, req: string, userId: string, role: 'host' | 'speaker' | 'listener' = 'speaker', room = 'r1'): void {
    this.add(origin, { t: 'join', req, room: room as never, userId: userId as never, role, settings, graceMs: 5000 });
  }
  applyTo(state: ClusterState, from = 0): void {
    for (const e of this.entries.slice(from)) state.apply(e.entry, e.origin, e.position, e.birth);
  }
}

function sidOf(calls: Calls, req: string): SpeakerId {
  const outcome = calls.joins.get(req);
  if (!outcome?.ok) throw new Error(`join ${req} was not accepted`);
  return outcome.member.sid;
}

describe('ClusterState: the replicated room state machine', () => {
  it('gives every replica the same rooms, sids and seqs, and a snapshot plus the rest of the log gives the same again', () => {
    const log = new Log();
    log.add(A, { t: 'hello', timeoutMs: 10_000 });
    log.add(B, { t: 'hello', timeoutMs: 10_000 });
    log.join(A, 'j1', 'alice', 'host');
    log.join(B, 'j2', 'bob', 'listener');
    log.join(B, 'j3', 'carol', 'speaker');
    const c1 = new Calls();
    const first = new ClusterState(c1);
    log.applyTo(first);
    log.add(B, { t: 'cmd', req: 'c1', room: 'r1' as never, by: sidOf(c1, 'j2'), cmd: { type: 'raise_hand', raised: true } });
    log.add(A, { t: 'cmd', req: 'c2', room: 'r1' as never, by: sidOf(c1, 'j1'), cmd: { type: 'chat', text: 'hi' } });

    const one = new ClusterState(new Calls());
    const two = new ClusterState(new Calls());
    log.applyTo(one);
    log.applyTo(two);
    expect(one.snapshot()).toEqual(two.snapshot());
    expect(one.rooms.get('r1' as never)?.seq).toBe(5); // 3 joins, a hand, a chat

    const late = new ClusterState(new Calls());
    const cut = 3;
    const atCut = new ClusterState(new Calls());
    log.applyTo(atCut);
    // A snapshot taken after the first `cut` entries, then the rest of the log.
    const partial = new ClusterState(new Calls());
    for (const e of log.entries.slice(0, cut)) partial.apply(e.entry, e.origin, e.position, e.birth);
    late.load(partial.snapshot());
    log.applyTo(late, cut);
    expect(late.snapshot()).toEqual(one.snapshot());
  });

  it('refuses the join beyond the capacity, whichever node it came from', () => {
    const log = new Log();
    for (let i = 0; i < 5; i++) log.join(i % 2 ? A : B, `j${i}`, `user${i}`, 'listener');
    const calls = new Calls();
    log.applyTo(new ClusterState(calls));
    const outcomes = [...calls.joins.values()];
    expect(outcomes.filter((o) => o.ok)).toHaveLength(3);
    expect(outcomes.slice(3).every((o) => !o.ok && o.closeCode === CloseCode.RoomFull)).toBe(true);
  });

  it('skips an entry stored twice (a retried publish) by its node counter', () => {
    const log = new Log();
    log.join(A, 'j1', 'alice');
    log.entries.push({ ...(log.entries[0] as (typeof log.entries)[number]), position: 101 });
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    expect(state.duplicatesSkipped).toBe(1);
    expect(calls.events).toHaveLength(1);
  });

  it('replaces the older session of a user who joins again, and seats beyond the limit make listeners', () => {
    const log = new Log();
    log.join(A, 'j1', 'alice', 'speaker');
    log.join(B, 'j2', 'bob', 'speaker');
    log.join(B, 'j3', 'alice', 'speaker');
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    const bob = calls.joins.get('j2');
    expect(bob?.ok && bob.member.role).toBe('listener'); // one seat, alice has it
    const second = calls.joins.get('j3');
    expect(second?.ok && second.member.role).toBe('speaker'); // her own seat, taken over
    expect(calls.ended).toEqual([{ sid: sidOf(calls, 'j1'), node: A, code: CloseCode.Replaced }]);
    expect(calls.events.at(-1)).toMatchObject({ type: 'member_joined', replaces: sidOf(calls, 'j1') });
    expect([...(state.rooms.get('r1' as never)?.members.values() ?? [])].map((m) => m.userId).sort()).toEqual(['alice', 'bob']);
  });

  it('lets only hosts moderate, and a mute outlives leaving and joining again', () => {
    const log = new Log();
    log.join(A, 'j1', 'host', 'host');
    log.join(B, 'j2', 'bob', 'speaker');
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    const host = sidOf(calls, 'j1');
    const bob = sidOf(calls, 'j2');
    log.add(B, { t: 'cmd', req: 'c1', room: 'r1' as never, by: bob, cmd: { type: 'mute', sid: host, muted: true } });
    log.add(A, { t: 'cmd', req: 'c2', room: 'r1' as never, by: host, cmd: { type: 'mute', sid: bob, muted: true } });
    log.add(B, { t: 'leave', room: 'r1' as never, sid: bob });
    log.join(B, 'j3', 'bob', 'speaker');
    log.applyTo(state, 2);
    expect(calls.commands.get('c1')?.code).toBe(ErrorCode.NotHost);
    expect(calls.commands.get('c2')).toBeUndefined();
    const again = calls.joins.get('j3');
    expect(again?.ok && again.member.muted).toBe(true);
  });

  it('detaches the members of a node that stops beating, and they leave once after the grace', () => {
    const log = new Log();
    log.add(A, { t: 'hello', timeoutMs: 1000 });
    log.add(B, { t: 'hello', timeoutMs: 1000 });
    log.join(B, 'j1', 'bob');
    log.join(A, 'j2', 'alice');
    for (let i = 0; i < 30; i++) log.add(A, { t: 'beat', live: true, timeoutMs: 1000 }, 300); // B is silent for 9 s
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    expect(calls.lost).toEqual([`${B}:timeout`]);
    expect(calls.events.filter((e) => e.type === 'member_left')).toEqual([expect.objectContaining({ type: 'member_left', userId: 'bob', reason: 'timeout' })]);
    // 1000 ms timeout + 5000 ms grace, measured in log time (beats every 300 ms).
    expect(state.rooms.get('r1' as never)?.members.size).toBe(1);
  });

  it('still takes commands and leaves for its members from a node declared lost (it may still be running)', () => {
    const log = new Log();
    log.add(A, { t: 'hello', timeoutMs: 1000 });
    log.add(B, { t: 'hello', timeoutMs: 1000 });
    log.join(B, 'j1', 'bob');
    log.join(B, 'j2', 'carol');
    for (let i = 0; i < 6; i++) log.add(A, { t: 'beat', live: true, timeoutMs: 1000 }, 300); // B silent: lost
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    expect(calls.lost).toEqual([`${B}:timeout`]);
    const bob = sidOf(calls, 'j1');
    const from = log.entries.length;
    log.add(B, { t: 'cmd', req: 'c1', room: 'r1' as never, by: bob, cmd: { type: 'chat', text: 'queued while cut off' } });
    log.add(B, { t: 'leave', room: 'r1' as never, sid: sidOf(calls, 'j2') });
    log.applyTo(state, from);
    expect(calls.commands.get('c1')).toBeUndefined(); // applied, not refused
    expect(calls.events.some((e) => e.type === 'chat' && e.text === 'queued while cut off')).toBe(true);
    expect(calls.events.some((e) => e.type === 'member_left' && e.userId === 'carol' && e.reason === 'left')).toBe(true);
  });

  it('does not blame the nodes for a silent log (broker outage)', () => {
    const log = new Log();
    log.add(A, { t: 'hello', timeoutMs: 1000 });
    log.add(B, { t: 'hello', timeoutMs: 1000 });
    log.join(B, 'j1', 'bob');
    log.add(A, { t: 'beat', live: true, timeoutMs: 1000 }, 60_000); // a minute of nothing
    log.add(B, { t: 'beat', live: true, timeoutMs: 1000 }, 300);
    const calls = new Calls();
    log.applyTo(new ClusterState(calls));
    expect(calls.lost).toEqual([]);
  });

  it('does not blame a node for entries of others that were queued during an outage and arrive together', () => {
    const log = new Log();
    log.add(A, { t: 'hello', timeoutMs: 10_000 });
    log.add(B, { t: 'hello', timeoutMs: 10_000 });
    log.join(B, 'j1', 'bob');
    log.join(A, 'j2', 'alice');
    // The broker is away for 15 s. A's queued entries carry their birth times, 3 s apart: no
    // single silence, yet log time passes B's timeout before B's first entry after the outage.
    for (let i = 0; i < 5; i++) {
      log.add(A, { t: 'cmd', req: `c${i}`, room: 'r1' as never, by: 1 as never, cmd: { type: 'chat', text: `${i}` } }, 3000);
    }
    log.add(A, { t: 'beat', live: true, timeoutMs: 10_000 }, 100); // A's one queued beat
    log.add(B, { t: 'beat', live: true, timeoutMs: 10_000 }, 100); // B is back
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    expect(calls.lost).toEqual([]);
    expect(state.rooms.get('r1' as never)?.members.size).toBe(2);
  });

  it('resumes a detached member on another node and replays what it missed', () => {
    const log = new Log();
    log.join(A, 'j1', 'alice');
    log.join(A, 'j2', 'bob', 'listener');
    const calls = new Calls();
    const state = new ClusterState(calls);
    log.applyTo(state);
    const alice = sidOf(calls, 'j1');
    const room = state.rooms.get('r1' as never);
    const seqBefore = room?.seq ?? 0;
    log.add(A, { t: 'detach', room: 'r1' as never, sid: alice, graceMs: 5000 });
    log.add(A, { t: 'cmd', req: 'c1', room: 'r1' as never, by: sidOf(calls, 'j2'), cmd: { type: 'chat', text: 'are you there?' } });
    log.add(B, { t: 'resume', req: 'r1', room: 'r1' as never, userId: 'alice' as never, sid: alice });
    log.add(B, { t: 'resume', req: 'r2', room: 'r1' as never, userId: 'mallory' as never, sid: alice });
    log.applyTo(state, 2);
    const resumed = calls.resumes.get('r1');
    expect(resumed?.ok && resumed.member.node).toBe(B);
    expect(calls.resumes.get('r2')?.ok).toBe(false);
    expect(state.missedEvents(room as never, seqBefore)?.map((t) => JSON.parse(t).text)).toEqual(['are you there?']);
    expect(calls.events.filter((e) => e.type === 'member_left' || e.type === 'member_joined')).toHaveLength(2); // the two joins only
  });

  describe('administration entries (admin API)', () => {
    const ADMIN = 'admin-1' as NodeId;
    const room = 'r1' as never;
    function setup(): { log: Log; calls: Calls; state: ClusterState } {
      const log = new Log();
      log.add(A, { t: 'hello', timeoutMs: 10_000 });
      log.join(A, 'j1', 'alice', 'host');
      log.join(B, 'j2', 'bob', 'listener');
      log.join(B, 'j3', 'carol', 'speaker');
      const calls = new Calls();
      const state = new ClusterState(calls);
      log.applyTo(state);
      return { log, calls, state };
    }
    function apply(log: Log, state: ClusterState, entry: DistributiveOmit<LogEntry, 'inc' | 'n'>): void {
      const from = log.entries.length;
      log.add(ADMIN, entry);
      log.applyTo(state, from);
    }

    it('a closed room refuses joins and removes everyone in it with 4405 on their nodes', () => {
      const { log, calls, state } = setup();
      calls.events = [];
      apply(log, state, { t: 'room', req: 'a1', room, config: { capacity: 10, seats: 2, open: false } });
      expect(calls.commands.has('a1')).toBe(true);
      expect(calls.commands.get('a1')).toBeUndefined();
      expect(state.rooms.has('r1' as never)).toBe(false);
      expect(calls.events.map((e) => (e.type === 'member_left' ? `${e.userId}:${e.reason}` : e.type))).toEqual(['alice:closed', 'bob:closed', 'carol:closed']);
      expect(calls.ended.map((e) => `${e.node}:${e.code}`).sort()).toEqual([`${A}:4405`, `${B}:4405`, `${B}:4405`]);
      const from = log.entries.length;
      log.join(A, 'j4', 'dave');
      log.applyTo(state, from);
      expect(calls.joins.get('j4')).toMatchObject({ ok: false, closeCode: CloseCode.RoomClosed });
      // Reopened: joins work again, with the directory's capacity and seats.
      apply(log, state, { t: 'room', req: 'a2', room, config: { capacity: 1, seats: 0, open: true } });
      const next = log.entries.length;
      log.join(A, 'j5', 'dave', 'speaker');
      log.join(A, 'j6', 'erin');
      log.applyTo(state, next);
      expect(calls.joins.get('j5')).toMatchObject({ ok: true, member: { role: 'listener' } });
      expect(calls.joins.get('j6')).toMatchObject({ ok: false, closeCode: CloseCode.RoomFull });
    });

    it('a new capacity or seat count reaches the live room as a room_updated event and counts for later joins', () => {
      const { log, calls, state } = setup();
      apply(log, state, { t: 'room', req: 'a1', room, config: { capacity: 3, seats: 1, open: true } });
      expect(calls.events.filter((e) => e.type === 'room_updated')).toEqual([]); // unchanged: no event
      apply(log, state, { t: 'room', req: 'a2', room, config: { capacity: 4, seats: 2, open: true } });
      expect(calls.events.at(-1)).toMatchObject({ type: 'room_updated', settings: { capacity: 4, seats: 2 } });
      const from = log.entries.length;
      log.join(A, 'j4', 'dave', 'speaker');
      log.applyTo(state, from);
      expect(calls.joins.get('j4')).toMatchObject({ ok: true, member: { role: 'speaker' } });
    });

    it('a ban removes the member, refuses rejoins until it expires in log time, and a global ban covers every room', () => {
      const { log, calls, state } = setup();
      const until = log.time + 60_000;
      apply(log, state, { t: 'ban', req: 'b1', room, userId: 'bob' as never, until });
      expect(calls.events.at(-1)).toMatchObject({ type: 'member_left', userId: 'bob', reason: 'banned' });
      expect(calls.ended.at(-1)).toMatchObject({ node: B, code: CloseCode.Banned });
      let from = log.entries.length;
      log.join(B, 'j4', 'bob');
      log.join(B, 'j5', 'bob', 'speaker', 'r2'); // another room: not covered
      log.applyTo(state, from);
      expect(calls.joins.get('j4')).toMatchObject({ ok: false, closeCode: CloseCode.Banned });
      expect(calls.joins.get('j5')).toMatchObject({ ok: true });
      // Global ban: removed from r2 as well, refused everywhere.
      apply(log, state, { t: 'ban', req: 'b2', room: null, userId: 'bob' as never, until: null });
      expect(state.rooms.get('r2' as never)).toBeUndefined();
      apply(log, state, { t: 'unban', req: 'u1', room: null, userId: 'bob' as never });
      // The room ban still holds until it expires in log time.
      from = log.entries.length;
      log.join(B, 'j6', 'bob');
      log.add(A, { t: 'beat', live: true, timeoutMs: 120_000 }, 61_000);
      log.join(B, 'j7', 'bob');
      log.applyTo(state, from);
      expect(calls.joins.get('j6')).toMatchObject({ ok: false, closeCode: CloseCode.Banned });
      expect(calls.joins.get('j7')).toMatchObject({ ok: true });
    });

    it('admin kick, mute, role and notice act on members by user id, with by = 0, and report unknown users', () => {
      const { log, calls, state } = setup();
      apply(log, state, { t: 'admin', req: 'm1', room, action: { type: 'mute', userId: 'alice' as never, muted: true } });
      expect(calls.events.at(-1)).toMatchObject({ type: 'members_updated', reason: 'mute', by: 0, members: [{ userId: 'alice', muted: true }] });
      apply(log, state, { t: 'admin', req: 'm2', room, action: { type: 'set_role', userId: 'bob' as never, role: 'speaker' } });
      expect(calls.commands.get('m2')).toMatchObject({ code: ErrorCode.SeatsFull }); // carol holds the one seat
      apply(log, state, { t: 'admin', req: 'm3', room, action: { type: 'set_role', userId: 'bob' as never, role: 'host' } });
      expect(calls.events.at(-1)).toMatchObject({ type: 'members_updated', reason: 'role', by: 0, members: [{ userId: 'bob', role: 'host' }] });
      apply(log, state, { t: 'admin', req: 'm4', room, action: { type: 'notice', text: 'closing soon' } });
      expect(calls.events.at(-1)).toMatchObject({ type: 'notice', text: 'closing soon' });
      apply(log, state, { t: 'admin', req: 'm5', room, action: { type: 'kick', userId: 'carol' as never } });
      expect(calls.events.at(-1)).toMatchObject({ type: 'member_left', userId: 'carol', reason: 'kicked' });
      expect(calls.ended.at(-1)).toMatchObject({ node: B, code: CloseCode.Kicked });
      apply(log, state, { t: 'admin', req: 'm6', room, action: { type: 'kick', userId: 'carol' as never } });
      expect(calls.commands.get('m6')).toMatchObject({ code: ErrorCode.UnknownMember });
      for (const req of ['m1', 'm3', 'm4', 'm5']) expect(calls.commands.get(req)).toBeUndefined();
    });

    it('a snapshot carries the directory, bans and room epochs', () => {
      const { log, state } = setup();
      apply(log, state, { t: 'room', req: 'a1', room: 'r9' as never, config: { capacity: 5, seats: 1, open: false } });
      apply(log, state, { t: 'ban', req: 'b1', room, userId: 'zed' as never, until: null });
      const copy = new ClusterState(new Calls());
      copy.load(state.snapshot());
      expect(copy.snapshot()).toEqual(state.snapshot());
      expect(copy.directory.get('r9' as never)).toEqual({ capacity: 5, seats: 1, open: false });
      expect(copy.bannedUntil(room, 'zed' as never)).toBeNull();
      expect(copy.rooms.get(room)?.epoch).toBe(state.rooms.get(room)?.epoch);
    });
  });
  describe("rejoin block after a kick (the room's kickBlockMs, from the join that created it)", () => {
    const room = 'r1' as never;
    /** alice (host) creates r1 with a 5 s block; bob and carol join. */
    /** `kickBlockMs` null: the join has no such field (an older node). */
    function setup(kickBlockMs: number | null = 5000): { log: Log; calls: Calls; state: ClusterState } {
      const log = new Log();
      log.add(A, { t: 'hello', timeoutMs: 120_000 });
      log.add(A, {
        t: 'join',
        req: 'j1',
        room,
        userId: 'alice' as never,
        role: 'host',
        settings,
        graceMs: 5000,
        ...(kickBlockMs === null ? {} : { kickBlockMs }),
      });
      log.join(B, 'j2', 'bob', 'listener');
      log.join(B, 'j3', 'carol', 'listener');
      const calls = new Calls();
      const state = new ClusterState(calls);
      log.applyTo(state);
      return { log, calls, state };
    }
    function then(log: Log, state: ClusterState, add: () => void): void {
      const from = log.entries.length;
      add();
      log.applyTo(state, from);
    }

    it('refuses the kicked user (any token, any node) with 4403 until the block has passed in log time; others and other rooms are not affected', () => {
      const { log, calls, state } = setup();
      const kickedAt = log.time + 10;
      then(log, state, () => log.add(A, { t: 'cmd', req: 'k1', room, by: sidOf(calls, 'j1'), cmd: { type: 'kick', sid: sidOf(calls, 'j2') } }));
      expect(calls.ended.at(-1)).toMatchObject({ node: B, code: CloseCode.Kicked });
      expect(state.kickBlockedUntil(room, 'bob' as never)).toBe(kickedAt + 5000);
      then(log, state, () => {
        log.join(B, 'j4', 'bob'); // at once, on the node that held it
        log.join(A, 'j5', 'bob', 'host'); // on another node, with another token
        log.join(A, 'j6', 'bob', 'speaker', 'r2'); // another room
        log.join(A, 'j7', 'dave'); // another user
      });
      for (const req of ['j4', 'j5']) {
        expect(calls.joins.get(req)).toEqual({
          ok: false,
          closeCode: CloseCode.Kicked,
          reason: `kicked from this room; you may join it again after ${new Date(kickedAt + 5000).toISOString()}`,
        });
      }
      expect(calls.joins.get('j6')).toMatchObject({ ok: true });
      expect(calls.joins.get('j7')).toMatchObject({ ok: true });
      then(log, state, () => log.add(A, { t: 'leave', room, sid: sidOf(calls, 'j7') })); // a place for bob (capacity 3)
      // Still blocked 1 ms before the end, admitted at the end (log time, from the entries' birth times).
      then(log, state, () => log.add(A, { t: 'beat', live: true, timeoutMs: 120_000 }, kickedAt + 4999 - log.time - 10));
      then(log, state, () => log.join(B, 'j8', 'bob'));
      expect(calls.joins.get('j8')).toMatchObject({ ok: false, closeCode: CloseCode.Kicked });
      expect(log.time).toBe(kickedAt + 4999);
      then(log, state, () => log.add(B, { t: 'join', req: 'j9', room, userId: 'bob' as never, role: 'speaker', settings, graceMs: 5000 }, 1));
      expect(log.time).toBe(kickedAt + 5000);
      expect(calls.joins.get('j9')).toMatchObject({ ok: true });
      expect(state.kickBlockedUntil(room, 'bob' as never)).toBeUndefined();
    });

    it("an administrator's kick blocks the same way, and the block outlives the room", () => {
      const { log, calls, state } = setup();
      then(log, state, () => log.add('admin-1' as NodeId, { t: 'admin', req: 'a1', room, action: { type: 'kick', userId: 'carol' as never } }));
      expect(calls.ended.at(-1)).toMatchObject({ code: CloseCode.Kicked });
      // Everyone else leaves: the live room is gone, the block is not.
      then(log, state, () => {
        log.add(A, { t: 'leave', room, sid: sidOf(calls, 'j1') });
        log.add(B, { t: 'leave', room, sid: sidOf(calls, 'j2') });
      });
      expect(state.rooms.has(room)).toBe(false);
      then(log, state, () => log.join(B, 'j4', 'carol', 'host'));
      expect(calls.joins.get('j4')).toMatchObject({ ok: false, closeCode: CloseCode.Kicked });
      expect(state.rooms.has(room)).toBe(false);
    });

    it('every replica decides the same, a snapshot carries the block, and a room created without kickBlockMs (an older node) has none', () => {
      const { log, calls } = setup();
      log.add(A, { t: 'cmd', req: 'k1', room, by: sidOf(calls, 'j1'), cmd: { type: 'kick', sid: sidOf(calls, 'j2') } });
      const half = new ClusterState(new Calls());
      log.applyTo(half);
      log.join(A, 'j4', 'bob');
      log.add(A, { t: 'beat', live: true, timeoutMs: 120_000 }, 6000);
      log.join(A, 'j5', 'bob');
      const one = new Calls();
      const two = new Calls();
      const fromSnapshot = new Calls();
      const a = new ClusterState(one);
      const b = new ClusterState(two);
      log.applyTo(a);
      log.applyTo(b);
      const c = new ClusterState(fromSnapshot);
      c.load(half.snapshot());
      expect(JSON.parse(half.snapshot()).kickBlocks).toHaveLength(1);
      log.applyTo(c, log.entries.length - 3);
      for (const calls of [one, two, fromSnapshot]) {
        expect(calls.joins.get('j4')).toMatchObject({ ok: false, closeCode: CloseCode.Kicked });
        expect(calls.joins.get('j5')).toMatchObject({ ok: true });
      }
      expect(a.snapshot()).toEqual(b.snapshot());
      expect(c.snapshot()).toEqual(a.snapshot());
      expect(JSON.parse(a.snapshot()).kickBlocks).toEqual([]);

      const old = setup(null);
      then(old.log, old.state, () =>
        old.log.add(A, { t: 'cmd', req: 'k1', room, by: sidOf(old.calls, 'j1'), cmd: { type: 'kick', sid: sidOf(old.calls, 'j2') } }),
      );
      then(old.log, old.state, () => old.log.join(B, 'j4', 'bob'));
      expect(old.calls.joins.get('j4')).toMatchObject({ ok: true });
      const none = setup(0);
      then(none.log, none.state, () => none.log.add('admin-1' as NodeId, { t: 'admin', req: 'a1', room, action: { type: 'kick', userId: 'bob' as never } }));
      then(none.log, none.state, () => none.log.join(B, 'j4', 'bob'));
      expect(none.calls.joins.get('j4')).toMatchObject({ ok: true });
    });
  });
});
