/**
 * A listener that stops reading must cost only itself: the others get every frame, the slow one
 * gets voice dropped (counted) while its socket is backed up, and voice again once it drains.
 */
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { joinToken, RecordingClient, sleep, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';

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
