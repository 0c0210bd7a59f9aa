import { busContractSuite } from '@voiceroom/bus/testing';
import { MemoryBus, MemoryExchange } from './memory-bus';
import type { NodeId } from '@voiceroom/protocol';

busContractSuite('memory', () => {
  const exchange = new MemoryExchange();
  return { create: (nodeId) => new MemoryBus(nodeId as NodeId, exchange) };
});
