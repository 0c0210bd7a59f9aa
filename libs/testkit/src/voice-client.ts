import WebSocket from 'ws';
import { VoiceRoomClient, type ReconnectOptions, type VoiceFrame, type WebSocketFactory } from '@voiceroom/client';
import type { ChatEventMessage, ErrorMessage, JoinedMessage, MembersUpdatedMessage, SpeakerId, SpeakerLevel } from '@voiceroom/protocol';
import { waitFor } from './wait';

export interface Heard {
  speaker: SpeakerId;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

/** A client that records everything it hears, for assertions. */
export class RecordingClient extends VoiceRoomClient {
  readonly heard: Heard[] = [];
  readonly errors: ErrorMessage[] = [];
  /** Presence as seen: `joined:<user>` and `left:<user>`, in order. */
  readonly events: string[] = [];
  readonly leaveReasons: string[] = [];
  readonly updates: MembersUpdatedMessage[] = [];
  readonly chats: ChatEventMessage[] = [];
  readonly speakerAnnouncements: SpeakerLevel[][] = [];
  /** Every room event applied, as `seq:type:detail`. */
  readonly roomEvents: string[] = [];
  closeInfo: { code: number; reason: string } | undefined;

  /** `reconnect`: the SDK's own reconnection (off by default, as in the SDK). */
  constructor(url: string, reconnect?: ReconnectOptions | boolean) {
    super(url, { WebSocket: WebSocket as unknown as WebSocketFactory, ...(reconnect === undefined ? {} : { reconnect }) });
    this.on('voice', (frame: VoiceFrame) =>
      this.heard.push({ speaker: frame.speaker, sequence: frame.sequence, timestamp: frame.timestamp, payload: Buffer.from(frame.payload) }),
    );
    this.on('error', (error) => this.errors.push(error));
    this.on('member_joined', (m) => this.events.push(`joined:${m.userId}`));
    this.on('member_left', (m, reason) => {
      this.events.push(`left:${m.userId}`);
      this.leaveReasons.push(`${m.userId}:${reason}`);
    });
    this.on('members_updated', (_members, message) => this.updates.push(message));
    this.on('chat', (message) => this.chats.push(message));
    this.on('speakers', (speakers) => this.speakerAnnouncements.push(speakers));
    this.on('room_event', (m) => {
      let detail: string;
      switch (m.type) {
        case 'member_joined':
          detail = m.member.userId;
          break;
        case 'member_left':
          detail = `${m.userId}/${m.reason}`;
          break;
        case 'chat':
        case 'notice':
          detail = m.text;
          break;
        case 'room_updated':
          detail = `${m.settings.capacity}/${m.settings.seats}`;
          break;
        case 'members_updated':
          detail = `${m.reason}/${m.members.map((x) => x.userId).join('+')}`;
          break;
      }
      this.roomEvents.push(`${m.seq}:${m.type}:${detail}`);
    });
    this.on('close', (info) => (this.closeInfo = info));
  }

  static async join(url: string, token: string): Promise<RecordingClient> {
    const client = new RecordingClient(url);
    await client.connect(token);
    return client;
  }

  /** The whole room as this client sees it (self included): `user:role:muted:hand`, sorted. */
  view(): string[] {
    const all = [...this.members.values(), ...(this.self ? [this.self] : [])];
    return all.map((m) => `${m.userId}:${m.role}:${m.muted ? 'muted' : 'open'}:${m.handRaised ? 'hand' : '-'}`).sort();
  }

  /** Roster as sorted user ids (self excluded). */
  rosterUsers(): string[] {
    return [...this.members.values()].map((m) => m.userId).sort();
  }

  get sid(): SpeakerId {
    return (this.self as NonNullable<typeof this.self>).sid;
  }

  /** Sends `count` frames whose payload encodes (speaker tag, index), paced `intervalMs` apart. */
  async speak(count: number, tag: number, intervalMs = 20, firstSequence = 0): Promise<void> {
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(60);
      payload.writeUInt32BE(tag, 0);
      payload.writeUInt32BE(i, 4);
      this.sendVoice(firstSequence + i, Date.now(), 20, payload);
      if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  heardFrom(speaker: SpeakerId): Heard[] {
    return this.heard.filter((h) => h.speaker === speaker);
  }

  /** Resumes on `url` (any node); clears the last close info first. */
  async resumeOn(url: string): Promise<void> {
    this.closeInfo = undefined;
    await this.resume(url);
  }

  waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitFor('the socket to close', () => this.closeInfo, timeoutMs);
  }
}

/**
 * Speaks warm-up frames (tag 0xffff, sequence from `seqFrom`) until `listener` hears one: from
 * then on the path between them (across nodes, through the broker) is live. Then waits for
 * stragglers and clears what `clear` heard.
 */
export async function awaitVoicePath(speaker: RecordingClient, listener: RecordingClient, clear: RecordingClient[], seqFrom = 60_000): Promise<void> {
  let seq = seqFrom;
  await waitFor(
    'the first frame across the path',
    async () => {
      await speaker.speak(1, 0xffff, 0, seq++);
      await new Promise((r) => setTimeout(r, 100));
      return listener.heardFrom(speaker.sid).length > 0;
    },
    45_000,
    0,
  );
  await new Promise((r) => setTimeout(r, 600));
  for (const c of clear) c.heard.length = 0;
}

export type { JoinedMessage };
