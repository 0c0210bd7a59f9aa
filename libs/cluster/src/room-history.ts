/**
 * Per-room event history, for resumes: numbering and serialising a room event once (the same
 * bytes on every node), keeping the last HISTORY_LENGTH of each room, and answering which events
 * a resuming member missed. History is node memory: snapshots (snapshot.ts) do not carry it.
 * Pure functions on RoomRecord; the listener is told by StateCore.emit.
 */
import type { RoomEventMessage } from '@voiceroom/protocol';
import type { RoomRecord } from './state-types';

/** Room events kept per room for resumes (consecutive seqs). */
export const HISTORY_LENGTH = 256;

/** Gives `message` the room's next seq, keeps it in the room's history, and returns its wire text. */
export function appendRoomEvent(room: RoomRecord, message: RoomEventMessage): string {
  message.seq = ++room.seq;
  const text = JSON.stringify(message);
  room.history.push({ seq: message.seq, text });
  if (room.history.length > HISTORY_LENGTH) room.history.shift();
  return text;
}

/** Room events after `lastSeq`, or undefined when they are no longer all kept. */
export function missedEvents(room: RoomRecord, lastSeq: number): string[] | undefined {
  if (lastSeq > room.seq) return undefined;
  if (lastSeq === room.seq) return [];
  const first = room.history[0];
  if (!first || first.seq > lastSeq + 1) return undefined;
  return room.history.slice(lastSeq + 1 - first.seq).map((h) => h.text);
}
