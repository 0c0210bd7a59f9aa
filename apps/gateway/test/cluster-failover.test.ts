/**
 * Nodes coming and going under live rooms: a late node syncing from a snapshot, a SIGTERM drain
 * whose clients resume elsewhere, and a killed node whose members time out. Gateway PROCESSES
 * joined by the real RocketMQ (started by `npm test`).
 */
import { CloseCode } from '@voiceroom/protocol';
import { FAST_CLUSTER_ENV, GatewayProcess, joinToken, RecordingClient, requireRocketMQ, sleep, waitFor, type TestRole } from '@voiceroom/testkit';

const RUN = Date.now().toString(36);
const room = (name: string) => `${name}-${RUN}`;
const ENV = { ...FAST_CLUSTER_ENV, RESUME_GRACE_MS: '3000', DRAIN_SPREAD_MS: '1000' };

const gateways: GatewayProcess[] = [];
const clients: RecordingClient[] = [];
let gw1: GatewayProcess;
let gw2: GatewayProcess;

async function join(gateway: GatewayProcess, user: string, roomName: string, role: TestRole = 'speaker'): Promise<RecordingClient> {
  const client = new RecordingClient(gateway.wsUrl);
  clients.push(client);
  await client.connect(joinToken(user, roomName, role));
  return client;
}

async function startGateway(nodeId: string): Promise<GatewayProcess> {
  const gateway = await GatewayProcess.start({ nodeId, env: ENV });
  gateways.push(gateway);
  return gateway;
}

beforeAll(async () => {
  await requireRocketMQ();
  [gw1, gw2] = await Promise.all([startGateway('e2e-fo-1'), startGateway('e2e-fo-2')]);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
});

it('a node started later loads the rooms from a snapshot: its joiners see the whole room as it is', async () => {
  const r = room('late');
  const host = await join(gw1, 'host', r, 'host');
  const bob = await join(gw2, 'bob', r, 'speaker');
  host.mute(bob.sid);
  await waitFor('bob muted', () => bob.self?.muted === true, 10_000);

  const gw3 = await startGateway('e2e-fo-3');
  const carol = await join(gw3, 'carol', r, 'listener');
  expect(carol.view()).toEqual(['bob:speaker:muted:-', 'carol:listener:open:-', 'host:host:open:-']);
  await waitFor('the others see carol', () => host.members.has(carol.sid) && bob.members.has(carol.sid), 10_000);
  expect(host.seq).toBe(carol.joined?.seq); // her join is the same room event everywhere
  carol.chat('from the late node');
  await waitFor('chat across', () => host.chats.some((c) => c.text === 'from the late node'), 10_000);
  await gw3.stop();
});

it('SIGTERM drains a node: its clients are told to resume elsewhere, keep their places, peers see no leave or join, and it exits in time', async () => {
  const r = room('drain');
  const draining = await startGateway('e2e-fo-4');
  const watcher = await join(gw1, 'watcher', r, 'host');
  const movers = await Promise.all(['m1', 'm2', 'm3'].map((u) => join(draining, u, r, 'speaker')));
  watcher.mute(movers[0]!.sid);
  await waitFor('m1 muted', () => movers[0]?.self?.muted === true, 10_000);
  const sids = movers.map((m) => m.sid);
  const goaways: string[] = [];
  const resumed: Promise<void>[] = [];
  for (const mover of movers) {
    mover.on('goaway', (g) => goaways.push(g.reason));
    mover.on('close', (info) => {
      if (info.code === CloseCode.Reconnect) resumed.push(mover.resumeOn(gw2.wsUrl));
    });
  }
  const seenBefore = watcher.events.length;

  await draining.stop();
  expect(draining.exitCode).toBe(0); // drained before SHUTDOWN_DEADLINE_MS (it exits 1 past it)
  expect(goaways).toEqual(['draining', 'draining', 'draining']);
  await waitFor('three resumes started', () => resumed.length === 3, 10_000);
  await Promise.all(resumed);
  expect(movers.map((m) => m.sid)).toEqual(sids);
  expect(movers[0]?.self?.muted).toBe(true);
  await sleep(1000);
  expect(watcher.events.slice(seenBefore)).toEqual([]);
  expect(watcher.rosterUsers()).toEqual(['m1', 'm2', 'm3']);
});

it('a node frozen past its timeout takes its connected members back when it wakes: they stay, peers see nothing', async () => {
  const r = room('frozen');
  const frozen = await startGateway('e2e-fo-6');
  const watcher = await join(gw1, 'watcher', r, 'listener');
  const bob = await join(frozen, 'bob', r, 'speaker');
  await waitFor('bob seen', () => watcher.members.has(bob.sid), 10_000);
  const seenBefore = watcher.events.length;

  frozen.pause(); // no beats for longer than NODE_TIMEOUT_MS (3 s), shorter than timeout + grace
  await sleep(4500);
  frozen.unpause();
  await waitFor('the frozen node to notice its loss', () => frozen.problems().some((l) => l.includes('declared lost')), 15_000);
  await waitFor('bob re-attached', () => frozen.output.some((l) => l.includes('member re-attached')), 15_000);
  bob.chat('still here');
  await waitFor("bob's chat reaches the watcher", () => watcher.chats.some((c) => c.text === 'still here'), 10_000);
  await sleep(4000); // past the grace period: a detached bob would have timed out by now
  expect(bob.closeInfo).toBeUndefined();
  expect(watcher.events.slice(seenBefore)).toEqual([]);
  await frozen.stop();
});

it("a killed node's members leave every roster after the node timeout and the grace, reported once", async () => {
  const r = room('kill');
  const doomed = await startGateway('e2e-fo-5');
  const watcher1 = await join(gw1, 'w1', r, 'listener');
  const watcher2 = await join(gw2, 'w2', r, 'listener');
  await join(doomed, 'k1', r, 'listener');
  await join(doomed, 'k2', r, 'listener');
  await waitFor('both seen', () => watcher1.members.size === 3 && watcher2.members.size === 3, 10_000);

  await doomed.kill(); // SIGKILL: no drain, no bye; its clients' sockets just die
  await sleep(2000);
  expect(watcher1.events.filter((e) => e.startsWith('left:'))).toEqual([]); // not before the timeout
  await waitFor(
    'both leave everywhere',
    () => ['k1:timeout', 'k2:timeout'].every((l) => watcher1.leaveReasons.includes(l) && watcher2.leaveReasons.includes(l)),
    20_000,
  );
  await sleep(1500);
  expect(watcher1.events.filter((e) => e.startsWith('left:')).sort()).toEqual(['left:k1', 'left:k2']);
  expect(watcher2.events.filter((e) => e.startsWith('left:')).sort()).toEqual(['left:k1', 'left:k2']);
  expect(watcher1.rosterUsers()).toEqual(['w2']);
});
