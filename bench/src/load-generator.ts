/**
 * The client side of the voice benchmark. Members are SDK clients (libs/client: the one client
 * implementation of the protocol, which joins, parses every server message and frame); the send
 * path stays lean: one pacing timer for every speaker, frames written pre-framed from reused
 * buffers straight onto each client's TCP socket, and received frames read in place.
 *
 * Frame sent by speaker k (voice header + payload, docs/protocol.md):
 *   header  kind 0x01, level, sequence, capture timestamp = Date.now() mod 2^32
 *   payload bytes 0..7 the send time as a float64 (performance.timeOrigin + performance.now(), ms),
 *           bytes 8..11 k (u32 LE), then filler up to --payload bytes.
 * The gateway forwards it with the speaker's sid in bytes 8..11 of a 12-byte header. Latency is
 * measured twice: from the header's capture timestamp, as any client would (1 ms resolution), and
 * from the float64 send time (sub-millisecond; sender and receivers share this process's clock).
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { VoiceRoomClient, type VoiceFrame, type WebSocketFactory } from '@voiceroom/client';
import { CLIENT_VOICE_HEADER_BYTES, FRAME_KIND_VOICE } from '@voiceroom/protocol';
import { Histogram } from './histogram';

export const FRAME_INTERVAL_MS = 20;
/** `ws` without compression, as the gateway expects; the SDK constructs it with the url only. */
class BenchSocket extends WebSocket {
  constructor(url: string) {
    super(url, { perMessageDeflate: false });
    // The SDK asks for ArrayBuffers (what browsers give) and reads Node Buffers as well. With
    // 'arraybuffer', ws copies every message into a new ArrayBuffer: 23 % of the generator's CPU at
    // 100 rooms (docs/benchmarks.md). Keep ws's own Buffers: no copy.
    Object.defineProperty(this, 'binaryType', { get: () => 'nodebuffer', set: () => undefined });
  }
}

/** Buffers per speaker, reused in turn; a copy is made only if the socket still holds unsent bytes. */
const SEND_RING = 8;
/** A speaker more than this far behind drops its backlog instead of bursting it. */
const MAX_BEHIND_MS = 1000;

export const now = (): number => performance.timeOrigin + performance.now();

export interface Member {
  readonly index: number;
  readonly room: number;
  /** Index of the gateway node the member is connected to. */
  readonly node: number;
  readonly userId: string;
  client: VoiceRoomClient;
  ws: WebSocket;
  socket: Socket | undefined;
  sid: number;
  /** Frames of the measured window received. */
  receivedWin: number;
}

export interface Speaker {
  readonly index: number;
  readonly member: Member;
  /** Other members of the room on the speaker's node, and on other nodes. */
  sameNodeListeners: number;
  crossNodeListeners: number;
  next: number;
  sequence: number;
  slot: number;
  readonly buffers: Buffer[];
  sentWin: number;
}

export interface ProblemCounters {
  closes: number;
  closeReasons: Record<string, number>;
  socketErrors: number;
  errorMessages: number;
  lastErrorMessage: string;
}

export class LoadGenerator {
  readonly members: Member[] = [];
  readonly speakers: Speaker[] = [];
  private readonly speakersBySid = new Map<number, Speaker>();
  /** Every client made, joined or not, so that all can be closed. */
  private readonly clients = new Set<VoiceRoomClient>();
  /** Scratch for reading a payload's send time and speaker index without allocating. */
  private readonly scratch = new Uint8Array(12);
  private readonly scratchView = new DataView(this.scratch.buffer);

  winStart = Infinity;
  winEnd = Infinity;
  /** Sending stops at this time (the end of the window). */
  private stopAt = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private shuttingDown = false;

  // sender
  framesSentTotal = 0;
  framesSentWin = 0;
  expectedSame = 0;
  expectedCross = 0;
  skipped = 0;
  sendCopies = 0;
  sendsOnClosedSocket = 0;
  readonly sendLag = new Histogram(0.1, 5000);

  // receiver
  /** Voice frames that arrived, whatever their send time (read at window start and end). */
  arrivals = 0;
  deliveredSame = 0;
  deliveredCross = 0;
  deliveredOutsideWindow = 0;
  unknownSpeaker = 0;
  wrongRoom = 0;
  malformed = 0;
  readonly latencySame = new Histogram(0.1, 10_000);
  readonly latencyCross = new Histogram(0.1, 10_000);
  readonly wireLatencySame = new Histogram(1, 10_000, true);
  readonly wireLatencyCross = new Histogram(1, 10_000, true);

  readonly problems: ProblemCounters = { closes: 0, closeReasons: {}, socketErrors: 0, errorMessages: 0, lastErrorMessage: '' };

  constructor(
    private readonly payloadBytes: number,
    private readonly nodeCount: number,
  ) {}

  /** An SDK client joins `url` with `token`; resolves once `joined` arrived (on the expected node). */
  connect(
    member: Omit<Member, 'client' | 'ws' | 'socket' | 'sid' | 'receivedWin'>,
    url: string,
    token: string,
    expectNode: string,
    timeoutMs: number,
  ): Promise<Member> {
    if (this.shuttingDown) return Promise.reject(new Error('shutting down'));
    const client = new VoiceRoomClient(url, { WebSocket: BenchSocket as unknown as WebSocketFactory });
    this.clients.add(client);
    let joined = false;
    const m: Member = { ...member, client, ws: undefined as unknown as WebSocket, socket: undefined, sid: 0, receivedWin: 0 };
    client.on('voice', (frame) => this.onVoice(m, frame));
    client.on('error', (error) => this.countErrorMessage(JSON.stringify(error)));
    client.on('close', ({ code, reason }) => {
      if (!joined || this.shuttingDown) return;
      this.problems.closes++;
      const key = `${code} ${reason}`.trim();
      this.problems.closeReasons[key] = (this.problems.closeReasons[key] ?? 0) + 1;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.drop();
        reject(new Error(`member ${m.userId}: no 'joined' within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    return Promise.race([client.connect(token), timeout])
      .then((welcome) => {
        if (welcome.node !== expectNode) {
          client.drop();
          throw new Error(`member ${m.userId} joined on node '${welcome.node}', expected '${expectNode}'`);
        }
        joined = true;
        m.ws = client.transport as unknown as WebSocket;
        m.socket = (m.ws as unknown as { _socket: Socket })._socket;
        m.sid = welcome.self.sid;
        this.members.push(m);
        return m;
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error && error.message.startsWith('member '))) this.problems.socketErrors++;
        throw error instanceof Error && error.message.startsWith('member ') ? error : new Error(`member ${m.userId}: ${String(error)}`);
      })
      .finally(() => clearTimeout(timer));
  }

  private countErrorMessage(text: string): void {
    this.problems.errorMessages++;
    this.problems.lastErrorMessage = text.slice(0, 200);
  }

  /** Declares `member` a speaker; call after every member of its room has joined. */
  addSpeaker(member: Member, roomMembers: readonly Member[]): Speaker {
    const index = this.speakers.length;
    const frameLength = CLIENT_VOICE_HEADER_BYTES + this.payloadBytes;
    // Client frames must be masked; a zero masking key leaves the bytes as they are, so one
    // pre-framed buffer can be written again and again with only its changing fields updated.
    const wsHeader = frameLength < 126 ? 2 : 4;
    const buffers: Buffer[] = [];
    for (let i = 0; i < SEND_RING; i++) {
      const buffer = Buffer.alloc(wsHeader + 4 + frameLength, 0x55);
      buffer[0] = 0x82; // FIN + binary
      if (wsHeader === 2) {
        buffer[1] = 0x80 | frameLength;
      } else {
        buffer[1] = 0x80 | 126;
        buffer.writeUInt16BE(frameLength, 2);
      }
      buffer.writeUInt32BE(0, wsHeader); // masking key 0
      const voice = wsHeader + 4;
      buffer[voice] = FRAME_KIND_VOICE;
      buffer[voice + 1] = 30; // audio level
      buffer.writeUInt32LE(index, voice + CLIENT_VOICE_HEADER_BYTES + 8);
      buffers.push(buffer);
    }
    let same = 0;
    let cross = 0;
    for (const other of roomMembers) {
      if (other === member) continue;
      if (other.node === member.node) same++;
      else cross++;
    }
    const speaker: Speaker = {
      index,
      member,
      sameNodeListeners: same,
      crossNodeListeners: cross,
      next: 0,
      sequence: 0,
      slot: 0,
      buffers,
      sentWin: 0,
    };
    if (this.speakersBySid.has(member.sid)) throw new Error(`two speakers share sid ${member.sid}: run again`);
    this.speakers.push(speaker);
    this.speakersBySid.set(member.sid, speaker);
    return speaker;
  }

  /** Starts every speaker, phases spread evenly over the 20 ms period, paced by one 1 ms timer. */
  start(): void {
    const start = now() + 5;
    const count = this.speakers.length;
    this.speakers.forEach((speaker, k) => {
      speaker.next = start + (k * FRAME_INTERVAL_MS) / count;
    });
    this.timer = setInterval(this.tick, 1);
  }

  /** The measured window; sending stops at its end. */
  setWindow(start: number, end: number): void {
    this.winStart = start;
    this.winEnd = end;
    this.stopAt = end;
  }

  stopSending(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get sending(): boolean {
    return this.timer !== undefined;
  }

  private readonly tick = (): void => {
    const t = now();
    if (t >= this.stopAt) {
      this.stopSending();
      return;
    }
    const speakers = this.speakers;
    for (let i = 0; i < speakers.length; i++) {
      const speaker = speakers[i] as Speaker;
      if (t - speaker.next > MAX_BEHIND_MS) {
        const n = Math.floor((t - speaker.next) / FRAME_INTERVAL_MS);
        this.skipped += n;
        speaker.next += n * FRAME_INTERVAL_MS;
      }
      while (speaker.next <= t) {
        this.send(speaker);
        speaker.next += FRAME_INTERVAL_MS;
      }
    }
  };

  private send(speaker: Speaker): void {
    const socket = speaker.member.socket;
    if (!socket || speaker.member.ws.readyState !== WebSocket.OPEN) {
      this.sendsOnClosedSocket++;
      return;
    }
    let buffer = speaker.buffers[speaker.slot] as Buffer;
    speaker.slot = (speaker.slot + 1) % SEND_RING;
    if (socket.writableLength > 0) {
      // Earlier writes still queued may reference any buffer of the ring: do not touch them.
      buffer = Buffer.from(buffer);
      this.sendCopies++;
    }
    const voice = buffer.length - CLIENT_VOICE_HEADER_BYTES - this.payloadBytes;
    const sequence = speaker.sequence;
    speaker.sequence = (sequence + 1) & 0xffff;
    buffer.writeUInt16BE(sequence, voice + 2);
    const sent = now();
    buffer.writeUInt32BE(Date.now() >>> 0, voice + 4);
    buffer.writeDoubleLE(sent, voice + CLIENT_VOICE_HEADER_BYTES);
    socket.write(buffer);
    this.framesSentTotal++;
    if (sent >= this.winStart && sent < this.winEnd) {
      this.framesSentWin++;
      speaker.sentWin++;
      this.expectedSame += speaker.sameNodeListeners;
      this.expectedCross += speaker.crossNodeListeners;
      this.sendLag.record(sent - speaker.next);
    }
  }

  /** A frame the SDK parsed (it drops malformed ones; `malformed` counts short payloads). */
  private onVoice(member: Member, frame: VoiceFrame): void {
    const t = now();
    this.arrivals++;
    const payload = frame.payload;
    if (payload.length < 12) {
      this.malformed++;
      return;
    }
    const speaker = this.speakersBySid.get(frame.speaker);
    if (!speaker) {
      this.unknownSpeaker++;
      return;
    }
    const scratch = this.scratch;
    for (let i = 0; i < 12; i++) scratch[i] = payload[i] as number;
    if (speaker.member.room !== member.room || this.scratchView.getUint32(8, true) !== speaker.index) {
      this.wrongRoom++;
      return;
    }
    const sent = this.scratchView.getFloat64(0, true);
    if (!(sent >= this.winStart && sent < this.winEnd)) {
      this.deliveredOutsideWindow++;
      return;
    }
    member.receivedWin++;
    const wire = ((Date.now() >>> 0) - frame.timestamp) >>> 0;
    if (speaker.member.node === member.node) {
      this.deliveredSame++;
      this.latencySame.record(t - sent);
      this.wireLatencySame.record(wire);
    } else {
      this.deliveredCross++;
      this.latencyCross.record(t - sent);
      this.wireLatencyCross.record(wire);
    }
  }

  /** The lowest share of its expected frames any member received in the window (%). */
  worstMemberPercent(): number {
    const sentByRoom = new Map<number, Speaker[]>();
    for (const speaker of this.speakers) {
      const list = sentByRoom.get(speaker.member.room) ?? [];
      list.push(speaker);
      sentByRoom.set(speaker.member.room, list);
    }
    let worst = Infinity;
    for (const member of this.members) {
      let expected = 0;
      for (const speaker of sentByRoom.get(member.room) ?? []) if (speaker.member !== member) expected += speaker.sentWin;
      if (expected > 0) worst = Math.min(worst, (100 * member.receivedWin) / expected);
    }
    return worst === Infinity ? NaN : worst;
  }

  /** Closes every socket at once (no close handshake). */
  terminateAll(): void {
    this.shuttingDown = true;
    this.stopSending();
    for (const client of this.clients) client.drop();
  }

  get nodes(): number {
    return this.nodeCount;
  }
}
