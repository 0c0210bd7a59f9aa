import type { Logger, NodeId } from '@voiceroom/protocol';
import type { Bus } from './bus';
import { MemoryBus, MemoryExchange } from './memory-bus';
import { RocketMQBus, type RocketMQBusOptions } from './rocketmq-bus';

export type BusConfig = { kind: 'memory'; exchange?: MemoryExchange } | ({ kind: 'rocketmq' } & Omit<RocketMQBusOptions, 'nodeId' | 'log'>);

/** The one place that chooses a bus implementation. */
export function createBus(nodeId: NodeId, config: BusConfig, log: Logger): Bus {
  switch (config.kind) {
    case 'memory':
      return new MemoryBus(nodeId, config.exchange ?? new MemoryExchange());
    case 'rocketmq': {
      const { kind: _kind, ...options } = config;
      return new RocketMQBus({ nodeId, log, ...options });
    }
  }
}
