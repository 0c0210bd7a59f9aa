/**
 * Bounds on join tokens and on coming back after a kick (issue 12, item 9), through gateways on
 * the memory bus:
 * - a join token lives at most TOKEN_MAX_TTL_SECONDS: `exp − iat`, or `exp − now`, longer than
 *   that is refused with 4401 (`exp: 1e308` included);
 * - a user kicked from a room is refused with 4403 when joining it again within
 *   KICK_REJOIN_BLOCK_SECONDS, on every gateway: the block is decided by the replicated room state.
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { MemoryExchange } from '@voiceroom/bus';
import WebSocket from 'ws';
import { VoiceRoomClient, VoiceRoomError, type ConnectionState, type StateInfo, type WebSocketFactory } from '@voiceroom/client';
import { CloseCode } from '@voiceroom/protocol';
import { joinToken, RecordingClient, sleep, TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';

type Gateway = { app: FastifyInstance; url: string; http: string };
const gateways: Gateway[] = [];
const clients: VoiceRoomClient[] = [];

async function start(env: Record<string, string>, exchange?: MemoryExchange): Promise<Gateway> {
  const gateway = await startGateway(env, exchange ? { exchange } : {});
  gateways.push(gateway);
  await waitFor('the gateway ready', async () => (await fetch(`${gateway.http}/readyz`)).status === 200);
  return gateway;
}

/** Joins with `token`; resolves with the client, or with the close code and reason of a refusal. */
async function tryJoin(url: string, token: string): Promise<RecordingClient | { code: number; reason: string }> {
  const client = new RecordingClient(url);
  clients.push(client);
  try {
    await client.connect(token);
    return client;
  } catch (error) {
    if (error instanceof VoiceRoomError) return { code: error.code, reason: error.reason };
    throw error;
  }
}

const now = () => Math.floor(Date.now() / 1000);
/** A join token with exactly these claims, signed with the suite's key (no `iat` unless given). */
function signed(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ aud: 'voiceroom:join', role: 'speaker', ...claims })}`;
  return `${body}.${createHmac('sha256', TEST_JWT_SECRET).update(body).digest('base64url')}`;
}
function token(user: string, room: string, exp: number, iat?: number): string {
  return signed({ sub: user, room, exp, ...(iat === undefined ? {} : { iat }) });
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  for (const g of gateways) await g.app.close();
});

describe('maximum join token lifetime', () => {
  it('refuses exp: 1e308 with 4401, with or without iat (default maximum: 86 400 s)', async () => {
    const gw = await start({ NODE_ID: 'gw-ttl-default' });
    const expected = { code: CloseCode.TokenInvalid, reason: 'token lifetime over the maximum (86400 s)' };
    expect(await tryJoin(gw.url, token('eve', 't1', 1e308, now()))).toEqual(expected);
    expect(await tryJoin(gw.url, token('eve', 't1', 1e308))).toEqual(expected);
    expect(await tryJoin(gw.url, token('eve', 't1', now() + 86_400 + 60, now()))).toEqual(expected);
    // A day exactly is accepted, as are the admin API's and the test kit's tokens.
    expect(await tryJoin(gw.url, token('ann', 't1', now() + 86_400, now()))).toBeInstanceOf(RecordingClient);
    expect(await tryJoin(gw.url, joinToken('bea', 't1'))).toBeInstanceOf(RecordingClient);
  });

  it('follows TOKEN_MAX_TTL_SECONDS: exp − iat, or exp − now without iat (or with an iat in the future)', async () => {
    const gw = await start({ NODE_ID: 'gw-ttl-600', TOKEN_MAX_TTL_SECONDS: '600' });
    const refused = { code: CloseCode.TokenInvalid, reason: 'token lifetime over the maximum (600 s)' };
    const t = now();
    expect(await tryJoin(gw.url, token('u1', 't2', t + 601, t))).toEqual(refused); // exp − iat
    expect(await tryJoin(gw.url, token('u1', 't2', t + 700, t + 200))).toEqual(refused); // iat in the future: exp − now counts
    expect(await tryJoin(gw.url, token('u1', 't2', t + 900))).toEqual(refused); // no iat: exp − now
    expect(await tryJoin(gw.url, token('u1', 't2', t + 3600, t - 3300))).toEqual(refused); // 300 s left, but a 3900 s token
    expect(await tryJoin(gw.url, joinToken('u1', 't2', 'speaker', { ttlSeconds: 900 }))).toEqual(refused);
    expect(await tryJoin(gw.url, token('u2', 't2', t + 600, t))).toBeInstanceOf(RecordingClient);
    expect(await tryJoin(gw.url, token('u3', 't2', t + 500))).toBeInstanceOf(RecordingClient);
    expect(await tryJoin(gw.url, signed({ sub: 'u4', room: 't2', exp: t + 60, iat: 'yesterday' }))).toMatchObject({ code: CloseCode.TokenInvalid });
  });
});

describe('rejoin block after a kick', () => {
  it('refuses the kicked user (same token or a new one, on either gateway) with 4403 for KICK_REJOIN_BLOCK_SECONDS, then admits it', async () => {
    const exchange = new MemoryExchange();
    const env = { KICK_REJOIN_BLOCK_SECONDS: '2', NODE_BEAT_INTERVAL_MS: '100', NODE_TIMEOUT_MS: '1000', CLUSTER_SYNC_TIMEOUT_MS: '300' };
    const one = await start({ ...env, NODE_ID: 'gw-kick-1' }, exchange);
    const two = await start({ ...env, NODE_ID: 'gw-kick-2' }, exchange);
    const host = (await tryJoin(one.url, joinToken('host', 'k1', 'host'))) as RecordingClient;
    const bobToken = joinToken('bob', 'k1');
    const bob = (await tryJoin(two.url, bobToken)) as RecordingClient;
    await waitFor('the host to see bob', () => host.rosterUsers().includes('bob'));
    host.kick(bob.self!.sid);
    expect((await bob.waitClosed()).code).toBe(CloseCode.Kicked);
    const kickedAt = Date.now();

    const again = await tryJoin(two.url, bobToken); // the same token, at once, on the node that held it
    expect(again).toMatchObject({
      code: CloseCode.Kicked,
      reason: expect.stringMatching(/^kicked from this room; you may join it again after \d{4}-\d\d-\d\dT/),
    });
    const until = Date.parse((again as { reason: string }).reason.split('after ')[1]!);
    expect(until - kickedAt).toBeGreaterThan(1000);
    expect(until - kickedAt).toBeLessThanOrEqual(2000);
    expect(await tryJoin(one.url, joinToken('bob', 'k1', 'host'))).toMatchObject({ code: CloseCode.Kicked }); // a new token, the other node
    // Others are not affected: another user in that room, bob in another room.
    expect(await tryJoin(one.url, joinToken('carol', 'k1'))).toBeInstanceOf(RecordingClient);
    expect(await tryJoin(two.url, joinToken('bob', 'k2'))).toBeInstanceOf(RecordingClient);
    expect(host.rosterUsers()).not.toContain('bob');

    await sleep(Math.max(0, until - Date.now()) + 300);
    // Log time moves with entries (the nodes' beats): after the block, bob is admitted again.
    const back = await tryJoin(two.url, bobToken);
    expect(back).toBeInstanceOf(RecordingClient);
    await waitFor('the host to see bob back', () => host.rosterUsers().includes('bob'));
  });

  it('the SDK of a member kicked while disconnected does not sneak back: resume 4404, its rejoin refused with 4403, closed as kicked', async () => {
    const gw = await start({ NODE_ID: 'gw-kick-sdk', RESUME_GRACE_MS: '10000', DRAIN_SPREAD_MS: '0' });
    const host = (await tryJoin(gw.url, joinToken('host', 'k4', 'host'))) as RecordingClient;
    let rejoins = 0;
    const dan = new VoiceRoomClient(gw.url, {
      WebSocket: WebSocket as unknown as WebSocketFactory,
      reconnect: { minDelayMs: 1000, rejoin: async () => (rejoins++, joinToken('dan', 'k4')) },
    });
    clients.push(dan);
    const states: [ConnectionState, StateInfo][] = [];
    dan.on('state', (state, info) => states.push([state, info]));
    await dan.connect(joinToken('dan', 'k4'));
    const sid = dan.self!.sid;
    await waitFor('the host to see dan', () => host.rosterUsers().includes('dan'));
    dan.drop(); // detached: it keeps its place and will try to resume after 0.5–1 s
    await waitFor('dan reconnecting', () => dan.state === 'reconnecting');
    host.kick(sid);
    await waitFor('dan closed', () => dan.state === 'closed', 10_000);
    expect(rejoins).toBe(1);
    expect(states.map(([state]) => state)).toEqual(['connecting', 'live', 'reconnecting', 'reconnecting', 'closed']);
    expect(states.slice(3).map(([, info]) => info.code)).toEqual([CloseCode.ResumeFailed, CloseCode.Kicked]);
    expect(states.at(-1)?.[1]).toMatchObject({
      description: 'a host or an administrator removed you from the room',
      reason: expect.stringContaining('kicked from this room'),
    });
    expect(host.rosterUsers()).toEqual([]);
  });

  it('KICK_REJOIN_BLOCK_SECONDS=0: a kicked user may join again at once', async () => {
    const gw = await start({ NODE_ID: 'gw-kick-0', KICK_REJOIN_BLOCK_SECONDS: '0' });
    const host = (await tryJoin(gw.url, joinToken('host', 'k3', 'host'))) as RecordingClient;
    const bob = (await tryJoin(gw.url, joinToken('bob', 'k3'))) as RecordingClient;
    await waitFor('the host to see bob', () => host.rosterUsers().includes('bob'));
    host.kick(bob.self!.sid);
    expect((await bob.waitClosed()).code).toBe(CloseCode.Kicked);
    expect(await tryJoin(gw.url, joinToken('bob', 'k3'))).toBeInstanceOf(RecordingClient);
  });
});
