import { Producer } from 'rocketmq-client-nodejs';
import type { NodeId } from '@voiceroom/protocol';
import { RocketMQBus, type RocketMQBusOptions } from './rocketmq-bus';

// ROCKETMQ_ACCESS_KEY/SECRET_KEY/TLS reach the event lane's clients as client 1.0.8 names them
// (sessionCredentials, sslEnabled). No broker needed: nothing is started.
const silent = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silent;
  },
} as unknown as RocketMQBusOptions['log'];
const options: RocketMQBusOptions = {
  nodeId: 'gw-1' as NodeId,
  endpoints: '127.0.0.1:1',
  nameServers: '127.0.0.1:2',
  voiceTopic: 'v',
  eventTopic: 'e',
  consumerGroupPrefix: 'g-',
  maxVoiceMessagesPerSecond: 100,
  maxVoiceBatchBytes: 1024,
  voiceDeadlineMs: 500,
  log: silent,
};
const security = (bus: RocketMQBus) => (bus as unknown as { clientSecurity(): Record<string, unknown> }).clientSecurity();

describe('RocketMQ credentials and TLS of the event lane', () => {
  it('passes nothing but sslEnabled: false by default', () => {
    expect(security(new RocketMQBus(options))).toEqual({ sslEnabled: false });
  });

  it('passes sessionCredentials and sslEnabled, which the client signs its requests with', () => {
    const s = security(new RocketMQBus({ ...options, credentials: { accessKey: 'voiceroom', secretKey: 's3cret' }, tls: true }));
    expect(s).toEqual({ sslEnabled: true, sessionCredentials: { accessKey: 'voiceroom', accessSecret: 's3cret' } });
    const logger = { info() {}, warn() {}, error() {}, debug() {} };
    const producer = new Producer({ endpoints: '127.0.0.1:1', namespace: '', logger, ...s });
    const internals = producer as unknown as { getRequestMetadata(): { get(k: string): unknown[] }; rpcClientManager: { close(): void } };
    const auth = internals.getRequestMetadata().get('authorization');
    internals.rpcClientManager.close(); // the only timer a client starts before startup()
    expect(producer.sslEnabled).toBe(true);
    expect(String(auth[0])).toMatch(/^MQv2-HMAC-SHA1 Credential=voiceroom, SignedHeaders=x-mq-date-time, Signature=/);
  });
});
