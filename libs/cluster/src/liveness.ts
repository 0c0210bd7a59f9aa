/**
 * Log time and node liveness: advancing the log's clock from birth times (and forgiving a broker
 * silence), hellos, beats and byes, declaring a node lost (its members are detached, keeping
 * their place for the room's grace), and ending detached members whose grace has passed.
 * Plain functions over StateCore, called by ClusterState.apply.
 */
import type { NodeId } from '@voiceroom/protocol';
import type { StateCore } from './state-core';
import type { NodeRecord } from './state-types';

/**
 * A node is lost only when, besides its timeout having passed in log time, another node has
 * beaten this many times since its last beat. Entries queued while the broker was away arrive
 * with old birth times and can make log time advance in small steps; a node queues at most one
 * beat, so this many beats of another node mean the log really was flowing without it.
 */
export const BEATS_BEFORE_LOSS = 3;

/** Log time becomes the largest birth time applied so far (it never goes backwards). */
export function advanceTime(s: StateCore, birth: number): void {
  if (s.time === 0) {
    s.time = birth;
    return;
  }
  if (birth <= s.time) return;
  if (birth - s.time > silenceMs(s)) {
    // Nothing was appended for a while: the log (broker) was away, not every node. Nobody is
    // declared dead for that silence; every node gets its full timeout again from now.
    for (const node of s.nodes.values()) node.lastBeat = birth;
  }
  s.time = birth;
}

/** Half the shortest node timeout: live nodes beat several times within it. */
function silenceMs(s: StateCore): number {
  let min = Infinity;
  for (const node of s.nodes.values()) min = Math.min(min, node.timeoutMs);
  return min === Infinity ? 5000 : min / 2;
}

/** A hello (live false) or a beat of `id`. A new incarnation first loses what the previous one held. */
export function beat(s: StateCore, id: NodeId, inc: string, live: boolean, timeoutMs: number): void {
  let node = s.nodes.get(id);
  if (node && node.inc !== inc) {
    // The node restarted: what its previous life held is detached (its clients may resume).
    loseNode(s, node, 'timeout');
    node = undefined;
  }
  if (!node) {
    node = { id, inc, live, timeoutMs, lastBeat: s.time, beatsSeen: {} };
    s.nodes.set(id, node);
  }
  node.live = live;
  node.timeoutMs = timeoutMs;
  node.lastBeat = s.time;
  node.beatsSeen = {};
  for (const other of s.nodes.values()) {
    if (other !== node) other.beatsSeen[id] = (other.beatsSeen[id] ?? 0) + 1;
  }
}

/** A node said goodbye (after its drain): lost now, if it is the incarnation the state knows. */
export function bye(s: StateCore, id: NodeId, inc: string): void {
  const node = s.nodes.get(id);
  if (node && node.inc === inc) loseNode(s, node, 'bye');
}

function loseNode(s: StateCore, node: NodeRecord, why: 'timeout' | 'bye'): void {
  s.nodes.delete(node.id);
  for (const room of s.rooms.values()) {
    for (const member of room.members.values()) {
      if (member.node === node.id) {
        s.markDetached(member, s.time + room.graceMs);
        member.lostNode = node.id;
      }
    }
  }
  s.listener.nodeLost(node.id, why);
}

/** Nodes past their timeout in log time (and outbeaten, BEATS_BEFORE_LOSS) are lost. */
export function expireNodes(s: StateCore): void {
  for (const node of [...s.nodes.values()]) {
    if (s.time - node.lastBeat > node.timeoutMs && Object.values(node.beatsSeen).some((n) => n >= BEATS_BEFORE_LOSS)) {
      loseNode(s, node, 'timeout');
    }
  }
}

/** Detached members whose grace has passed leave (reason `timeout`). */
export function expireDetached(s: StateCore): void {
  if (s.detached.size === 0) return;
  for (const member of [...s.detached]) {
    if (member.node === undefined && member.detachedUntil <= s.time) s.removeMember(member, 'timeout');
  }
}
