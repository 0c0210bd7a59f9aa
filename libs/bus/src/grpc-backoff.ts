/**
 * Bounds how long the RocketMQ gRPC client waits between reconnection attempts.
 *
 * rocketmq-client-nodejs 1.0.8 creates its gRPC clients without channel options, so grpc-js
 * reconnects with its defaults: the first retry after 1 s, each next one 1.6 times later, up to
 * 120 s. A proxy that is away for 8–12 s is then retried 10–17 s after it came back: the spread
 * of 3.6–16.5 s seen between "proxy ready" and "events flow again" (issue #12) was that backoff.
 * With a 2 s ceiling the event lane is back within about 2 s of the proxy.
 *
 * The client looks `MessagingServiceClient` up on its generated module each time it creates a
 * client, so replacing that export once, before the first client is made, gives every client
 * these options. Options passed explicitly still win.
 */
interface ClientModule {
  MessagingServiceClient: new (address: string, credentials: unknown, options?: Record<string, unknown>) => object;
}

const GENERATED_CLIENT = 'rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_grpc_pb';
const PATCHED = Symbol.for('voiceroom.grpcBackoffBounded');

export interface GrpcBackoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_GRPC_BACKOFF: GrpcBackoff = { initialMs: 250, maxMs: 2000 };

/** Idempotent; returns the module's client constructor as it now is (for tests). */
export function boundGrpcReconnectBackoff(backoff: GrpcBackoff = DEFAULT_GRPC_BACKOFF): ClientModule['MessagingServiceClient'] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const generated = require(GENERATED_CLIENT) as ClientModule;
  const current = generated.MessagingServiceClient as ClientModule['MessagingServiceClient'] & { [PATCHED]?: boolean };
  if (current[PATCHED]) return current;
  const defaults = { 'grpc.initial_reconnect_backoff_ms': backoff.initialMs, 'grpc.max_reconnect_backoff_ms': backoff.maxMs };
  class BoundedBackoffClient extends current {
    constructor(address: string, credentials: unknown, options?: Record<string, unknown>) {
      super(address, credentials, { ...defaults, ...options });
    }
  }
  Object.defineProperty(BoundedBackoffClient, PATCHED, { value: true });
  generated.MessagingServiceClient = BoundedBackoffClient;
  return BoundedBackoffClient;
}
