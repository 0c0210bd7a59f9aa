/**
 * A listener that stops reading must cost only itself: the others get every frame, the slow one
 * gets voice dropped (counted) while its socket is backed up, and voice again once it drains.
 */
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { CloseCode } from '@voiceroom/protocol';
import { joinToken, RecordingClient, sleep, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { closeFrame, RawWebSocket, text } from './raw-ws';

let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  ({ app, url } = await startGateway({
    SOCKET_HIGH_WATER_BYTES: '16384',
    VOICE_MAX_PAYLOAD_BYTES: '1275',
    VOICE_MAX_FPS: '1000',
    VOICE_BURST_FRAMES: '1000',
  }));
});
afterAll(async () => {
  await app.close();
});

it('a slow reader does not change what fast readers receive, and gets voice again once it drains', async () => {
  const join = (user: string) => RecordingClient.join(url, joinToken(user, 'slow'));
  const speakers = await Promise.all(['s1', 's2', 's3', 's4'].map(join));
  const fast = await join('fast');
  const slow = await join('slow');
  const slowSocket = (slow as unknown as { socket: { _socket: Socket } }).socket._socket;
  slowSocket.pause(); // stops reading: the kernel buffers fill, then the gateway's

  const perSpeaker = 1500;
  const payload = Buffer.alloc(1200, 7);
  for (let i = 0; i < perSpeaker; i++) {
    for (const [k, s] of speakers.entries()) {
      payload.writeUInt32BE(k, 0);
      payload.writeUInt32BE(i, 4);
      s.sendVoice(i, Date.now(), 10, payload);
    }
    if (i % 5 === 4) await sleep(10); // ~500 frames/s per speaker: under the rate limit
  }
  const total = perSpeaker * speakers.length;
  await waitFor('the fast reader hears every frame', () => fast.heard.length >= total, 30_000);
  for (const [k, s] of speakers.entries()) {
    expect(fast.heardFrom(s.sid).map((h) => h.payload.readUInt32BE(4))).toEqual([...Array(perSpeaker).keys()]);
    expect(fast.heardFrom(s.sid).every((h) => h.payload.readUInt32BE(0) === k)).toBe(true);
  }
  expect(app.gateway.stats.framesDroppedSlowSocket).toBeGreaterThan(0);

  // Once it reads again, its backlog drains and new voice reaches it.
  slowSocket.resume();
  await sleep(500);
  const before = slow.heard.length;
  expect(before).toBeLessThan(total); // some of its voice was dropped, not queued without bound
  await speakers[0]?.speak(10, 0xfeed, 5, perSpeaker);
  await waitFor('the drained reader hears new voice', () => slow.heard.slice(before).some((h) => h.payload.readUInt32BE(0) === 0xfeed), 10_000);
  expect(slow.closeInfo).toBeUndefined();
  for (const c of [...speakers, fast, slow]) c.close();
});

it('counts only real high-water drops: voice for a socket that is closing is not a slow-socket drop', async () => {
  const speaker = await RecordingClient.join(url, joinToken('talker', 'closing'));
  // A listener that starts the closing handshake but keeps its TCP connection open: the
  // gateway's socket stays in CLOSING until the close timeout.
  const leaver = await RawWebSocket.open(url, '/ws', { halfOpen: true });
  leaver.write(text({ type: 'join', token: joinToken('leaver', 'closing', 'listener') }));
  await leaver.waitMessage('joined');
  const before = app.gateway.stats.framesDroppedSlowSocket;
  leaver.write(closeFrame(1000));
  expect((await leaver.waitClose()).code).toBe(1000);
  await speaker.speak(20, 0xc1, 5);
  await sleep(200);
  expect(app.gateway.stats.framesDroppedSlowSocket).toBe(before);
  leaver.destroy();
  speaker.close();
});

describe('room events are never dropped for a slow reader', () => {
  let small: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    small = await startGateway({
      SOCKET_HIGH_WATER_BYTES: '1024', // text is allowed 16 KiB of backlog
      VOICE_MAX_PAYLOAD_BYTES: '1275',
      VOICE_MAX_FPS: '1000',
      VOICE_BURST_FRAMES: '1000',
      COMMANDS_PER_SEC: '1000',
      COMMAND_BURST: '1000',
    });
  });
  afterAll(async () => {
    await small.app.close();
  });

  it('closes a reader that falls behind on room events with 4409; it resumes and gets every missed event in order', async () => {
    const join = (user: string, role: 'speaker' | 'listener' = 'listener') => RecordingClient.join(small.url, joinToken(user, 'slow-events', role));
    const speaker = await join('spk', 'speaker');
    const helpers = await Promise.all(['h1', 'h2', 'h3'].map((u) => join(u, 'speaker')));
    const fast = await join('fast');
    const slow = await join('slow');
    const slowSocket = (slow as unknown as { socket: { _socket: Socket } }).socket._socket;
    slowSocket.pause();

    // Voice fills the kernel buffers until the gateway holds voice back for the slow socket...
    const slowSession = [...small.app.gateway.sessions].find((s) => s.userId === 'slow');
    const backedUp = () => (slowSession?.raw.writableLength ?? 0) > 1024; // checked between ticks: nothing corked
    const payload = Buffer.alloc(1200, 1);
    const deadline = Date.now() + 30_000;
    for (let i = 0; !backedUp() && Date.now() < deadline; i++) {
      for (const s of [speaker, ...helpers]) s.sendVoice(i, Date.now(), 30, payload);
      if (i % 16 === 15) await sleep(20); // ~800 frames/s each: under the rate limit
    }
    expect(backedUp()).toBe(true);
    // ...then room events pile up behind it: they are never dropped, so the socket is closed.
    const seqBefore = slow.seq;
    for (let i = 0; i < 60; i++) speaker.chat(`${i}:${'x'.repeat(480)}`);
    await waitFor('the fast reader has every chat', () => fast.chats.length === 60, 10_000);
    await waitFor('the gateway gave up on the slow socket', () => small.app.gateway.stats.slowConsumerCloses > 0, 10_000);
    slowSocket.resume();
    expect((await slow.waitClosed()).code).toBe(CloseCode.TooSlow);
    expect(fast.closeInfo).toBeUndefined();

    await slow.resumeOn(small.url);
    const chatsSeen = slow.roomEvents.filter((e) => Number(e.split(':')[0]) > seqBefore && e.includes(':chat:'));
    expect(chatsSeen.map((e) => Number(e.split(':')[2]))).toEqual([...Array(60).keys()]);
    expect(slow.seq).toBe(fast.seq);
    for (const c of [speaker, ...helpers, fast, slow]) c.close();
  });
});
