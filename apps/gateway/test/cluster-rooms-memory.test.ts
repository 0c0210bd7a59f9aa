/**
 * The cross-node room scenarios (room-scenarios.ts) with both gateways in this process, joined by
 * one memory exchange (libs/bus): real WebSocket clients, real sessions, relays and replicas, no
 * RocketMQ and no database. In `npm run test:unit`; cluster-rooms.test.ts runs the same scenarios
 * on two processes over RocketMQ.
 */
import type { FastifyInstance } from 'fastify';
import { MemoryExchange } from '@voiceroom/bus';
import { waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { CLUSTER_TEST_ENV, roomScenarios, type ScenarioGateway } from './room-scenarios';

/** A gateway of this process as the scenarios see it; /metrics read through inject. */
function inProcess(app: FastifyInstance, wsUrl: string): ScenarioGateway {
  return {
    wsUrl,
    async metric(name: string): Promise<number> {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      if (line === undefined) throw new Error(`no series ${name} on /metrics`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    },
  };
}

roomScenarios(async () => {
  const exchange = new MemoryExchange();
  const started = await Promise.all(
    ['mem-rooms-1', 'mem-rooms-2'].map((id) => startGateway({ ...CLUSTER_TEST_ENV, NODE_ID: id, DRAIN_SPREAD_MS: '0' }, { exchange })),
  );
  const apps = started.map((s) => s.app);
  await waitFor('both gateways in sync and ready', () => apps.every((app) => app.gateway.isReady() && app.gateway.state.size.nodes === 2), 15_000);
  const [one, two] = started as [(typeof started)[0], (typeof started)[0]];
  return {
    gateways: [inProcess(one.app, one.url), inProcess(two.app, two.url)],
    stop: async () => {
      await Promise.all(apps.map((app) => app.close()));
    },
  };
});
