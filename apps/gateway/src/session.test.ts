/**
 * Session alone, the edge of trust: a fake WebSocket (no socket) and a fake host that records
 * what the session hands it. What it checks, what it refuses and how, and what the end of a
 * connection means.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { loadConfig } from '@voiceroom/config';
import type { MemberRecord, RoomRecord } from '@voiceroom/cluster';
import {
  CLIENT_VOICE_HEADER_BYTES,
  CloseCode,
  ErrorCode,
  MAX_CONTROL_MESSAGE_BYTES,
  writeClientVoiceFrame,
  type Logger,
  type NodeId,
  type Role,
  type RoomCommand,
  type RoomId,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import { newGatewayStats } from './gateway-stats';
import { Hub } from './hub';
import { Session, type SessionHost, type SessionState } from './session';
import { SpeakerVoice } from './speaker-voice';
import { closeReason } from './ws-errors';

const config = loadConfig({
  NODE_ENV: 'test',
  JWT_SECRET: 'session-unit-test-secret-0123456789abcdef',
  VOICE_BURST_FRAMES: '5',
  VOICE_MAX_PAYLOAD_BYTES: '100',
  ABUSE_MAX_VIOLATIONS: '20',
  SOCKET_HIGH_WATER_BYTES: '2048',
  JOIN_TIMEOUT_MS: '5000',
});

class FakeSocket {
  writableLength = 0;
  writes: Buffer[] = [];
  cork(): void {}
  uncork(): void {}
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return true;
  }
}

/** What ws is to a Session: events in, send/close/terminate/ping out. */
class FakeWs extends EventEmitter {
  readyState = 1;
  readonly _socket = new FakeSocket();
  readonly sent: { type: string; code?: string; message?: string; ref?: number }[] = [];
  closedWith: { code: number; reason: string } | undefined;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as { type: string });
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
  ping(): void {}
  text(message: unknown): void {
    this.emit('message', Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)), false);
  }
  binary(data: Buffer): void {
    this.emit('message', data, true);
  }
  errors(): (string | undefined)[] {
    return this.sent.filter((m) => m.type === 'error').map((m) => m.code);
  }
}

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

class FakeHost implements SessionHost {
  readonly config = config;
  readonly stats = newGatewayStats();
  readonly log = silent;
  readonly relayed: Buffer[] = [];
  readonly relay = { relayFromClient: (_s: Session, frame: Buffer) => void this.relayed.push(frame) };
  readonly joins: string[] = [];
  readonly commands: RoomCommand[] = [];
  readonly closes: { was: SessionState; intent: string | undefined }[] = [];
  join(session: Session, token: string): void {
    this.joins.push(token);
    session.awaitingCluster();
  }
  resume(session: Session, token: string): void {
    this.joins.push(token);
    session.awaitingCluster();
  }
  command(_session: Session, cmd: RoomCommand): void {
    this.commands.push(cmd);
  }
  closed(session: Session, was: SessionState): void {
    this.closes.push({ was, intent: session.closeIntent });
  }
}

function member(role: Role, muted = false): MemberRecord {
  const room = { id: 'r' as RoomId, members: new Map() } as unknown as RoomRecord;
  return {
    room,
    userId: 'u' as UserId,
    sid: 7 as SpeakerId,
    name: undefined,
    role,
    muted,
    handRaised: false,
    node: 'n' as NodeId,
    lostNode: undefined,
    detachedUntil: 0,
  };
}

function voiceFrame(payloadBytes = 10): Buffer {
  const out = Buffer.alloc(CLIENT_VOICE_HEADER_BYTES + payloadBytes);
  writeClientVoiceFrame(out, 0, 1, 0, 20, Buffer.alloc(payloadBytes, 1));
  return out;
}

let ws: FakeWs;
let host: FakeHost;
let session: Session;

beforeEach(() => {
  ws = new FakeWs();
  host = new FakeHost();
  session = new Session(ws as unknown as WebSocket, '127.0.0.1', host);
});

afterEach(() => {
  session.close(CloseCode.Normal, 'end of test');
});

/** Joins through the host as GatewayNode does once the log admitted the member. */
function joinAs(record: MemberRecord): void {
  ws.text({ type: 'join', token: 't' });
  session.attached(record);
  const hubRoom = new Hub().add(session, record.room);
  session.enteredHub(hubRoom, new SpeakerVoice(record));
  session.releaseHeld();
}

describe('before join', () => {
  it.each([
    ['a message that is not JSON', 'not json'],
    ['an unknown type', { type: 'launch' }],
    ['a command', { type: 'chat', text: 'hi' }],
  ])('closes on %s with 4400, as a leave', (_name, message) => {
    ws.text(message);
    expect(ws.closedWith?.code).toBe(CloseCode.ProtocolError);
    expect(host.closes).toEqual([{ was: 'joining', intent: 'leave' }]);
    expect(host.joins).toEqual([]);
  });

  it('closes on a binary message with 4400', () => {
    ws.binary(voiceFrame());
    expect(ws.closedWith?.code).toBe(CloseCode.ProtocolError);
    expect(host.relayed).toEqual([]);
  });

  it('closes on a text message over the control size, unparsed', () => {
    ws.text(`{"type":"chat","text":"${'x'.repeat(MAX_CONTROL_MESSAGE_BYTES)}"}`);
    expect(ws.closedWith?.code).toBe(CloseCode.ProtocolError);
  });

  it('answers a ping with a pong', () => {
    ws.text({ type: 'ping', t: 5 });
    expect(ws.sent).toEqual([{ type: 'pong', t: 5 }]);
  });

  it('hands one join to the host; a second one closes with 4400', () => {
    ws.text({ type: 'join', token: 't1' });
    expect(host.joins).toEqual(['t1']);
    expect(session.state).toBe('pending');
    ws.text({ type: 'join', token: 't2' });
    expect(host.joins).toEqual(['t1']);
    expect(ws.closedWith?.code).toBe(CloseCode.ProtocolError);
    expect(host.closes).toEqual([{ was: 'pending', intent: 'leave' }]);
  });
});

describe('while the join is pending', () => {
  it('holds commands and runs them, in order, once attached; audio is ignored', () => {
    ws.text({ type: 'join', token: 't' });
    ws.text({ type: 'chat', text: 'first', ref: 1 });
    ws.text({ type: 'chat', text: 'second', ref: 2 });
    ws.binary(voiceFrame());
    expect(host.commands).toEqual([]);
    expect(ws.closedWith).toBeUndefined();
    session.attached(member('speaker'));
    session.releaseHeld();
    expect(host.commands.map((c) => (c.type === 'chat' ? c.text : c.type))).toEqual(['first', 'second']);
    expect(host.relayed).toEqual([]);
  });

  it('refuses commands beyond 16 with an error, without closing', () => {
    ws.text({ type: 'join', token: 't' });
    for (let i = 0; i < 17; i++) ws.text({ type: 'chat', text: `c${i}`, ref: i });
    expect(ws.sent).toEqual([{ type: 'error', code: ErrorCode.InvalidCommand, message: 'not joined yet', ref: 16 }]);
    expect(ws.closedWith).toBeUndefined();
  });
});

describe('a joined member', () => {
  it('relays a valid frame of a speaker', () => {
    joinAs(member('speaker'));
    const frame = voiceFrame();
    ws.binary(frame);
    expect(host.relayed).toEqual([frame]);
  });

  it.each([
    ['a listener', member('listener'), 'your role may not send audio'],
    ['a muted speaker', member('speaker', true), 'a host muted you'],
  ])('refuses the audio of %s (counted, one error a second), until its record changes', (_name, record, text) => {
    joinAs(record);
    ws.binary(voiceFrame());
    ws.binary(voiceFrame());
    expect(host.relayed).toEqual([]);
    expect(host.stats.framesRefusedNotAllowed).toBe(2);
    expect(ws.sent).toEqual([{ type: 'error', code: ErrorCode.NotAllowedToSpeak, message: text }]);
    record.role = 'speaker';
    record.muted = false;
    session.memberChanged();
    ws.binary(voiceFrame());
    expect(host.relayed).toHaveLength(1);
  });

  it('refuses malformed and oversized frames, and frames over the rate', () => {
    joinAs(member('speaker'));
    ws.binary(Buffer.from([9, 9, 9]));
    ws.binary(voiceFrame(101));
    expect(host.stats).toMatchObject({ framesRefusedMalformed: 1, framesRefusedTooLarge: 1 });
    expect(ws.errors()).toEqual([ErrorCode.VoiceFrameInvalid]); // at most one error a second
    for (let i = 0; i < 6; i++) ws.binary(voiceFrame());
    expect(host.relayed).toHaveLength(5); // VOICE_BURST_FRAMES
    expect(host.stats.framesRefusedRate).toBe(1);
  });

  it('closes with 4429, as a leave, after too many refusals in the window', () => {
    joinAs(member('listener'));
    for (let i = 0; i < 21; i++) ws.binary(voiceFrame());
    expect(ws.closedWith?.code).toBe(CloseCode.Abuse);
    expect(host.stats.abuseCloses).toBe(1);
    expect(host.closes).toEqual([{ was: 'joined', intent: 'leave' }]);
  });

  it('leaves on `leave`; detaches when the connection drops; ends as the host says', () => {
    joinAs(member('speaker'));
    ws.text({ type: 'leave' });
    expect(ws.closedWith?.code).toBe(CloseCode.Normal);
    expect(host.closes).toEqual([{ was: 'joined', intent: 'leave' }]);

    const ws2 = new FakeWs();
    const dropped = new Session(ws2 as unknown as WebSocket, '127.0.0.1', host);
    ws2.emit('close', 1006);
    expect(host.closes.at(-1)).toEqual({ was: 'joining', intent: 'detach' });
    expect(dropped.state).toBe('closed');

    const ws3 = new FakeWs();
    const kicked = new Session(ws3 as unknown as WebSocket, '127.0.0.1', host);
    kicked.close(CloseCode.Kicked, 'removed', 'ended');
    expect(host.closes.at(-1)).toEqual({ was: 'joining', intent: 'ended' });
    expect(host.closes).toHaveLength(3); // once each
  });

  it('ignores whatever arrives after it closed', () => {
    joinAs(member('speaker'));
    session.close(CloseCode.Normal, 'bye');
    ws.readyState = 1; // ws may still hand over what came in the same read
    ws.binary(voiceFrame());
    ws.text({ type: 'chat', text: 'late' });
    expect(host.relayed).toEqual([]);
    expect(host.commands).toEqual([]);
  });
});

describe('delivery', () => {
  it('drops voice for a socket whose backlog is over the high-water mark, and closes one too far behind on text', () => {
    joinAs(member('speaker'));
    expect(session.deliverVoice(Buffer.alloc(10))).toBe(true);
    ws._socket.writableLength = 3000;
    session.corked = false;
    expect(session.deliverVoice(Buffer.alloc(10))).toBe(false);
    expect(host.stats.framesDroppedSlowSocket).toBe(1);
    ws._socket.writableLength = 2048 * 16 + 1;
    session.deliverText('{}');
    expect(ws.closedWith?.code).toBe(CloseCode.TooSlow);
    expect(host.stats.slowConsumerCloses).toBe(1);
  });

  it('truncates a close reason to 123 bytes of UTF-8', () => {
    expect(Buffer.byteLength(closeReason('é'.repeat(100)))).toBeLessThanOrEqual(123);
    expect(closeReason('short')).toBe('short');
  });
});
