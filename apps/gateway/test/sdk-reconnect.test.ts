/**
 * The SDK's automatic reconnection (libs/client, `reconnect` option) against real gateways:
 * resume after a drop, no reconnect after a kick, a fresh join when the place is gone, and moving
 * to another gateway when one drains.
 */
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { MemoryExchange } from '@voiceroom/bus';
import { VoiceRoomClient, type ConnectionState, type ReconnectOptions, type WebSocketFactory } from '@voiceroom/client';
import { CloseCode } from '@voiceroom/protocol';
import { joinToken, RecordingClient, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';

const gateways: FastifyInstance[] = [];
const clients: VoiceRoomClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

function client(url: string, reconnect: ReconnectOptions | boolean): { client: VoiceRoomClient; states: ConnectionState[] } {
  const c = new VoiceRoomClient(url, { WebSocket: WebSocket as unknown as WebSocketFactory, reconnect });
  clients.push(c);
  const states: ConnectionState[] = [];
  c.on('state', (s) => states.push(s));
  return { client: c, states };
}

async function peer(url: string, user: string, room: string): Promise<RecordingClient> {
  const p = await RecordingClient.join(url, joinToken(user, room, 'host'));
  clients.push(p);
  return p;
}

it('resumes by itself after the connection drops: same sid, missed chat replayed, peers see nothing', async () => {
  const gw = await startGateway({ RESUME_GRACE_MS: '10000', DRAIN_SPREAD_MS: '0' });
  gateways.push(gw.app);
  const host = await peer(gw.url, 'host', 'r1');
  const { client: alice, states } = client(gw.url, { minDelayMs: 200 });
  const chats: string[] = [];
  alice.on('chat', (m) => chats.push(m.text));
  await alice.connect(joinToken('alice', 'r1'));
  const sid = alice.self!.sid;
  alice.drop();
  await waitFor('alice reconnecting', () => alice.state === 'reconnecting');
  host.chat('said while alice was away');
  await waitFor('alice live again', () => alice.state === 'live');
  expect(alice.self!.sid).toBe(sid);
  await waitFor('the missed chat', () => chats.includes('said while alice was away'));
  expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  expect(host.events).toEqual(['joined:alice']); // no leave, no second join
});

it('does not reconnect after a kick: the state is closed with 4403 and its description', async () => {
  const gw = await startGateway({ DRAIN_SPREAD_MS: '0' });
  gateways.push(gw.app);
  const host = await peer(gw.url, 'host', 'r2');
  const { client: bob, states } = client(gw.url, true);
  const closed = new Promise<unknown>((resolve) => bob.on('state', (s, info) => s === 'closed' && resolve(info)));
  await bob.connect(joinToken('bob', 'r2'));
  host.kick(bob.self!.sid);
  expect(await closed).toMatchObject({ code: CloseCode.Kicked, description: 'a host or an administrator removed you from the room' });
  await new Promise((r) => setTimeout(r, 600));
  expect(states).toEqual(['connecting', 'live', 'closed']);
});

it('joins again with a fresh token when its place is gone (grace over), and stops without one', async () => {
  const gw = await startGateway({ RESUME_GRACE_MS: '300', DRAIN_SPREAD_MS: '0' });
  gateways.push(gw.app);
  const host = await peer(gw.url, 'host', 'r3');
  let tokens = 0;
  const { client: carol, states } = client(gw.url, { minDelayMs: 1500, rejoin: async () => (tokens++, joinToken('carol', 'r3')) });
  await carol.connect(joinToken('carol', 'r3'));
  const firstSid = carol.self!.sid;
  carol.drop();
  await waitFor('carol live again', () => states.length === 4 && carol.state === 'live', 10_000).catch((e: unknown) => {
    throw new Error(`${String(e)} states=${states.join()}`);
  });
  expect(tokens).toBe(1);
  expect(carol.self!.sid).not.toBe(firstSid);
  // The new membership replaces the old one (member_joined with `replaces`): carol is listed once.
  await waitFor(
    'the host to list the new carol only',
    () => [...host.members.values()].map((m) => `${m.userId}:${m.sid}`).join() === `carol:${carol.self!.sid}`,
  );

  const { client: dave } = client(gw.url, { minDelayMs: 1500 });
  await dave.connect(joinToken('dave', 'r3'));
  dave.drop();
  await waitFor('dave closed for good', () => dave.state === 'closed', 10_000);
});

it('moves to another gateway when its own drains (goaway), resuming at once', async () => {
  const exchange = new MemoryExchange();
  const fast = { RESUME_GRACE_MS: '10000', DRAIN_SPREAD_MS: '0', NODE_BEAT_INTERVAL_MS: '100', NODE_TIMEOUT_MS: '1000', CLUSTER_SYNC_TIMEOUT_MS: '300' };
  const one = await startGateway({ ...fast, NODE_ID: 'gw-a' }, { exchange });
  const two = await startGateway({ ...fast, NODE_ID: 'gw-b' }, { exchange });
  gateways.push(two.app);
  for (const g of [one, two]) await waitFor('the gateways ready', async () => (await fetch(`${g.http}/readyz`)).status === 200);
  const host = await peer(two.url, 'host', 'r4');
  const { client: erin, states } = client(one.url, { urls: [one.url, two.url] });
  await erin.connect(joinToken('erin', 'r4'));
  await waitFor('erin in the host roster', () => host.rosterUsers().includes('erin'));
  await one.app.close(); // drain: goaway + 4504
  await waitFor('erin live on the other gateway', () => erin.state === 'live' && erin.url === two.url);
  expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  expect(host.events).toEqual(['joined:erin']);
});

it('refuses commands locally while reconnecting, and close() during a reconnect ends it for good', async () => {
  const gw = await startGateway({ RESUME_GRACE_MS: '10000', DRAIN_SPREAD_MS: '0' });
  gateways.push(gw.app);
  await peer(gw.url, 'host', 'r5');
  const { client: fay, states } = client(gw.url, { minDelayMs: 2000 });
  const errors: string[] = [];
  fay.on('error', (e) => errors.push(e.code));
  await fay.connect(joinToken('fay', 'r5'));
  fay.drop();
  await waitFor('fay reconnecting', () => fay.state === 'reconnecting');
  fay.chat('lost?');
  expect(errors).toEqual(['UNAVAILABLE']);
  fay.close();
  expect(fay.state).toBe('closed');
  await new Promise((r) => setTimeout(r, 2500)); // past the first retry's time
  expect(states).toEqual(['connecting', 'live', 'reconnecting', 'closed']);
});
