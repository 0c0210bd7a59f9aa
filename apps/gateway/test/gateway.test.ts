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
    ['a tampered token', () => joinToken('mallory', 'j2').replace(/\.[^.]+\./, '.' + Buffer.from('{"sub":"x","room":"j2","role":"host","aud":"voiceroom:join","exp":9999999999}').toString('base64url') + '.'), CloseCode.TokenInvalid],
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

  it('closes with 1009 when a message exceeds the absolute limit', async () => {
    expect((await closeCodeFor([Buffer.alloc(70_000)])).code).toBe(1009);
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
