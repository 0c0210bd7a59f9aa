import pino from 'pino';
import type { NodeId } from '@voiceroom/protocol';
import { ROCKETMQ_ENDPOINTS, ROCKETMQ_NAMESRV_ADDR, VOICE_TOPIC, EVENT_TOPIC } from '@voiceroom/testkit';
import { RocketMQBus, type RocketMQBusOptions } from '../src/rocketmq-bus';

export const testLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });

/** A RocketMQ bus on the local broker (`npm test` starts it) with the tests' settings. */
export function rocketBus(nodeId: string, overrides: Partial<RocketMQBusOptions> = {}): RocketMQBus {
  return new RocketMQBus({
    nodeId: nodeId as NodeId,
    endpoints: ROCKETMQ_ENDPOINTS,
    nameServers: ROCKETMQ_NAMESRV_ADDR,
    voiceTopic: VOICE_TOPIC,
    eventTopic: EVENT_TOPIC,
    consumerGroupPrefix: 'voiceroom-test-',
    maxVoiceMessagesPerSecond: 250,
    maxVoiceBatchBytes: 65536,
    voiceDeadlineMs: 2000,
    log: testLog,
    ...overrides,
  });
}
