/**
 * The RocketMQ client's gRPC channels get a bounded reconnection backoff (grpc-backoff.ts): without
 * it, grpc-js retries a lost proxy up to 120 s apart and the event lane came back 3.6–16.5 s after
 * the proxy did (issue #12). Checked on the channel the generated client really creates.
 */
import { credentials } from '@grpc/grpc-js';
import { boundGrpcReconnectBackoff } from './grpc-backoff';

type Options = Record<string, unknown>;
const channelOptions = (client: unknown): Options =>
  // grpc-js keeps the options a channel was made with on its internal channel.
  (client as { getChannel(): { internalChannel: { options: Options } } }).getChannel().internalChannel.options;

it('gives every RocketMQ gRPC client a 250 ms–2 s reconnection backoff, once, keeping explicit options', () => {
  const Client = boundGrpcReconnectBackoff();
  expect(boundGrpcReconnectBackoff()).toBe(Client); // idempotent: no wrapper around the wrapper
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const generated = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_grpc_pb') as { MessagingServiceClient: typeof Client };
  expect(generated.MessagingServiceClient).toBe(Client); // what the RocketMQ client looks up

  const client = new generated.MessagingServiceClient('127.0.0.1:1', credentials.createInsecure()) as { close(): void };
  expect(channelOptions(client)).toMatchObject({ 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 2000 });
  client.close();

  const explicit = new generated.MessagingServiceClient('127.0.0.1:1', credentials.createInsecure(), { 'grpc.max_reconnect_backoff_ms': 5000 }) as {
    close(): void;
  };
  expect(channelOptions(explicit)['grpc.max_reconnect_backoff_ms']).toBe(5000);
  explicit.close();
});
