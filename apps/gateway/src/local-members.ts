import { memberInfo, PendingRequests, type JoinOutcome, type MemberRecord, type NewEntry, type Replica, type ResumeOutcome } from '@voiceroom/cluster';
import type { GatewayConfig } from '@voiceroom/config';
import {
  CloseCode,
  ErrorCode,
  type JoinedMessage,
  type Logger,
  type MemberInfo,
  type NodeId,
  type Ref,
  type ResumedMessage,
  type Role,
  type RoomCommand,
  type RoomId,
  type RoomWelcome,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import type { TokenService } from '@voiceroom/tokens';
import type { GatewayStats } from './gateway-stats';
import type { Hub } from './hub';
import type { PlainHistogram } from './plain-histogram';
import type { Session, SessionState } from './session';
import type { VoiceRelay } from './voice-relay';

/** A request of one of this node's sessions, waiting for the log to apply it. */
interface PendingRequest {
  /** reattach: this node, declared lost, takes its own still-connected members back. */
  kind: 'join' | 'resume' | 'command' | 'reattach';
  session: Session;
  /** resume: the last room event the client has (what to replay from). */
  lastSeq?: number;
  /** command: the client's reference, echoed in an `error`. */
  ref?: Ref;
  /** join: performance.now() when it arrived (voiceroom_join_duration_seconds). */
  startedAt?: number;
}

/** What LocalMembers is built from: the node's parts it works with. */
export interface LocalMembersDeps {
  readonly config: Pick<GatewayConfig, 'rooms' | 'voice' | 'cluster'>;
  readonly replica: Pick<Replica, 'nodeId' | 'inc' | 'state' | 'publish'>;
  readonly hub: Hub;
  readonly relay: Pick<VoiceRelay, 'voiceOf' | 'currentSpeakers'>;
  readonly tokens: Pick<TokenService, 'signResume'>;
  readonly stats: GatewayStats;
  /** voiceroom_join_duration_seconds. */
  readonly joinTiming: PlainHistogram;
  readonly log: Logger;
}

/**
 * This node's members and their requests: joins, resumes and commands go to the event log as
 * requests (one PendingRequests table, ids `<incarnation>.<n>`, CLUSTER_REQUEST_TIMEOUT_MS each),
 * and when the log applies them this module answers its own sessions (`joined`, `resumed`, an
 * `error`, a close code) and attaches them to the hub. An outcome nobody waits for any more is
 * undone with a new entry (a join with a `leave`, a resume with a `detach`). It also publishes
 * what the end of a joined session means (leave or detach), ends sessions the log removed or
 * moved, and keeps whether each member may speak. Admission (tokens, readiness, per-user limits)
 * is the node's; so is everything about other nodes' members.
 */
export class LocalMembers {
  /** Joined sessions of this node by sid. */
  private readonly bySid = new Map<SpeakerId, Session>();
  private readonly requests: PendingRequests<PendingRequest>;

  constructor(private readonly deps: LocalMembersDeps) {
    this.requests = new PendingRequests(deps.replica.nodeId, `${deps.replica.inc}.`, deps.config.cluster.requestTimeoutMs, (p) => this.timedOut(p));
  }

  private get nodeId(): NodeId {
    return this.deps.replica.nodeId;
  }

  // ---- requests ---------------------------------------------------------------------------------

  join(session: Session, claims: { userId: UserId; room: RoomId; role: Role; name?: string | undefined }, startedAt: number): void {
    const { rooms } = this.deps.config;
    const entry: NewEntry = {
      t: 'join',
      req: '',
      room: claims.room,
      userId: claims.userId,
      role: claims.role,
      settings: { capacity: rooms.capacity, seats: rooms.seats },
      graceMs: rooms.resumeGraceMs,
      kickBlockMs: rooms.kickBlockMs,
    };
    if (claims.name !== undefined) entry.name = claims.name;
    this.request({ kind: 'join', session, startedAt }, entry);
  }

  resume(session: Session, claims: { userId: UserId; room: RoomId; sid: SpeakerId }, lastSeq: number): void {
    this.request({ kind: 'resume', session, lastSeq }, { t: 'resume', req: '', room: claims.room, userId: claims.userId, sid: claims.sid });
  }

  /** A command of a joined session. */
  command(session: Session, cmd: RoomCommand): void {
    const member = session.member as MemberRecord;
    const { ref, ...plain } = cmd;
    this.deps.stats.commandsPublished++;
    this.request(ref === undefined ? { kind: 'command', session } : { kind: 'command', session, ref }, {
      t: 'cmd',
      req: '',
      room: member.room.id,
      by: member.sid,
      cmd: plain as RoomCommand,
    });
  }

  /**
   * This node was declared lost while these sessions stayed connected: their members were
   * detached. Each is taken back with a resume, as if it resumed here: nobody sees a leave or a
   * join. A member whose place is gone by then is told so (4404).
   */
  reattach(joined: Session[]): void {
    for (const session of joined) {
      const member = session.member as MemberRecord;
      this.request({ kind: 'reattach', session }, { t: 'resume', req: '', room: member.room.id, userId: member.userId, sid: member.sid });
    }
  }

  /** Publishes a request on the log; its outcome arrives when the log applies it. */
  private request(pending: PendingRequest, entry: NewEntry): void {
    const req = this.requests.open(pending);
    (entry as { req: string }).req = req;
    if (pending.kind === 'join' || pending.kind === 'resume') pending.session.awaitingCluster();
    this.deps.replica.publish(entry).catch((error: unknown) => {
      this.deps.stats.eventPublishFailures++;
      this.deps.log.warn({ err: error, kind: pending.kind }, 'request not stored on the event log');
      this.requests.expire(req);
    });
  }

  private timedOut(p: PendingRequest): void {
    if (p.kind === 'reattach') {
      p.session.close(CloseCode.Reconnect, 'could not take the membership back in time; resume');
    } else if (p.kind === 'command') {
      p.session.send({
        type: 'error',
        code: ErrorCode.Unavailable,
        message: 'not confirmed in time: the event log is slow or away; the command may still take effect when it is back',
        ...(p.ref === undefined ? {} : { ref: p.ref }),
      });
    } else {
      // If the log applies it later, the outcome finds no pending request and is undone.
      p.session.close(CloseCode.JoinTimeout, 'the cluster did not confirm in time; try again');
    }
  }

  /** The room state was lost: joins, resumes and reattaches give up now (commands wait for their timeout). */
  giveUpOnMemberships(): void {
    this.requests.expireWhere((p) => p.kind !== 'command');
  }

  /** The node is closing: pending requests are forgotten, nobody is answered. */
  forgetRequests(): void {
    this.requests.takeAll();
  }

  /** Publishes an entry nobody waits for (leave, detach, an undo). */
  private publish(entry: NewEntry): void {
    this.deps.replica.publish(entry).catch((error: unknown) => {
      this.deps.stats.eventPublishFailures++;
      this.deps.log.warn({ err: error, entry: entry.t }, 'event not stored on the event log');
    });
  }

  // ---- outcomes (the node's ReplicaListener forwards them) ------------------------------------

  joinDecided(origin: NodeId, req: string, outcome: JoinOutcome): void {
    if (origin !== this.nodeId) return;
    const p = this.requests.take(origin, req);
    if (p?.session.state !== 'pending') {
      // Nobody is waiting any more (timed out or gone): undo the join.
      if (outcome.ok) this.publish({ t: 'leave', room: outcome.member.room.id, sid: outcome.member.sid });
      return;
    }
    const session = p.session;
    const { stats, log } = this.deps;
    if (!outcome.ok) {
      stats.joinsRefused++;
      log.info({ user: session.userId, reason: outcome.reason }, 'join refused');
      session.close(outcome.closeCode, outcome.reason);
      return;
    }
    const member = outcome.member;
    this.attach(session, member);
    stats.joinsAccepted++;
    const message: JoinedMessage = { type: 'joined', ...this.welcome(member), members: others(member) };
    session.send(message);
    if (p.startedAt !== undefined) this.deps.joinTiming.observe((performance.now() - p.startedAt) / 1000);
    session.releaseHeld();
    log.info({ user: member.userId, room: message.room, role: member.role, sid: member.sid, ip: session.remoteAddress }, 'member joined');
  }

  resumeDecided(origin: NodeId, req: string, outcome: ResumeOutcome): void {
    if (origin !== this.nodeId) return;
    const p = this.requests.take(origin, req);
    const { stats, log } = this.deps;
    if (p?.kind === 'reattach') {
      if (outcome.ok) log.info({ sid: outcome.member.sid }, 'member re-attached after this node was declared lost');
      else p.session.close(CloseCode.ResumeFailed, 'your place in the room is gone; join again', 'ended');
      return;
    }
    if (p?.session.state !== 'pending') {
      if (outcome.ok) this.publish({ t: 'detach', room: outcome.member.room.id, sid: outcome.member.sid, graceMs: outcome.member.room.graceMs });
      return;
    }
    const session = p.session;
    if (!outcome.ok) {
      stats.resumesRefused++;
      session.close(CloseCode.ResumeFailed, `cannot resume: ${outcome.reason}; join again`);
      return;
    }
    const member = outcome.member;
    this.attach(session, member);
    stats.resumesAccepted++;
    const missed = this.deps.replica.state.missedEvents(member.room, p.lastSeq ?? 0);
    const message: ResumedMessage = { type: 'resumed', ...this.welcome(member) };
    if (!missed) message.members = others(member);
    session.send(message);
    if (missed) for (const text of missed) session.deliverText(text);
    session.releaseHeld();
    log.info({ user: member.userId, room: message.room, sid: member.sid, replayed: missed?.length ?? 'roster' }, 'member resumed');
  }

  /** A command of this node was applied; `error`: why it had no effect. */
  commandDone(origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void {
    const p = this.requests.take(origin, req);
    if (!p || !error) return;
    this.deps.stats.commandsRefused++;
    p.session.send({ type: 'error', code: error.code, message: error.message, ...(p.ref === undefined ? {} : { ref: p.ref }) });
  }

  /** The log removed or moved a member held here (kicked, replaced, resumed elsewhere): its session ends. */
  sessionEnded(member: MemberRecord, closeCode: number, reason: string): void {
    const session = this.bySid.get(member.sid);
    if (session?.member !== member) return;
    this.bySid.delete(member.sid);
    session.close(closeCode, reason, 'ended');
  }

  /** Role or mute changed: whether a member held here may send audio. */
  memberChanged(member: MemberRecord): void {
    const session = this.bySid.get(member.sid);
    if (session?.member === member) session.memberChanged();
  }

  private attach(session: Session, member: MemberRecord): void {
    const previous = this.bySid.get(member.sid);
    if (previous && previous !== session) previous.close(CloseCode.Replaced, 'resumed on another connection', 'ended');
    session.attached(member);
    const hubRoom = this.deps.hub.add(session, member.room);
    session.enteredHub(hubRoom, this.deps.relay.voiceOf(hubRoom, member));
    this.bySid.set(member.sid, session);
  }

  /**
   * A session of this node is gone (`was`: its state until then). A joined member leaves the hub;
   * unless the log already ended it, its leave or detach goes to the log.
   */
  closed(session: Session, was: SessionState): void {
    if (was !== 'joined') return;
    const member = session.member as MemberRecord;
    this.deps.hub.remove(session);
    session.leftHub();
    if (this.bySid.get(member.sid) === session) this.bySid.delete(member.sid);
    if (session.closeIntent === 'ended') return;
    const room = member.room.id;
    const entry: NewEntry =
      session.closeIntent === 'leave' ? { t: 'leave', room, sid: member.sid } : { t: 'detach', room, sid: member.sid, graceMs: member.room.graceMs };
    this.publish(entry);
    this.deps.log.info({ user: member.userId, room, sid: member.sid, how: entry.t }, entry.t === 'leave' ? 'member left' : 'member detached');
  }

  /** What `joined` and `resumed` have in common. */
  private welcome(member: MemberRecord): Omit<RoomWelcome, 'type'> {
    const room = member.room;
    const { config, tokens, relay } = this.deps;
    return {
      room: room.id,
      self: memberInfo(member),
      seq: room.seq,
      speakers: relay.currentSpeakers(room.id),
      settings: room.settings,
      resumeToken: tokens.signResume({ userId: member.userId, room: room.id, sid: member.sid }),
      resumeGraceMs: room.graceMs,
      node: this.nodeId,
      limits: { maxPayloadBytes: config.voice.maxPayloadBytes, maxFramesPerSecond: config.voice.maxFramesPerSecond },
    };
  }
}

/** Everyone else in the room, on every node (detached members included: they keep their place). */
function others(member: MemberRecord): MemberInfo[] {
  const out: MemberInfo[] = [];
  for (const m of member.room.members.values()) if (m !== member) out.push(memberInfo(m));
  return out;
}
