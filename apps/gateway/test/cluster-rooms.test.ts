/**
 * A room behaves as one room whichever gateway each member is on: two gateway PROCESSES joined
 * only by the real RocketMQ (started by `npm test`). The scenarios are room-scenarios.ts; they
 * run in-process on a memory exchange too (cluster-rooms-memory.test.ts).
 */
import { GatewayProcess, requireRocketMQ } from '@voiceroom/testkit';
import { CLUSTER_TEST_ENV, roomScenarios } from './room-scenarios';

roomScenarios(async () => {
  await requireRocketMQ();
  const gateways = await Promise.all([
    GatewayProcess.start({ nodeId: 'e2e-rooms-1', env: CLUSTER_TEST_ENV }),
    GatewayProcess.start({ nodeId: 'e2e-rooms-2', env: CLUSTER_TEST_ENV }),
  ]);
  return {
    gateways: [gateways[0], gateways[1]],
    stop: async () => {
      await Promise.all(gateways.map((g) => g.stop()));
    },
  };
});
