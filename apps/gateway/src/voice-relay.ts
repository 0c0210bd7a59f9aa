import type { Bus } from '@voiceroom/bus';
import { canSpeak, type MemberRecord } from '@voiceroom/cluster';
import {
  checkServerVoiceFrame,
  CLIENT_VOICE_HEADER_BYTES,
  isSequenceAfter,
  readSequence,
  readSpeakerId,
  SERVER_VOICE_HEADER_BYTES,
  VoiceDecodeResult,
  writeServerVoiceFrame,
  type RoomId,
  type SpeakerId,
  type SpeakerLevel,
} from '@voiceroom/protocol';
import type { GatewayStats } from './gateway-stats';
import type { Hub, HubMember, HubRoom } from './hub';
import type { PlainHistogram } from './plain-histogram';
import { activeSpeakers, SILENT_LEVEL, SPEAKING_LEVEL, SpeakerVoice } from './speaker-voice';
import { allocBinaryFrame } from './ws-frame';

/** While the set of active speakers stays the same, it is announced again this often. */
const SPEAKERS_REFRESH_MS = 2000;

/**
 * What the relay needs of a local member whose frame it relays: a member of the hub, attached to
 * a local room, with its voice state there. Session is one; a unit test's fake is another.
 */
export interface LocalSpeaker extends HubMember {
  /** The local room it is attached to; undefined once it left the hub (nothing is relayed then). */
  readonly hubRoom: HubRoom | undefined;
  /** Its voice state in `hubRoom` (from `voiceOf`); set whenever `hubRoom` is. */
  readonly voice: SpeakerVoice | undefined;
}

/** The part of the bus the relay uses: the voice lane out, and the age of what came in. */
export type VoiceBus = Pick<Bus, 'publishVoice' | 'kind' | 'stats'>;

export interface VoiceRelayOptions {
  /** VOICE_MAX_PAYLOAD_BYTES: frames from the bus over it are malformed. */
  maxPayloadBytes: number;
  /** SPEAKERS_INTERVAL_MS: how often the active speakers are checked; the speaking window is twice that. */
  speakersIntervalMs: number;
}

/**
 * The voice lane of one gateway, both directions, and the active-speaker announcements.
 *
 * - A local member's frame (already checked by its Session) goes to the room's other local members
 *   first, then to the bus: one buffer holds the complete WebSocket frame, shared by every
 *   recipient, and its server form (a view into it) is what the bus publishes. The bus never
 *   echoes a node's own frames back, and a failed publish never touches local delivery.
 * - A frame from the bus goes to the local members of its room, if there are any, unless it does
 *   not decode, its speaker is not in the room or may not speak (muted, listener), or it is not
 *   newer than the last one relayed for that speaker (16-bit serial arithmetic): duplicates and
 *   reordering never reach a listener twice or backwards.
 * - Every `speakersIntervalMs` each local room with a changed set of active speakers (or, while
 *   non-empty, every SPEAKERS_REFRESH_MS) gets a `speakers` message.
 *
 * Per frame the relay allocates one buffer, reads no clock (frames are stamped with the time of the
 * last speakers check) and does at most one Map lookup (a remote frame's speaker). It keeps each
 * local room's voice state (`HubRoom.voices`); the node tells it when a member leaves a room.
 */
export class VoiceRelay {
  /**
   * Wall clock as of the last speakers check: the voice path stamps frames with it instead of
   * reading the clock per frame (the speaking window is two check intervals, so one interval of
   * lag is within tolerance).
   */
  private coarseNow = Date.now();
  private speakersTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: Hub,
    private readonly bus: VoiceBus,
    private readonly stats: GatewayStats,
    /** Age of remote frames at relay (RocketMQ only: the memory bus knows no birth time). */
    private readonly frameAge: PlainHistogram,
    private readonly options: VoiceRelayOptions,
  ) {}

  /** Starts the speakers announcements. */
  start(): void {
    this.speakersTimer = setInterval(() => this.announceSpeakers(), this.options.speakersIntervalMs);
    this.speakersTimer.unref();
  }

  stop(): void {
    clearInterval(this.speakersTimer);
  }

  /** The voice state for `member` in `room`, made if the room has none for it yet: what a speaker attached here carries. */
  voiceOf(room: HubRoom, member: MemberRecord): SpeakerVoice {
    let voice = room.voices.get(member.sid);
    if (voice?.member !== member) {
      voice = new SpeakerVoice(member);
      room.voices.set(member.sid, voice);
    }
    return voice;
  }

  /** The member `sid` left room `roomId` (or was replaced): its voice state there is dropped. */
  memberGone(roomId: RoomId, sid: SpeakerId): void {
    this.hub.room(roomId)?.voices.delete(sid);
  }

  /** The hot path for a client frame that passed every check in Session. */
  relayFromClient(speaker: LocalSpeaker, clientFrame: Buffer): void {
    const room = speaker.hubRoom;
    if (!room) return;
    const voice = speaker.voice as SpeakerVoice;
    const level = clientFrame[1] as number;
    if (level < voice.level) voice.level = level;
    if (level <= SPEAKING_LEVEL) voice.lastVoiceAt = this.coarseNow;
    const length = clientFrame.length + SERVER_VOICE_HEADER_BYTES - CLIENT_VOICE_HEADER_BYTES;
    const { frame, offset } = allocBinaryFrame(length);
    writeServerVoiceFrame(clientFrame, voice.sid, frame, offset);
    this.stats.framesIn++;
    this.stats.deliveries += this.hub.fanOutVoice(room, frame, speaker);
    this.bus.publishVoice(room.id, frame.subarray(offset));
  }

  /** A frame from the bus (another node's member), in its server form. */
  onVoice(roomId: RoomId, serverFrame: Uint8Array): void {
    const room = this.hub.room(roomId);
    if (!room) return; // nobody here for that room
    this.stats.remoteFramesIn++;
    if (checkServerVoiceFrame(serverFrame, this.options.maxPayloadBytes) !== VoiceDecodeResult.Ok) {
      this.stats.remoteFramesMalformed++;
      return;
    }
    const sid = readSpeakerId(serverFrame);
    const voice = room.voices.get(sid) ?? this.remoteSpeaker(room, sid);
    if (!voice || !canSpeak(voice.member)) {
      // Not (or no longer) in the room, muted, or a listener: dropped here too.
      this.stats.remoteFramesRefused++;
      return;
    }
    const seq = readSequence(serverFrame);
    if (voice.lastSeq >= 0 && !isSequenceAfter(seq, voice.lastSeq)) {
      this.stats.remoteFramesOutOfOrder++;
      return;
    }
    voice.lastSeq = seq;
    // The bus computed now − birth for the batch this frame came in (only RocketMQ knows a birth).
    if (this.bus.kind === 'rocketmq') this.frameAge.observe(this.bus.stats().lastVoiceLagMs / 1000);
    const level = serverFrame[1] as number;
    if (level < voice.level) voice.level = level;
    if (level <= SPEAKING_LEVEL) voice.lastVoiceAt = this.coarseNow;
    const { frame, offset } = allocBinaryFrame(serverFrame.length);
    frame.set(serverFrame, offset);
    this.stats.remoteDeliveries += this.hub.fanOutVoice(room, frame, undefined);
  }

  /** First frame of a speaker in this local room: its voice state, if it is a member of the room. */
  private remoteSpeaker(room: HubRoom, sid: SpeakerId): SpeakerVoice | undefined {
    const member = room.record.members.get(sid);
    return member ? this.voiceOf(room, member) : undefined;
  }

  /** The active speakers of local room `roomId` now (for `joined` and `resumed`). */
  currentSpeakers(roomId: RoomId): SpeakerLevel[] {
    const room = this.hub.room(roomId);
    return room ? activeSpeakers(room.voices.values(), Date.now(), this.options.speakersIntervalMs * 2) : [];
  }

  /**
   * Active speakers per local room: checked every SPEAKERS_INTERVAL_MS and announced when the set
   * of speakers changed, or every SPEAKERS_REFRESH_MS while it stays the same and non-empty (fresh
   * levels). Announcing every interval cost each socket a text write 4 times a second and made
   * voice latency visibly worse under load (docs/benchmarks.md); clients get every frame's level
   * in its header anyway. Also forgets the voice state of members no longer in the room.
   */
  announceSpeakers(now = Date.now()): void {
    this.coarseNow = now;
    const window = this.options.speakersIntervalMs * 2;
    for (const room of this.hub.all()) {
      const members = room.record.members;
      for (const [sid, voice] of room.voices) if (members.get(sid) !== voice.member) room.voices.delete(sid);
      const speakers = activeSpeakers(room.voices.values(), now, window);
      const key = speakers.map((s) => s.sid).join(',');
      if (key === room.lastSpeakers && (key === '' || now - room.lastSpeakersAt < SPEAKERS_REFRESH_MS)) continue;
      room.lastSpeakers = key;
      room.lastSpeakersAt = now;
      for (const voice of room.voices.values()) voice.level = SILENT_LEVEL;
      this.hub.broadcastText(room.id, JSON.stringify({ type: 'speakers', room: room.id, speakers }));
    }
  }
}
