/**
 * The event log read by offset (remoting pull) against the real broker (`npm test` starts it):
 * a node whose broker connection drops gets every event stored meanwhile, in order, once; and
 * node ids that come and go leave no consumer group behind on the broker.
 */
import { EVENT_TOPIC, requireRocketMQ, ROCKETMQ_NAMESRV_ADDR, TcpProxy, waitFor } from '@voiceroom/testkit';
import { awaitLink, Recorder } from '@voiceroom/bus/testing';
import { rocketBus, testLog as log } from './rocketmq-test-bus';
import { parseLenientJson, RequestCode, ResponseCode } from '../src/remoting/remoting-codec';
import { RemotingConnection } from '../src/remoting/remoting-connection';
import { fetchTopicRoute } from '../src/remoting/topic-route';
import type { RocketMQBus } from '../src/rocketmq-bus';

const RUN = Date.now().toString(36);

beforeAll(async () => {
  await requireRocketMQ();
});

async function eventBroker(): Promise<string> {
  const [target] = await fetchTopicRoute(ROCKETMQ_NAMESRV_ADDR.split(';'), EVENT_TOPIC, 3000);
  if (!target) throw new Error(`no route for ${EVENT_TOPIC}`);
  return target.address;
}

/** The consumer groups the broker knows (what `mqadmin consumerProgress` would list). */
async function brokerGroups(address: string): Promise<string[]> {
  const connection = await RemotingConnection.open(address, 3000, () => undefined);
  try {
    const response = await connection.request(RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG, {}, undefined, 3000);
    expect(response.code).toBe(ResponseCode.SUCCESS);
    const table = parseLenientJson<{ subscriptionGroupTable: Record<string, unknown> }>((response.body as Buffer).toString('utf8'));
    return Object.keys(table.subscriptionGroupTable);
  } finally {
    connection.close();
  }
}

describe('event log (remoting pull by offset)', () => {
  it('brings a node every event stored while its broker connection was cut, in order and once, when it is back', async () => {
    const broker = await eventBroker();
    const [host, port] = broker.split(':');
    const proxy = new TcpProxy(host as string, Number(port));
    await proxy.start();
    const cutOff = rocketBus(`cut-${RUN}`, { brokerAddressMap: { [broker]: `127.0.0.1:${proxy.port}` } });
    const writer = rocketBus(`writer-${RUN}`);
    const [atCut, atWriter] = [new Recorder(), new Recorder()];
    try {
      await Promise.all([cutOff.start(atCut), writer.start(atWriter)]);
      await awaitLink(writer, atCut, 30_000);
      proxy.cut();
      const sent: string[] = [];
      for (let i = 0; i < 60; i++) {
        const text = `during-${i}`;
        await writer.publishEvent(Buffer.from(text)); // stored by the broker (the writer is not cut)
        sent.push(text);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(atCut.events('during-')).toHaveLength(0); // nothing got through the cut
      proxy.restore();
      await waitFor('the cut node to catch up', async () => (atCut.events('during-').length >= sent.length ? true : undefined), 30_000, 50);
      await new Promise((r) => setTimeout(r, 300)); // room for duplicates to show up
      expect(atCut.events('during-').map((e) => e.bytes.toString())).toEqual(sent);
      // Positions as the writer saw them: the same log, no position skipped or repeated.
      const positions = (rec: Recorder) => rec.events('during-').map((e) => `${e.position}/${e.index}`);
      expect(positions(atCut)).toEqual(positions(atWriter));
      const all = atCut.received.filter((r) => r.lane === 'event');
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1]!, all[i]!];
        expect(b.index === a.index + 1 ? b.position === a.position : b.position === a.position + 1 && b.index === 0).toBe(true);
      }
    } finally {
      await Promise.all([cutOff.close(), writer.close()]);
      await proxy.stop();
    }
  }, 90_000);

  it('leaves no consumer group behind per node id: many nodes coming and going share two groups', async () => {
    const broker = await eventBroker();
    const prefix = `voiceroom-test-groups-${RUN}-`;
    const startAndClose = async (nodeId: string) => {
      const bus: RocketMQBus = rocketBus(nodeId, { consumerGroupPrefix: prefix });
      const rec = new Recorder();
      await bus.start(rec);
      await awaitLink(bus, rec, 30_000); // it pulled the log (and so used its group)
      await bus.close();
    };
    await startAndClose(`first-${RUN}`);
    const after1 = await brokerGroups(broker);
    const ours = after1.filter((g) => g.startsWith(prefix)).sort();
    expect(ours).toEqual([`${prefix}events`, `${prefix}voice`]);
    for (let i = 0; i < 6; i++) await startAndClose(`node-${RUN}-${i}`);
    const after7 = await brokerGroups(broker);
    expect(after7.filter((g) => g.startsWith(prefix)).sort()).toEqual(ours);
    log.debug({ groups: after7.length }, 'groups on the broker');
  }, 120_000);
});
