/**
 * RocketMQ goes down and comes back in the middle of a conversation. Same-node audio must not
 * notice; cross-node audio must come back by itself; no gateway may crash; nobody is dropped
 * from the room for the broker's silence; a command sent while it was down takes effect after.
 */
import { GatewayProcess, joinToken, RecordingClient, requireRocketMQ, rocketmqScript, sleep, waitFor } from '@voiceroom/testkit';

let gw1: GatewayProcess;
let gw2: GatewayProcess;
const clients: RecordingClient[] = [];

beforeAll(async () => {
  await requireRocketMQ();
  [gw1, gw2] = await Promise.all([GatewayProcess.start({ nodeId: 'restart-gw-1' }), GatewayProcess.start({ nodeId: 'restart-gw-2' })]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([gw1?.stop(), gw2?.stop()]);
  await rocketmqScript('up'); // leave the broker as the suite expects it, whatever happened
});

it('keeps same-node audio through a RocketMQ restart and recovers cross-node audio by itself', async () => {
  const join = async (gw: GatewayProcess, user: string) => {
    const c = await RecordingClient.join(gw.wsUrl, joinToken(user, 'restart'));
    clients.push(c);
    return c;
  };
  const alice = await join(gw1, 'alice');
  const carol = await join(gw1, 'carol');
  const bob = await join(gw2, 'bob');

  // Alice talks for the whole test at 50 frames/s.
  let talking = true;
  let seq = 0;
  const talk = (async () => {
    while (talking) await alice.speak(1, 0xa, 20, seq++);
  })();

  try {
    await waitFor('bob hears alice across nodes', () => bob.heard.length > 10, 45_000);

    const downAt = Date.now();
    await rocketmqScript('down');
    process.stdout.write(`RocketMQ down in ${Date.now() - downAt} ms\n`);
    expect(gw1.alive && gw2.alive).toBe(true);
    const carolBefore = carol.heard.length;
    const bobAfterDown = bob.heard.length;
    await sleep(3000);
    // Same node: about 150 frames in 3 s; allow generous slack for a loaded machine.
    expect(carol.heard.length - carolBefore).toBeGreaterThan(100);
    expect(bob.heard.length - bobAfterDown).toBeLessThan(30); // only what was already in flight

    bob.chat('sent while the broker is down'); // queued by gw2, stored once the broker is back

    await rocketmqScript('up');
    const bobAtUp = bob.heard.length;
    const upAt = Date.now();
    await waitFor('cross-node audio to come back', () => bob.heard.length > bobAtUp + 50, 90_000, 100);
    process.stdout.write(`cross-node audio resumed ${Date.now() - upAt} ms after RocketMQ was up again\n`);
    expect(gw1.alive && gw2.alive).toBe(true);
    expect(carol.closeInfo).toBeUndefined();
    expect(bob.closeInfo).toBeUndefined();

    // Frames that arrive after the restart are still in order.
    const seqs = bob.heard.slice(bobAtUp).map((h) => h.sequence);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));

    // The room survived the outage: the queued chat arrives, nobody left, the roster is whole.
    await waitFor('the chat sent during the outage', () => alice.chats.some((c) => c.text === 'sent while the broker is down'), 30_000);
    await sleep(2000);
    for (const c of [alice, carol, bob]) expect(c.events.filter((e) => e.startsWith('left:'))).toEqual([]);
    expect(alice.rosterUsers()).toEqual(['bob', 'carol']);
  } catch (error) {
    for (const gw of [gw1, gw2]) process.stdout.write(`--- ${gw.nodeId} warnings/errors ---\n${gw.problems().slice(-40).join('\n')}\n`);
    throw error;
  } finally {
    talking = false;
    await talk;
  }
}, 240_000);
