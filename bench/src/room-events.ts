/**
 * Event-lane benchmark: how long a join takes (socket open → `joined`, through the cluster's
 * event log) and how long a room event takes to reach every member (chat send → receipt), with
 * members spread over 1 or 2 gateway processes joined by RocketMQ. See docs/benchmarks.md.
 *
 *   npm run bench:events -- --rooms 20 --members 20 --chats 20 --nodes 2
 *
 * Needs RocketMQ up (bash rocketmq/rocketmq.sh up) unless --nodes 1 --bus memory.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { VoiceRoomClient, type WebSocketFactory } from '@voiceroom/client';
import { GatewayProcess, joinToken, requireRocketMQ, sleep } from '@voiceroom/testkit';
import { Histogram } from './histogram';
import { cpuSeconds } from './proc';

interface Options {
  rooms: number;
  members: number;
  chats: number;
  nodes: number;
  bus: 'memory' | 'rocketmq';
  out: string | undefined;
}

function parse(argv: string[]): Options {
  const o: Options = { rooms: 20, members: 20, chats: 20, nodes: 2, bus: 'rocketmq', out: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--rooms') o.rooms = Number(value);
    else if (flag === '--members') o.members = Number(value);
    else if (flag === '--chats') o.chats = Number(value);
    else if (flag === '--nodes') o.nodes = Number(value);
    else if (flag === '--bus' && (value === 'memory' || value === 'rocketmq')) o.bus = value;
    else if (flag === '--out') o.out = value;
    else throw new Error(`unknown option ${flag} (options: --rooms --members --chats --nodes --bus memory|rocketmq --out file)`);
  }
  if (o.bus === 'memory' && o.nodes !== 1) throw new Error('--bus memory runs one node: use --nodes 1');
  if (o.members > 50) throw new Error('--members is at most 50 (the room capacity)');
  return o;
}

const log = (line: string) => process.stderr.write(`[bench:events] ${line}\n`);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.bus === 'rocketmq') await requireRocketMQ();
  const gateways: GatewayProcess[] = [];
  const clients: VoiceRoomClient[] = [];
  try {
    // Every simulated client connects from 127.0.0.1.
    const env = { BUS: o.bus, ROOM_CAPACITY: '50', COMMANDS_PER_SEC: '10', MAX_CONNECTIONS_PER_IP: '100000' };
    gateways.push(...(await Promise.all([...Array(o.nodes).keys()].map((i) => GatewayProcess.start({ nodeId: `bench-ev-${i + 1}`, bus: o.bus, env })))));
    log(`${o.nodes} gateway(s) ready (${o.bus}); joining ${o.rooms} rooms × ${o.members} members`);
    const cpuStart = gateways.map((g) => cpuSeconds(g.pid ?? 0));

    const joins = new Histogram(0.5, 10_000);
    const members: { client: VoiceRoomClient; room: number; node: number }[] = [];
    const all = [...Array(o.rooms * o.members).keys()];
    const joinStart = performance.now();
    for (let batch = 0; batch < all.length; batch += 50) {
      await Promise.all(
        all.slice(batch, batch + 50).map(async (i) => {
          const room = Math.floor(i / o.members);
          const node = i % o.nodes;
          const client = new VoiceRoomClient(gateways[node]!.wsUrl, { WebSocket: WebSocket as unknown as WebSocketFactory });
          clients.push(client);
          const started = performance.now();
          await client.connect(joinToken(`u${i}`, `bench-ev-${room}`, i % o.members === 0 ? 'host' : 'listener'));
          joins.record(performance.now() - started);
          members.push({ client, room, node });
        }),
      );
    }
    const joinSeconds = (performance.now() - joinStart) / 1000;
    await sleep(1000); // let the last member_joined events settle

    // Each room's host sends `chats` messages, 4 a second; every member times each one.
    const sameNode = new Histogram(0.5, 10_000);
    const crossNode = new Histogram(0.5, 10_000);
    let received = 0;
    for (const m of members) {
      m.client.on('chat', (chat) => {
        const [, sentAt, fromNode] = chat.text.split('|');
        const latency = performance.timeOrigin + performance.now() - Number(sentAt);
        (Number(fromNode) === m.node ? sameNode : crossNode).record(latency);
        received++;
      });
    }
    const hosts = members.filter((m) => m.client.self?.role === 'host');
    const chatStart = performance.now();
    for (let k = 0; k < o.chats; k++) {
      for (const h of hosts) h.client.chat(`c${k}|${performance.timeOrigin + performance.now()}|${h.node}`);
      await sleep(250);
    }
    const expected = hosts.length * o.chats * o.members; // the sender gets its own chat too (it carries the seq)
    const deadline = Date.now() + 20_000;
    while (received < expected && Date.now() < deadline) await sleep(100);
    const chatSeconds = (performance.now() - chatStart) / 1000;
    const cpu = gateways.map((g, i) => cpuSeconds(g.pid ?? 0) - (cpuStart[i] ?? 0));

    const fmt = (h: Histogram) => {
      const s = h.summary();
      return `n=${s.n} p50=${s.p50} p90=${s.p90} p99=${s.p99} max=${s.max.toFixed(1)} ms`;
    };
    const result = {
      options: o,
      joins: joins.summary(),
      joinsPerSecond: Math.round((o.rooms * o.members) / joinSeconds),
      chatDeliveries: { expected, received, sameNode: sameNode.summary(), crossNode: crossNode.summary() },
      chatSeconds,
      gatewayCpuSeconds: cpu,
    };
    process.stdout.write(
      [
        `joins (open → joined): ${fmt(joins)}; ${result.joinsPerSecond} joins/s`,
        `chat → member, same node:  ${fmt(sameNode)}`,
        `chat → member, cross node: ${fmt(crossNode)}`,
        `delivered ${received} of ${expected} chat copies; gateway CPU s: ${cpu.map((c) => c.toFixed(1)).join(', ')}`,
      ].join('\n') + '\n',
    );
    if (o.out) writeFileSync(o.out, JSON.stringify(result, null, 2));
  } finally {
    for (const c of clients) c.close();
    await Promise.allSettled(gateways.map((g) => g.stop()));
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
