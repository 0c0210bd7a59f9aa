/**
 * The voice relay alone: fake members (no sockets), two relays joined by a memory exchange, room
 * records built by hand (the relay only reads them).
 */
import { MemoryBus, MemoryExchange } from '@voiceroom/bus';
import type { MemberRecord, RoomRecord } from '@voiceroom/cluster';
import {
  CLIENT_VOICE_HEADER_BYTES,
  readSequence,
  readSpeakerId,
  writeClientVoiceFrame,
  writeServerVoiceFrame,
  type NodeId,
  type Role,
  type RoomId,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import { newGatewayStats, type GatewayStats } from './gateway-stats';
import { Hub, type HubRoom } from './hub';
import { BUCKETS, PlainHistogram } from './plain-histogram';
import type { SpeakerVoice } from './speaker-voice';
import { VoiceRelay, type LocalSpeaker } from './voice-relay';

const ROOM = 'r1' as RoomId;
const SPEAKERS_INTERVAL_MS = 250;

function roomRecord(): RoomRecord {
  return {
    id: ROOM,
    settings: { capacity: 10, seats: 4 },
    epoch: 0,
    graceMs: 1000,
    kickBlockMs: 0,
    seq: 0,
    members: new Map(),
    byUser: new Map(),
    mutedUsers: new Set(),
    roleGrants: new Map(),
    history: [],
  };
}

function addMember(room: RoomRecord, sid: number, role: Role = 'speaker', node = 'n1'): MemberRecord {
  const member: MemberRecord = {
    room,
    userId: `u${sid}` as UserId,
    sid: sid as SpeakerId,
    name: undefined,
    role,
    muted: false,
    handRaised: false,
    node: node as NodeId,
    lostNode: undefined,
    detachedUntil: 0,
  };
  room.members.set(member.sid, member);
  room.byUser.set(member.userId, member);
  return member;
}

/** A member connected to a relay's node: records what reaches it. */
class FakeMember implements LocalSpeaker {
  readonly frames: Buffer[] = [];
  readonly texts: string[] = [];
  hubRoom: HubRoom | undefined;
  voice: SpeakerVoice | undefined;
  constructor(readonly record: MemberRecord) {}
  get sid(): SpeakerId {
    return this.record.sid;
  }
  get room(): RoomId {
    return this.record.room.id;
  }
  deliverVoice(wsFrame: Buffer): boolean {
    this.frames.push(wsFrame);
    return true;
  }
  deliverText(text: string): void {
    this.texts.push(text);
  }
  /** The server voice frames received (the WebSocket header stripped). */
  serverFrames(): Buffer[] {
    return this.frames.map((f) => f.subarray((f[1] as number) < 126 ? 2 : 4));
  }
  speakers(): { sid: number; level: number }[][] {
    return this.texts
      .map((t) => JSON.parse(t) as { type: string; speakers: { sid: number; level: number }[] })
      .flatMap((m) => (m.type === 'speakers' ? [m.speakers] : []));
  }
}

/** One gateway's voice side: a hub, a relay and its memory bus. */
class Node {
  readonly hub = new Hub();
  readonly stats: GatewayStats = newGatewayStats();
  readonly bus: MemoryBus;
  readonly relay: VoiceRelay;
  constructor(
    id: string,
    exchange: MemoryExchange,
    readonly record: RoomRecord,
  ) {
    this.bus = new MemoryBus(id as NodeId, exchange);
    this.relay = new VoiceRelay(this.hub, this.bus, this.stats, new PlainHistogram(BUCKETS.frameAge), {
      maxPayloadBytes: 200,
      speakersIntervalMs: SPEAKERS_INTERVAL_MS,
    });
  }
  async start(): Promise<void> {
    await this.bus.start({ onVoice: (room, frame) => this.relay.onVoice(room, frame), onEvent: () => undefined });
  }
  attach(record: MemberRecord): FakeMember {
    const fake = new FakeMember(record);
    fake.hubRoom = this.hub.add(fake, this.record);
    fake.voice = this.relay.voiceOf(fake.hubRoom, record);
    return fake;
  }
}

function clientFrame(seq: number, level = 20, tag = seq): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(tag);
  const out = Buffer.alloc(CLIENT_VOICE_HEADER_BYTES + payload.length);
  writeClientVoiceFrame(out, 0, seq, 1000 + seq, level, payload);
  return out;
}

function serverFrame(sid: number, seq: number, level = 20): Buffer {
  const client = clientFrame(seq, level);
  const out = Buffer.alloc(client.length + 4);
  writeServerVoiceFrame(client, sid as SpeakerId, out, 0);
  return out;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

let exchange: MemoryExchange;
let record: RoomRecord;
let a: Node;
let b: Node;

beforeEach(async () => {
  exchange = new MemoryExchange();
  record = roomRecord(); // one replicated room: both nodes see the same records
  a = new Node('a', exchange, record);
  b = new Node('b', exchange, record);
  await a.start();
  await b.start();
});

afterEach(async () => {
  a.relay.stop();
  b.relay.stop();
  await a.bus.close();
  await b.bus.close();
});

describe('a local frame', () => {
  it('reaches the local members first (synchronously), then the other node through the bus; never its speaker, never back to its node', async () => {
    const speaker = a.attach(addMember(record, 1));
    const local = a.attach(addMember(record, 2, 'listener'));
    const remote = b.attach(addMember(record, 3, 'listener', 'b'));
    a.relay.relayFromClient(speaker, clientFrame(7));
    expect(local.serverFrames().map(readSpeakerId)).toEqual([1]);
    expect(local.serverFrames().map(readSequence)).toEqual([7]);
    expect(remote.frames).toHaveLength(0); // the bus has not delivered yet
    await turn();
    expect(remote.serverFrames().map(readSpeakerId)).toEqual([1]);
    expect(speaker.frames).toHaveLength(0);
    expect(a.stats).toMatchObject({ framesIn: 1, deliveries: 1, remoteFramesIn: 0 });
    expect(b.stats).toMatchObject({ remoteFramesIn: 1, remoteDeliveries: 1 });
  });

  it('shares one buffer between every local recipient', () => {
    const speaker = a.attach(addMember(record, 1));
    const x = a.attach(addMember(record, 2, 'listener'));
    const y = a.attach(addMember(record, 3, 'listener'));
    a.relay.relayFromClient(speaker, clientFrame(1));
    expect(x.frames[0]).toBe(y.frames[0]);
  });

  it('is still delivered locally when the bus drops it', async () => {
    await b.bus.close(); // alone on the exchange: the memory bus publishes nothing
    const speaker = a.attach(addMember(record, 1));
    const local = a.attach(addMember(record, 2, 'listener'));
    a.bus.publishVoice = () => {
      throw new Error('unexpected: publish must come after local delivery');
    };
    expect(() => a.relay.relayFromClient(speaker, clientFrame(1))).toThrow();
    expect(local.frames).toHaveLength(1);
  });

  it('is not relayed once its speaker left the hub', () => {
    const speaker = a.attach(addMember(record, 1));
    const local = a.attach(addMember(record, 2, 'listener'));
    speaker.hubRoom = undefined;
    a.relay.relayFromClient(speaker, clientFrame(1));
    expect(local.frames).toHaveLength(0);
    expect(a.stats.framesIn).toBe(0);
  });
});

describe('a frame from another node', () => {
  it('is dropped when nobody is in its room here', () => {
    addMember(record, 1, 'speaker', 'b');
    a.relay.onVoice(ROOM, serverFrame(1, 0));
    expect(a.stats.remoteFramesIn).toBe(0);
  });

  it('is refused for a muted member, a listener, and a sid not in the room; heard again once unmuted', () => {
    const listener = a.attach(addMember(record, 10, 'listener'));
    const muted = addMember(record, 1, 'speaker', 'b');
    muted.muted = true;
    addMember(record, 2, 'listener', 'b');
    a.relay.onVoice(ROOM, serverFrame(1, 0));
    a.relay.onVoice(ROOM, serverFrame(2, 0));
    a.relay.onVoice(ROOM, serverFrame(99, 0));
    expect(a.stats.remoteFramesRefused).toBe(3);
    expect(listener.frames).toHaveLength(0);
    muted.muted = false; // the record changes in place when the log applies an unmute
    a.relay.onVoice(ROOM, serverFrame(1, 1));
    expect(listener.serverFrames().map(readSpeakerId)).toEqual([1]);
  });

  it('is refused once its speaker left the room (kicked), even with voice state here', () => {
    const listener = a.attach(addMember(record, 10, 'listener'));
    const gone = addMember(record, 1, 'speaker', 'b');
    a.relay.onVoice(ROOM, serverFrame(1, 0));
    record.members.delete(gone.sid);
    a.relay.memberGone(ROOM, gone.sid);
    a.relay.onVoice(ROOM, serverFrame(1, 1));
    expect(listener.frames).toHaveLength(1);
    expect(a.stats.remoteFramesRefused).toBe(1);
  });

  it('is dropped when malformed', () => {
    a.attach(addMember(record, 10, 'listener'));
    a.relay.onVoice(ROOM, Buffer.from([1, 2, 3]));
    expect(a.stats.remoteFramesMalformed).toBe(1);
  });

  it('never reaches a listener twice or backwards (16-bit serial arithmetic across the wrap)', () => {
    const listener = a.attach(addMember(record, 10, 'listener'));
    addMember(record, 1, 'speaker', 'b');
    for (const seq of [5, 4, 5, 6, 65535, 0, 1, 65535]) a.relay.onVoice(ROOM, serverFrame(1, seq));
    // 65535, 0 and 1 are behind 6 in 16-bit serial arithmetic (a late or replayed frame): refused.
    expect(listener.serverFrames().map(readSequence)).toEqual([5, 6]);
    expect(a.stats.remoteFramesOutOfOrder).toBe(6);
  });

  it('follows a speaker across the sequence wrap', () => {
    const listener = a.attach(addMember(record, 10, 'listener'));
    addMember(record, 1, 'speaker', 'b');
    for (const seq of [65534, 65535, 0, 1, 0]) a.relay.onVoice(ROOM, serverFrame(1, seq));
    expect(listener.serverFrames().map(readSequence)).toEqual([65534, 65535, 0, 1]);
    expect(a.stats.remoteFramesOutOfOrder).toBe(1);
  });

  it('keeps a sequence per speaker', () => {
    const listener = a.attach(addMember(record, 10, 'listener'));
    addMember(record, 1, 'speaker', 'b');
    addMember(record, 2, 'speaker', 'b');
    for (const [sid, seq] of [
      [1, 100],
      [2, 3],
      [1, 101],
      [2, 4],
    ] as const)
      a.relay.onVoice(ROOM, serverFrame(sid, seq));
    expect(listener.serverFrames().map((f) => `${readSpeakerId(f)}:${readSequence(f)}`)).toEqual(['1:100', '2:3', '1:101', '2:4']);
  });
});

describe('speakers', () => {
  it('announces who spoke, loudest first, once per change, with the loudest level since the last announcement', () => {
    const local = a.attach(addMember(record, 1));
    const ear = a.attach(addMember(record, 2, 'listener'));
    addMember(record, 3, 'speaker', 'b');
    let now = Date.now();
    a.relay.announceSpeakers(now); // stamps the frames that follow with `now`
    expect(ear.speakers()).toEqual([]); // nobody spoke: nothing to announce
    a.relay.relayFromClient(local, clientFrame(1, 40));
    a.relay.relayFromClient(local, clientFrame(2, 30));
    a.relay.onVoice(ROOM, serverFrame(3, 1, 10));
    a.relay.onVoice(ROOM, serverFrame(3, 2, 100)); // silence: not speaking, level stays 10
    a.relay.announceSpeakers((now += SPEAKERS_INTERVAL_MS));
    expect(ear.speakers()).toEqual([
      [
        { sid: 3, level: 10 },
        { sid: 1, level: 30 },
      ],
    ]);
    // The levels start again from silence; a speaker still heard keeps being announced, at most
    // every 2 s while the set is unchanged.
    a.relay.relayFromClient(local, clientFrame(3, 50));
    a.relay.announceSpeakers((now += SPEAKERS_INTERVAL_MS));
    expect(ear.speakers().at(-1)).toEqual([
      { sid: 1, level: 50 },
      { sid: 3, level: 127 },
    ]);
    a.relay.relayFromClient(local, clientFrame(4, 50));
    a.relay.onVoice(ROOM, serverFrame(3, 3, 60));
    a.relay.announceSpeakers((now += SPEAKERS_INTERVAL_MS)); // the same set, in the same order: not again
    expect(ear.speakers()).toHaveLength(2);
    a.relay.announceSpeakers((now += 3 * SPEAKERS_INTERVAL_MS)); // nobody within the window: the empty list, once
    a.relay.announceSpeakers(now + SPEAKERS_INTERVAL_MS);
    expect(ear.speakers()).toHaveLength(3);
    expect(ear.speakers().at(-1)).toEqual([]);
  });

  it('leaves out a member who was muted since it spoke, and forgets members no longer in the room', () => {
    const ear = a.attach(addMember(record, 2, 'listener'));
    const muted = addMember(record, 1, 'speaker', 'b');
    const gone = addMember(record, 3, 'speaker', 'b');
    const now = Date.now();
    a.relay.announceSpeakers(now);
    a.relay.onVoice(ROOM, serverFrame(1, 1, 10));
    a.relay.onVoice(ROOM, serverFrame(3, 1, 10));
    muted.muted = true;
    record.members.delete(gone.sid);
    a.relay.announceSpeakers(now + SPEAKERS_INTERVAL_MS);
    expect(ear.speakers()).toEqual([]);
    expect([...(a.hub.room(ROOM)?.voices.keys() ?? [])].sort()).toEqual([1, 2]);
    expect(a.relay.currentSpeakers(ROOM)).toEqual([]);
  });
});
