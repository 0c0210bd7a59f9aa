/**
 * One gateway node on its embedded defaults (memory bus): what a client sees at the edge.
 * Cross-node behaviour is tested against the real RocketMQ in cluster-rocketmq.test.ts.
 */
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { CloseCode, ErrorCode, writeClientVoiceFrame } from '@voiceroom/protocol';
import { joinToken, RecordingClient, sleep, TEST_JWT_SECRET, unsignedToken, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';

let app: FastifyInstance;
let url: string;
let http: string;
const clients: RecordingClient[] = [];

async function join(user: string, room: string, role: 'host' | 'speaker' | 'listener' = 'speaker'): Promise<RecordingClient> {
  const client = await RecordingClient.join(url, joinToken(user, room, role));
  clients.push(client);
  return client;
}

/** Opens a socket, sends the given first message(s) and resolves with the close code. */
function closeCodeFor(messages: (string | Buffer)[], timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error('socket was not closed')), timeoutMs);
    ws.on('open', () => messages.forEach((m) => ws.send(m)));
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

beforeAll(async () => {
  ({ app, url, http } = await startGateway({ JOIN_TIMEOUT_MS: '500', ABUSE_MAX_VIOLATIONS: '20', VOICE_MAX_PAYLOAD_BYTES: '200' }));
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await app.close();
});

describe('health', () => {
  it('answers liveness and readiness once the memory bus is started', async () => {
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    await waitFor('ready', async () => (await fetch(`${http}/readyz`)).status === 200);
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toContain('voiceroom_voice_frames_in_total');
  });
});

describe('joining', () => {
  it('tells the joiner who is present and tells the others who came and left', async () => {
    const alice = await join('alice', 'j1');
    expect(alice.joined?.members).toEqual([]);
    const bob = await join('bob', 'j1');
    expect(bob.joined?.members.map((m) => m.userId)).toEqual(['alice']);
    expect(bob.joined?.self).toMatchObject({ userId: 'bob', role: 'speaker' });
    await waitFor('alice hears bob join', () => alice.events.includes('joined:bob'));
    bob.close();
    await waitFor('alice hears bob leave', () => alice.events.includes('left:bob'));
    expect(alice.members.size).toBe(0);
  });

  it.each([
    ['an unsigned (alg none) token', () => unsignedToken('mallory', 'j2'), CloseCode.TokenInvalid],
    ['a token signed with another key', () => joinToken('mallory', 'j2', 'host', { secret: 'some-other-secret-0123456789abcdef' }), CloseCode.TokenInvalid],
    [
      'a tampered token',
      () =>
        joinToken('mallory', 'j2').replace(
          /\.[^.]+\./,
          '.' + Buffer.from('{"sub":"x","room":"j2","role":"host","aud":"voiceroom:join","exp":9999999999}').toString('base64url') + '.',
        ),
      CloseCode.TokenInvalid,
    ],
    ['garbage', () => 'not-a-token', CloseCode.TokenInvalid],
    ['an expired token', () => joinToken('mallory', 'j2', 'speaker', { ttlSeconds: -60 }), CloseCode.TokenExpired],
  ])('refuses %s with its close code and changes no room', async (_name, token, code) => {
    const watcher = await join('watcher', 'j2');
    const result = await closeCodeFor([JSON.stringify({ type: 'join', token: token() })]);
    expect(result.code).toBe(code);
    await sleep(50);
    expect(watcher.events).toEqual([]);
  });

  it('closes a socket that does not join in time', async () => {
    expect((await closeCodeFor([], 3000)).code).toBe(CloseCode.JoinTimeout);
  });

  it.each([
    ['binary before join', [Buffer.from([1, 2, 3])]],
    ['text that is not JSON', ['hello']],
    ['an unknown message type', [JSON.stringify({ type: 'launch' })]],
  ])('closes on %s with the protocol error code', async (_name, messages) => {
    const result = await closeCodeFor(messages);
    expect(result.code).toBe(CloseCode.ProtocolError);
    expect(result.reason.length).toBeGreaterThan(0);
  });

  it('survives a message type made of multi-byte characters (close reasons are bounded in bytes)', async () => {
    const result = await closeCodeFor([JSON.stringify({ type: '€'.repeat(200) })]);
    expect(result.code).toBe(CloseCode.ProtocolError);
    const alice = await join('alice', 'j4'); // the process is still serving
    expect(alice.joined?.room).toBe('j4');
  });

  it('refuses a correctly signed token that lacks the join audience', async () => {
    const { createSigner } = await import('fast-jwt');
    const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256' });
    const token = sign({ sub: 'mallory', room: 'j2', role: 'host', exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await closeCodeFor([JSON.stringify({ type: 'join', token })])).code).toBe(CloseCode.TokenInvalid);
  });

  it('refuses a token that is not valid yet with 4402 and says so', async () => {
    const { createSigner } = await import('fast-jwt');
    const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', aud: 'voiceroom:join' });
    const now = Math.floor(Date.now() / 1000);
    const token = sign({ sub: 'early', room: 'j2', role: 'speaker', nbf: now + 60, exp: now + 3600 });
    expect(await closeCodeFor([JSON.stringify({ type: 'join', token })])).toEqual({ code: CloseCode.TokenExpired, reason: 'token not yet valid' });
  });

  it('keeps a display name whole: cut to 64 code points, never inside a surrogate pair', async () => {
    const { createSigner } = await import('fast-jwt');
    const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', aud: 'voiceroom:join' });
    const name = `${'a'.repeat(63)}😀tail`; // the emoji straddles the 64th code unit: it is the 64th code point
    const token = sign({ sub: 'emoji', room: 'j6', role: 'speaker', name, exp: Math.floor(Date.now() / 1000) + 60 });
    const client = new RecordingClient(url);
    clients.push(client);
    await client.connect(token);
    expect(client.self?.name).toBe(`${'a'.repeat(63)}😀`);
  });

  it('closes with 1009 when a message exceeds the absolute limit', async () => {
    expect((await closeCodeFor([Buffer.alloc(70_000)])).code).toBe(1009);
  });

  it('a member closed for an oversized message has left at once (no grace period)', async () => {
    const alice = await join('alice', 'j5');
    const bob = await join('bob', 'j5');
    bob.sendRaw(Buffer.alloc(70_000));
    expect((await bob.waitClosed()).code).toBe(1009);
    await waitFor('alice sees bob leave', () => alice.leaveReasons.includes('bob:left'), 5000);
  });

  it('answers ping with pong', async () => {
    const alice = await join('alice', 'j3');
    const pong = new Promise((resolve) => {
      const ws = (alice as unknown as { socket: WebSocket }).socket;
      ws.addEventListener('message', (e: { data: unknown }) => typeof e.data === 'string' && resolve(JSON.parse(e.data)));
    });
    alice.sendRaw(JSON.stringify({ type: 'ping', t: 42 }));
    expect(await pong).toEqual({ type: 'pong', t: 42 });
  });
});

describe('relaying voice on one node', () => {
  it('gives every other member of the room each frame once, in order, never the sender, never another room', async () => {
    const alice = await join('alice', 'v1');
    const bob = await join('bob', 'v1');
    const carol = await join('carol', 'v1');
    const dave = await join('dave', 'v2');
    await alice.speak(40, 0xa1, 5);
    await waitFor('bob and carol hear 40 frames', () => bob.heard.length >= 40 && carol.heard.length >= 40);
    await sleep(100);
    for (const listener of [bob, carol]) {
      expect(listener.heard).toHaveLength(40);
      expect(listener.heard.every((h) => h.speaker === alice.sid)).toBe(true);
      expect(listener.heard.map((h) => h.payload.readUInt32BE(4))).toEqual([...Array(40).keys()]);
      expect(listener.heard.map((h) => h.sequence)).toEqual([...Array(40).keys()]);
      expect(listener.heard[0]?.payload.readUInt32BE(0)).toBe(0xa1);
    }
    expect(alice.heard).toHaveLength(0);
    expect(dave.heard).toHaveLength(0);
  });

  it('drops and reports malformed and oversized frames without harming the room, then closes an abuser', async () => {
    const alice = await join('alice', 'v3');
    const bob = await join('bob', 'v3');
    alice.sendRaw(Buffer.from([0x01, 0x00, 0x00])); // truncated
    alice.sendRaw(Buffer.from([0x07, 0, 0, 0, 0, 0, 0, 0, 1])); // unknown kind
    const big = Buffer.alloc(8 + 201);
    writeClientVoiceFrame(big, 0, 1, 1, 1, Buffer.alloc(201));
    alice.sendRaw(big);
    await waitFor('an error at alice', () => alice.errors.length > 0);
    expect([ErrorCode.VoiceFrameInvalid, ErrorCode.VoiceFrameTooLarge]).toContain(alice.errors[0]?.code);
    await alice.speak(3, 0xa2, 0);
    await waitFor('bob hears the valid frames', () => bob.heard.length >= 3);
    expect(bob.heard.map((h) => h.payload.readUInt32BE(0))).toEqual([0xa2, 0xa2, 0xa2]);
    expect(bob.closeInfo).toBeUndefined();

    for (let i = 0; i < 30; i++) alice.sendRaw(Buffer.from([0xff]));
    expect((await alice.waitClosed()).code).toBe(CloseCode.Abuse);
    await waitFor('bob sees alice leave', () => bob.events.includes('left:alice'));
    expect(bob.closeInfo).toBeUndefined();
  });

  it('refuses audio from a listener', async () => {
    const lisa = await join('lisa', 'v4', 'listener');
    const bob = await join('bob', 'v4');
    await lisa.speak(3, 0xb0, 0);
    await waitFor('an error at the listener', () => lisa.errors.length > 0);
    expect(lisa.errors[0]?.code).toBe(ErrorCode.NotAllowedToSpeak);
    await sleep(100);
    expect(bob.heard).toHaveLength(0);
  });

  it('rate-limits a flood: the excess is dropped and reported, the rest is relayed', async () => {
    const alice = await join('alice', 'v5');
    const bob = await join('bob', 'v5');
    await alice.speak(100, 0xc0, 0); // 100 frames at once, burst allowance is 30
    await waitFor('rate-limit error', () => alice.errors.some((e) => e.code === ErrorCode.VoiceRateLimited));
    await sleep(200);
    expect(bob.heard.length).toBeGreaterThanOrEqual(30);
    expect(bob.heard.length).toBeLessThan(100);
  });
});

describe('room commands and resume on one node', () => {
  /** Joins, sends one raw text message, resolves with the close code. */
  async function closedAfter(raw: string): Promise<number> {
    const c = await join(`raw-${Math.random().toString(36).slice(2, 8)}`, 'c0', 'host');
    c.sendRaw(raw);
    return (await c.waitClosed()).code;
  }

  it.each([
    ['a mute with a string sid', '{"type":"mute","sid":"1","muted":true}'],
    ['a set_role to host', '{"type":"set_role","sid":5,"role":"host"}'],
    ['a chat over 500 characters', JSON.stringify({ type: 'chat', text: 'x'.repeat(501) })],
    ['an empty chat', '{"type":"chat","text":"   "}'],
    ['a kick without sid', '{"type":"kick"}'],
    ['a ref that is an object', '{"type":"raise_hand","raised":true,"ref":{}}'],
    ['a resume with a negative lastSeq after join', '{"type":"resume","token":"x","lastSeq":-1}'],
  ])('closes on %s with the protocol error code', async (_name, raw) => {
    expect(await closedAfter(raw)).toBe(CloseCode.ProtocolError);
  });

  it('refuses commands before join with the protocol error code', async () => {
    expect((await closeCodeFor(['{"type":"chat","text":"hi"}'])).code).toBe(CloseCode.ProtocolError);
  });

  it('answers a refused command with an error carrying its ref, and changes nothing', async () => {
    const host = await join('host', 'c1', 'host');
    const spk = await join('spk', 'c1', 'speaker');
    const ref = spk.mute(host.sid);
    await waitFor('the refusal', () => spk.errors.some((e) => e.ref === ref));
    expect(spk.errors.find((e) => e.ref === ref)?.code).toBe(ErrorCode.NotHost);
    const ghost = host.kick(123_456 as never);
    await waitFor('unknown member', () => host.errors.some((e) => e.ref === ghost && e.code === ErrorCode.UnknownMember));
    const hand = host.raiseHand();
    await waitFor('hosts do not raise hands', () => host.errors.some((e) => e.ref === hand && e.code === ErrorCode.InvalidCommand));
    expect(host.updates).toEqual([]);
  });

  it('rate-limits commands: the excess is refused, the rest delivered in order', async () => {
    const talker = await join('talker', 'c2', 'listener');
    const reader = await join('reader', 'c2', 'listener');
    for (let i = 0; i < 20; i++) talker.chat(`m${i}`);
    await waitFor('a rate-limit error', () => talker.errors.some((e) => e.code === ErrorCode.CommandRateLimited));
    expect(talker.errors.find((e) => e.code === ErrorCode.CommandRateLimited)?.ref).toBeDefined();
    await sleep(300);
    const got = reader.chats.map((c) => c.text);
    expect(got.length).toBeGreaterThanOrEqual(10); // the burst
    expect(got.length).toBeLessThan(20);
    expect(got).toEqual([...Array(got.length).keys()].map((i) => `m${i}`));
    expect(reader.chats[0]).toMatchObject({ userId: 'talker', from: talker.sid });
  });

  it('a leave message leaves at once; a dropped connection keeps the place until the resume', async () => {
    const alice = await join('alice', 'c3');
    const bob = await join('bob', 'c3');
    const carol = await join('carol', 'c3');
    bob.leave();
    await waitFor('bob left', () => alice.leaveReasons.includes('bob:left'));
    carol.drop();
    await sleep(300);
    expect(alice.events).not.toContain('left:carol');
    expect(alice.rosterUsers()).toEqual(['carol']);
    await carol.resumeOn(url);
    expect(carol.resumed?.self.userId).toBe('carol');
    expect(carol.rosterUsers()).toEqual(['alice']);
  });

  it('refuses forged resume tokens (4401) and resumes of members who left (4404)', async () => {
    expect((await closeCodeFor([JSON.stringify({ type: 'resume', token: 'garbage', lastSeq: 0 })])).code).toBe(CloseCode.TokenInvalid);
    expect((await closeCodeFor([JSON.stringify({ type: 'resume', token: joinToken('alice', 'c4'), lastSeq: 0 })])).code).toBe(
      CloseCode.TokenInvalid, // a join token is not a resume token
    );
    const gone = await join('gone', 'c4');
    await join('stays', 'c4');
    gone.leave();
    await gone.waitClosed();
    await expect(gone.resume(url)).rejects.toMatchObject({ code: CloseCode.ResumeFailed });
  });
});

describe('connection limits on one node', () => {
  let limited: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    limited = await startGateway({ MAX_CONNECTIONS_PER_IP: '3', MAX_CONNECTIONS_PER_USER: '2' }, {});
  });
  afterAll(async () => {
    await limited.app.close();
  });

  it("refuses a user's connection beyond the per-user limit with 4413", async () => {
    const a = await RecordingClient.join(limited.url, joinToken('many', 'l1'));
    const b = await RecordingClient.join(limited.url, joinToken('many', 'l2'));
    await expect(RecordingClient.join(limited.url, joinToken('many', 'l3'))).rejects.toMatchObject({ code: CloseCode.TooManyConnections });
    a.close();
    b.close();
  });

  it('refuses connections from one address beyond the per-IP limit with HTTP 429 (connection-limits.test.ts has more)', async () => {
    await sleep(200); // the previous test's sockets are closed
    const open = await Promise.all([1, 2, 3].map((i) => RecordingClient.join(limited.url, joinToken(`ip-${i}`, 'l4'))));
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(limited.url);
      ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(429);
    for (const c of open) c.close();
  });
});
