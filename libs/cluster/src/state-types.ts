/**
 * The records of the replicated room state and the contract with whoever applies it: rooms,
 * members, nodes, join/resume outcomes and the StateListener, plus pure helpers on records.
 * Owns no state and no rules; every other state module imports from here, never the reverse.
 * Re-exported by cluster-state.ts (the package's public names do not move).
 */
import type { ErrorCode, MemberInfo, NodeId, Role, RoomEventMessage, RoomId, RoomSettings, SpeakerId, UserId } from '@voiceroom/protocol';

/**
 * One member of a room, wherever it is connected: replicated fields only, the same on every node.
 * What a node knows of a member's voice (last sequence relayed, level, when it last spoke) is that
 * node's own business and lives in the gateway (apps/gateway/src/speaker-voice.ts).
 */
export interface MemberRecord {
  readonly room: RoomRecord;
  readonly userId: UserId;
  readonly sid: SpeakerId;
  readonly name: string | undefined;
  role: Role;
  muted: boolean;
  handRaised: boolean;
  /** Node holding its connection; undefined while detached. */
  node: NodeId | undefined;
  /**
   * The node it was attached to when that node was declared lost (undefined otherwise). Such a
   * node may still be running with the member connected: its leaves and commands for the member
   * keep counting until the member resumes somewhere (or the grace ends).
   */
  lostNode: NodeId | undefined;
  /** Log time after which a detached member has left; 0 while attached. */
  detachedUntil: number;
}

export interface RoomRecord {
  readonly id: RoomId;
  /** Capacity and seats: from the directory (admin API) if listed there, else from the creating join. */
  settings: RoomSettings;
  /**
   * Log position of the join that created this live room: with `seq`, it names a room event
   * uniquely (a room that empties and fills again starts a new epoch, with seq from 1).
   */
  readonly epoch: number;
  /** How long members detached by a lost node may resume (from the join that created the room). */
  readonly graceMs: number;
  /** How long a user kicked from the room is refused when joining it again, ms (from the join that created the room; 0: not at all). */
  readonly kickBlockMs: number;
  /** Seq of the last room event. */
  seq: number;
  readonly members: Map<SpeakerId, MemberRecord>;
  readonly byUser: Map<UserId, MemberRecord>;
  /** Users a host muted; survives their leaving and joining again while the room exists. */
  readonly mutedUsers: Set<UserId>;
  /** Roles a host gave (speaker/listener); survive rejoining while the room exists. */
  readonly roleGrants: Map<UserId, Role>;
  /** Last room events, oldest first, consecutive seqs. */
  readonly history: { seq: number; text: string }[];
}

export interface NodeRecord {
  readonly id: NodeId;
  inc: string;
  live: boolean;
  timeoutMs: number;
  /** Log time of its last hello or beat. */
  lastBeat: number;
  /** Beats applied from each other node since this node's last beat. */
  beatsSeen: Record<string, number>;
  /** Its NODE_URL, from its last beat (other nodes ask it whether the log flows). */
  url?: string;
}

export type JoinOutcome = { ok: true; member: MemberRecord } | { ok: false; closeCode: number; reason: string };

export type ResumeOutcome = { ok: true; member: MemberRecord } | { ok: false; reason: string };

/** What applying an entry means to the node applying it. All calls happen during `apply`. */
export interface StateListener {
  /** A room event: deliver `text` to this node's members of the room. */
  roomEvent(room: RoomRecord, message: RoomEventMessage, text: string): void;
  joinDecided(origin: NodeId, req: string, outcome: JoinOutcome): void;
  resumeDecided(origin: NodeId, req: string, outcome: ResumeOutcome): void;
  /** A command was applied; `error` says why it had no effect, if it was refused. */
  commandDone(origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void;
  /** The member's session on `node` must end (kicked, replaced, or it resumed elsewhere). */
  sessionEnded(member: MemberRecord, node: NodeId, closeCode: number, reason: string): void;
  /** Role or mute changed: whether it may send audio may have changed. */
  memberChanged(member: MemberRecord): void;
  /** A node stopped beating (or said bye); its members are detached. */
  nodeLost(node: NodeId, why: 'timeout' | 'bye'): void;
}

/** The sid that `members_updated.by` names when an administrator acted. */
export const ADMIN_SID = 0 as SpeakerId;

export function memberInfo(m: MemberRecord): MemberInfo {
  const info: MemberInfo = { userId: m.userId, sid: m.sid, role: m.role, muted: m.muted, handRaised: m.handRaised };
  if (m.name !== undefined) info.name = m.name;
  return info;
}

export function canSpeak(m: MemberRecord): boolean {
  return m.role !== 'listener' && !m.muted;
}
