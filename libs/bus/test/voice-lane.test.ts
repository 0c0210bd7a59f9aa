/**
 * The voice lane's own promises against the real broker (`npm test` starts it): a node never gets
 * its own voice back, and a lost broker connection comes back by itself.
 */
import type { RoomId } from '@voiceroom/protocol';
import { requireRocketMQ, ROCKETMQ_NAMESRV_ADDR, TcpProxy, VOICE_TOPIC, waitFor } from '@voiceroom/testkit';
import { Recorder, awaitLink } from '@voiceroom/bus/testing';
import { rocketBus, testLog as log } from './rocketmq-test-bus';
import { BrokerLink } from '../src/remoting/broker-link';
import { RequestCode, ResponseCode } from '../src/remoting/remoting-codec';
import { fetchTopicRoute } from '../src/remoting/topic-route';

const RUN = Date.now().toString(36);

beforeAll(async () => {
  await requireRocketMQ();
});

describe('voice lane (remoting pull)', () => {
  it("never brings a node its own voice back from the broker, and brings it every other node's", async () => {
    const bus = (id: string) => rocketBus(`${id}-${RUN}`);
    const a = bus('echo-a');
    const b = bus('echo-b');
    const [atA, atB] = [new Recorder(), new Recorder()];
    try {
      await Promise.all([a.start(atA), b.start(atB)]);
      await awaitLink(a, atB, 30_000);
      for (let i = 0; i < 40; i++) {
        a.publishVoice('echo' as RoomId, Buffer.from(`a-${i}`));
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor('b to hear a', async () => (atB.voice('echo').length >= 40 ? true : undefined), 20_000, 50);
      // Let anything that could still come back arrive.
      await new Promise((r) => setTimeout(r, 500));
      expect(atB.voice('echo').map((v) => v.bytes.toString())).toEqual([...Array(40).keys()].map((i) => `a-${i}`));
      expect(a.stats().voiceMessagesPublished).toBeGreaterThan(0);
      // The broker filtered a's own messages out of a's pulls (enablePropertyFilter=true).
      expect(a.stats().ownMessagesDropped).toBe(0);
      expect(a.stats().voiceMessagesReceived).toBe(0);
      expect(atA.voice('echo')).toHaveLength(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('reconnects to a broker it lost and calls its owner back to restart the pulls', async () => {
    const [target] = await fetchTopicRoute(ROCKETMQ_NAMESRV_ADDR.split(';'), VOICE_TOPIC, 3000);
    const [host, port] = (target?.address ?? '').split(':');
    const proxy = new TcpProxy(host as string, Number(port));
    await proxy.start();
    let ups = 0;
    const link = new BrokerLink(`127.0.0.1:${proxy.port}`, 3000, log, () => ups++);
    const tail = () => link.request(RequestCode.GET_MAX_OFFSET, { topic: VOICE_TOPIC, queueId: 0 }, undefined, 3000);
    try {
      await link.open();
      expect((await tail()).code).toBe(ResponseCode.SUCCESS);
      proxy.cut();
      await waitFor('the link to notice', async () => (link.isUp ? undefined : true), 5000, 20);
      // Refused at once ("no connection"), not after the request timeout: voice never waits for a broker.
      await expect(tail()).rejects.toThrow(/no connection/);
      proxy.restore();
      await waitFor('the link to come back', async () => (ups > 0 ? true : undefined), 10_000, 20);
      expect(link.isUp).toBe(true);
      expect((await tail()).code).toBe(ResponseCode.SUCCESS);
    } finally {
      link.close();
      await proxy.stop();
    }
  });
});
