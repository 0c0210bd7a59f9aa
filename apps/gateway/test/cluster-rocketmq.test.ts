/**
 * Two gateway PROCESSES joined only by the real RocketMQ (started by `npm test`).
 */
import { CloseCode } from '@voiceroom/protocol';
import {
  awaitVoicePath as awaitVoicePathOf,
  GatewayProcess,
  joinToken,
  RecordingClient,
  requireRocketMQ,
  sleep,
  unsignedToken,
  waitFor,
} from '@voiceroom/testkit';

const gateways: GatewayProcess[] = [];
const clients: RecordingClient[] = [];
let gw1: GatewayProcess;
let gw2: GatewayProcess;

async function join(gateway: GatewayProcess, user: string, room: string): Promise<RecordingClient> {
  const client = await RecordingClient.join(gateway.wsUrl, joinToken(user, room));
  clients.push(client);
  return client;
}

const awaitVoicePath = (speaker: RecordingClient, listener: RecordingClient) => awaitVoicePathOf(speaker, listener, clients);

beforeAll(async () => {
  await requireRocketMQ();
  [gw1, gw2] = await Promise.all([GatewayProcess.start({ nodeId: 'e2e-gw-1' }), GatewayProcess.start({ nodeId: 'e2e-gw-2' })]);
  gateways.push(gw1, gw2);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
});

describe('voice across two gateway processes over RocketMQ', () => {
  it('members on both nodes hear each other: every frame once, in order per speaker, never their own, nothing from other rooms', async () => {
    const alice = await join(gw1, 'alice', 'x1');
    const carol = await join(gw1, 'carol', 'x1');
    const bob = await join(gw2, 'bob', 'x1');
    const dave = await join(gw2, 'dave', 'x2');
    const erin = await join(gw1, 'erin', 'x2');
    await awaitVoicePath(alice, bob);
    await awaitVoicePath(bob, alice);

    // Both speak at once at 50 frames/s, as two people talking over each other.
    await Promise.all([alice.speak(100, 0xa11ce, 20), bob.speak(100, 0xb0b, 20)]);
    await waitFor(
      'all frames heard',
      () =>
        bob.heardFrom(alice.sid).length >= 100 &&
        carol.heardFrom(alice.sid).length >= 100 &&
        alice.heardFrom(bob.sid).length >= 100 &&
        carol.heardFrom(bob.sid).length >= 100,
      20_000,
    );
    await sleep(1000); // duplicates, if any, would show up now

    const indices = (heard: { payload: Buffer }[]) => heard.map((h) => h.payload.readUInt32BE(4));
    const expected = [...Array(100).keys()];
    expect(indices(bob.heardFrom(alice.sid))).toEqual(expected); // cross-node
    expect(indices(carol.heardFrom(alice.sid))).toEqual(expected); // same node
    expect(indices(alice.heardFrom(bob.sid))).toEqual(expected); // cross-node, other direction
    expect(indices(carol.heardFrom(bob.sid))).toEqual(expected); // cross-node to a silent member
    expect(bob.heardFrom(alice.sid).every((h) => h.payload.readUInt32BE(0) === 0xa11ce)).toBe(true);
    expect(alice.heardFrom(alice.sid)).toHaveLength(0);
    expect(bob.heardFrom(bob.sid)).toHaveLength(0);
    expect(dave.heard).toHaveLength(0);
    expect(erin.heard).toHaveLength(0);
  });

  it('shows members of the other node in the roster and announces joins and leaves across nodes', async () => {
    const alice = await join(gw1, 'alice', 'x3');
    await waitFor(
      'gw2 to learn of alice',
      async () => {
        const probe = await join(gw2, `probe-${Date.now()}`, 'x3');
        const seen = probe.joined?.members.some((m) => m.userId === 'alice');
        probe.close();
        return seen;
      },
      30_000,
      200,
    );
    const bob = await join(gw2, 'bob', 'x3');
    expect(bob.joined?.members.map((m) => m.userId)).toContain('alice');
    await waitFor('alice hears bob join', () => alice.events.includes('joined:bob'), 15_000);
    bob.close();
    await waitFor('alice hears bob leave', () => alice.events.includes('left:bob'), 15_000);
  });

  it('refuses forged tokens on either node', async () => {
    for (const gateway of [gw1, gw2]) {
      await expect(RecordingClient.join(gateway.wsUrl, unsignedToken('mallory', 'x1'))).rejects.toMatchObject({ code: CloseCode.TokenInvalid });
      await expect(
        RecordingClient.join(gateway.wsUrl, joinToken('mallory', 'x1', 'host', { secret: 'not-the-cluster-secret-0123456789abc' })),
      ).rejects.toMatchObject({ code: CloseCode.TokenInvalid });
    }
  });

  it('a node started after frames were published does not play them', async () => {
    const alice = await join(gw1, 'alice', 'x4');
    const bob = await join(gw2, 'bob', 'x4');
    await awaitVoicePath(alice, bob);
    await alice.speak(50, 0x01d, 10); // published before gw3 exists
    await waitFor('bob hears the old frames', () => bob.heardFrom(alice.sid).length >= 50, 15_000);

    const gw3 = await GatewayProcess.start({ nodeId: 'e2e-gw-3' });
    gateways.push(gw3);
    const late = await join(gw3, 'late', 'x4'); // joins as soon as gw3 is ready, before its consumer warms up
    await awaitVoicePath(alice, late);
    await alice.speak(20, 0x2e3, 20);
    await waitFor('late hears new frames', () => late.heardFrom(alice.sid).length >= 20, 15_000);
    await sleep(500);
    const tags = late.heard.map((h) => h.payload.readUInt32BE(0));
    expect(tags).not.toContain(0x01d);
    expect(tags.filter((t) => t === 0x2e3)).toHaveLength(20);
    await gw3.stop();
  });
});
