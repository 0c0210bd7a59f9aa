/**
 * Snapshots: the whole replicated state as one JSON text (format v1), taken by a live node right
 * after a hello and loaded by the node that said it (replica.ts). Carries everything StateCore
 * decides with (nodes, duplicate counters, directory, bans, kick blocks, rooms and members) but
 * not the per-room event history (room-history.ts) nor node-local voice fields.
 */
import type { NodeId, Role, RoomId, RoomSettings, SpeakerId, UserId } from '@voiceroom/protocol';
import type { RoomConfig } from './log-events';
import type { StateCore } from './state-core';
import type { MemberRecord, NodeRecord, RoomRecord } from './state-types';

interface SnapshotV1 {
  v: 1;
  position: number;
  time: number;
  nextSid: number;
  nodes: NodeRecord[];
  lastApplied: [NodeId, { inc: string; n: number }][];
  directory?: [RoomId, RoomConfig][];
  bans?: [string, number | null][];
  kickBlocks?: [string, number][];
  rooms: {
    id: RoomId;
    epoch?: number;
    settings: RoomSettings;
    graceMs: number;
    kickBlockMs?: number;
    seq: number;
    mutedUsers: UserId[];
    roleGrants: [UserId, Role][];
    members: {
      userId: UserId;
      sid: SpeakerId;
      name?: string;
      role: Role;
      muted: boolean;
      handRaised: boolean;
      node: NodeId | null;
      lostNode?: NodeId;
      detachedUntil: number;
    }[];
  }[];
}

export function takeSnapshot(s: StateCore): string {
  const data: SnapshotV1 = {
    v: 1,
    position: s.position,
    time: s.time,
    nextSid: s.nextSid,
    nodes: [...s.nodes.values()].map((n) => ({ ...n, beatsSeen: { ...n.beatsSeen } })),
    lastApplied: [...s.lastApplied],
    directory: [...s.directory].map(([id, c]) => [id, { ...c }]),
    bans: [...s.bans].filter(([, until]) => until === null || until > s.time),
    kickBlocks: [...s.kickBlocks].filter(([, until]) => until > s.time),
    rooms: [...s.rooms.values()].map((r) => ({
      id: r.id,
      epoch: r.epoch,
      settings: r.settings,
      graceMs: r.graceMs,
      kickBlockMs: r.kickBlockMs,
      seq: r.seq,
      mutedUsers: [...r.mutedUsers],
      roleGrants: [...r.roleGrants],
      members: [...r.members.values()].map((m) => {
        const out: SnapshotV1['rooms'][number]['members'][number] = {
          userId: m.userId,
          sid: m.sid,
          role: m.role,
          muted: m.muted,
          handRaised: m.handRaised,
          node: m.node ?? null,
          detachedUntil: m.detachedUntil,
        };
        if (m.name !== undefined) out.name = m.name;
        if (m.lostNode !== undefined) out.lostNode = m.lostNode;
        return out;
      }),
    })),
  };
  return JSON.stringify(data);
}

/** Replaces everything in `s` with a snapshot taken by another node. Throws on a malformed one. */
export function loadSnapshot(s: StateCore, text: string): void {
  const data = JSON.parse(text) as SnapshotV1;
  if (data.v !== 1 || !Array.isArray(data.rooms) || !Array.isArray(data.nodes)) throw new Error('unknown snapshot format');
  s.rooms.clear();
  s.nodes.clear();
  s.detached.clear();
  s.memberCount = 0;
  s.position = data.position;
  s.time = data.time;
  s.nextSid = data.nextSid;
  for (const n of data.nodes) s.nodes.set(n.id, { ...n, beatsSeen: { ...n.beatsSeen } });
  s.lastApplied.clear();
  for (const [node, last] of data.lastApplied) s.lastApplied.set(node, { ...last });
  s.directory.clear();
  for (const [id, config] of data.directory ?? []) s.directory.set(id, { ...config });
  s.bans.clear();
  for (const [key, until] of data.bans ?? []) s.bans.set(key, until);
  s.kickBlocks.clear();
  s.nextKickUnblock = Infinity;
  for (const [key, until] of data.kickBlocks ?? []) {
    s.kickBlocks.set(key, until);
    s.nextKickUnblock = Math.min(s.nextKickUnblock, until);
  }
  for (const r of data.rooms) {
    const room: RoomRecord = {
      id: r.id,
      settings: r.settings,
      epoch: r.epoch ?? 0,
      graceMs: r.graceMs,
      kickBlockMs: r.kickBlockMs ?? 0,
      seq: r.seq,
      members: new Map(),
      byUser: new Map(),
      mutedUsers: new Set(r.mutedUsers),
      roleGrants: new Map(r.roleGrants),
      history: [],
    };
    for (const m of r.members) {
      const member: MemberRecord = {
        room,
        userId: m.userId,
        sid: m.sid,
        name: m.name,
        role: m.role,
        muted: m.muted,
        handRaised: m.handRaised,
        node: m.node ?? undefined,
        lostNode: m.lostNode,
        detachedUntil: m.detachedUntil,
      };
      room.members.set(member.sid, member);
      room.byUser.set(member.userId, member);
      if (member.node === undefined) s.detached.add(member);
      s.memberCount++;
    }
    s.rooms.set(room.id, room);
  }
}
