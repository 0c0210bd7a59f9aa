/**
 * The lean client side of the benchmark: raw `ws` sockets, one pacing timer for every speaker,
 * frames written pre-framed from reused buffers, received frames read in place.
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
import { CLIENT_VOICE_HEADER_BYTES, FRAME_KIND_VOICE, SERVER_VOICE_HEADER_BYTES } from '@voiceroom/protocol';
import { Histogram } from './histogram';

export const FRAME_INTERVAL_MS = 20;
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
  /** Every socket opened, joined or not, so that all can be closed. */
  private readonly sockets = new Set<WebSocket>();

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

  /** Opens a socket to `url`, joins with `token`; resolves once `joined` arrived. */
  connect(member: Omit<Member, 'ws' | 'socket' | 'sid' | 'receivedWin'>, url: string, token: string, expectNode: string, timeoutMs: number): Promise<Member> {
    return new Promise((resolve, reject) => {
      if (this.shuttingDown) {
        reject(new Error('shutting down'));
        return;
      }
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.sockets.add(ws);
      const m: Member = { ...member, ws, socket: undefined, sid: 0, receivedWin: 0 };
      let joined = false;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`member ${m.userId}: no 'joined' within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('open', () => {
        m.socket = (ws as unknown as { _socket: Socket })._socket;
        ws.send(JSON.stringify({ type: 'join', token }));
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          this.onVoice(m, data);
          return;
        }
        const text = data.toString('utf8');
        if (!joined) {
          let message: { type?: string; self?: { sid?: number }; node?: string; message?: string; code?: string };
          try {
            message = JSON.parse(text) as typeof message;
          } catch {
            return;
          }
          if (message.type === 'joined' && typeof message.self?.sid === 'number') {
            if (message.node !== expectNode) {
              clearTimeout(timer);
              ws.terminate();
              reject(new Error(`member ${m.userId} joined on node '${message.node}', expected '${expectNode}'`));
              return;
            }
            joined = true;
            m.sid = message.self.sid;
            clearTimeout(timer);
            this.members.push(m);
            resolve(m);
          } else if (message.type === 'error') {
            this.countErrorMessage(text);
          }
        } else if (text.includes('"type":"error"')) {
          this.countErrorMessage(text);
        }
      });
      ws.on('error', (error) => {
        this.problems.socketErrors++;
        if (!joined) {
          clearTimeout(timer);
          reject(new Error(`member ${m.userId}: ${String(error)}`));
        }
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (!joined) {
          clearTimeout(timer);
          reject(new Error(`member ${m.userId}: socket closed before joined (${code} ${reason.toString()})`));
          return;
        }
        if (this.shuttingDown) return;
        this.problems.closes++;
        const key = `${code} ${reason.toString()}`.trim();
        this.problems.closeReasons[key] = (this.problems.closeReasons[key] ?? 0) + 1;
      });
    });
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

  private onVoice(member: Member, data: Buffer): void {
    const t = now();
    this.arrivals++;
    if (data.length < SERVER_VOICE_HEADER_BYTES + 12 || data[0] !== FRAME_KIND_VOICE) {
      this.malformed++;
      return;
    }
    const speaker = this.speakersBySid.get(data.readUInt32BE(8));
    if (!speaker) {
      this.unknownSpeaker++;
      return;
    }
    if (speaker.member.room !== member.room || data.readUInt32LE(SERVER_VOICE_HEADER_BYTES + 8) !== speaker.index) {
      this.wrongRoom++;
      return;
    }
    const sent = data.readDoubleLE(SERVER_VOICE_HEADER_BYTES);
    if (!(sent >= this.winStart && sent < this.winEnd)) {
      this.deliveredOutsideWindow++;
      return;
    }
    member.receivedWin++;
    const wire = ((Date.now() >>> 0) - data.readUInt32BE(4)) >>> 0;
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
    for (const ws of this.sockets) ws.terminate();
  }

  get nodes(): number {
    return this.nodeCount;
  }
}
