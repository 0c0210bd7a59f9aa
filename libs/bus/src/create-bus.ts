import type { NodeId } from '@voiceroom/protocol';
import type { Bus } from './bus';
import { MemoryBus, MemoryExchange } from './memory-bus';
import { RocketMQBus, type BusLogger } from './rocketmq-bus';

export type BusConfig =
  | { kind: 'memory'; exchange?: MemoryExchange }
  | {
      kind: 'rocketmq';
      endpoints: string;
      voiceTopic: string;
      eventTopic: string;
      consumerGroupPrefix: string;
      namespace?: string;
      maxVoiceMessagesPerSecond: number;
      maxVoiceBatchBytes: number;
      voiceDeadlineMs: number;
    };

/** The one place that chooses a bus implementation. */
export function createBus(nodeId: NodeId, config: BusConfig, log: BusLogger): Bus {
  switch (config.kind) {
    case 'memory':
      return new MemoryBus(nodeId, config.exchange ?? new MemoryExchange());
    case 'rocketmq':
      return new RocketMQBus({ nodeId, log, ...config });
  }
}
