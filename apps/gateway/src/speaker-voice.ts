import { canSpeak, type MemberRecord } from '@voiceroom/cluster';
import type { SpeakerId, SpeakerLevel } from '@voiceroom/protocol';

/** Frames at or under this level (−dBov) count as speaking. */
export const SPEAKING_LEVEL = 80;

/** The level of silence in a voice header (0 is the loudest). */
export const SILENT_LEVEL = 127;

/**
 * What this node knows of one member's voice in one of its local rooms: node-local, never
 * replicated, never feeding a decision of the room state. The member may be connected here or
 * to another node. Kept per local room (`HubRoom.voices`, by sid) by the voice relay, and gone
 * with the local room or when the member leaves it.
 */
export class SpeakerVoice {
  readonly sid: SpeakerId;
  /** Last voice sequence relayed from another node for this member (-1: none yet). */
  lastSeq = -1;
  /** Loudest level since the last speakers announcement (0 loudest … 127 silence). */
  level = SILENT_LEVEL;
  /** Local time (coarse) of the last frame with a level at or under SPEAKING_LEVEL; 0: never. */
  lastVoiceAt = 0;

  constructor(
    /** The replicated record: read live (role and mute change in place) for whether it may speak. */
    readonly member: MemberRecord,
  ) {
    this.sid = member.sid;
  }
}

/**
 * The members heard within `window` ms of `now` who may still speak, loudest first (then by sid):
 * the `speakers` list of a room.
 */
export function activeSpeakers(voices: Iterable<SpeakerVoice>, now: number, window: number): SpeakerLevel[] {
  const out: SpeakerLevel[] = [];
  for (const v of voices) {
    if (now - v.lastVoiceAt <= window && canSpeak(v.member)) out.push({ sid: v.sid, level: v.level });
  }
  out.sort((a, b) => a.level - b.level || a.sid - b.sid);
  return out;
}
