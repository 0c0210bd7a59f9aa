import { hostname } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { busConfig, ConfigError, describeValueError, DEV_JWT_SECRET, isSecret, metricsPort, metricsPortProblems, type GatewayConfig } from './load-config';
import { EnvSchema } from './schema';
import { exampleSecretProblems } from './example-secrets';

const Int = (min: number, max: number, defaultValue: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: defaultValue, description });

/** The settings the admin API shares with the gateways (same names, same meaning). */
const shared = EnvSchema.properties;

/** Every environment variable the admin API (apps/admin) reads. docs/configuration.md lists them. */
export const AdminEnvSchema = Type.Object({
  NODE_ENV: shared.NODE_ENV,
  HOST: shared.HOST,
  PORT: Int(0, 65535, 8090, 'HTTP port of the admin API (0 picks a free one)'),
  METRICS_PORT: shared.METRICS_PORT,
  NODE_ID: shared.NODE_ID,
  LOG_LEVEL: shared.LOG_LEVEL,
  BUS: shared.BUS,
  ROCKETMQ_ENDPOINTS: shared.ROCKETMQ_ENDPOINTS,
  ROCKETMQ_NAMESRV_ADDR: shared.ROCKETMQ_NAMESRV_ADDR,
  ROCKETMQ_BROKER_ADDRESS_MAP: shared.ROCKETMQ_BROKER_ADDRESS_MAP,
  ROCKETMQ_NAMESPACE: shared.ROCKETMQ_NAMESPACE,
  ROCKETMQ_ACCESS_KEY: shared.ROCKETMQ_ACCESS_KEY,
  ROCKETMQ_SECRET_KEY: shared.ROCKETMQ_SECRET_KEY,
  ROCKETMQ_TLS: shared.ROCKETMQ_TLS,
  ROCKETMQ_VOICE_TOPIC: shared.ROCKETMQ_VOICE_TOPIC,
  ROCKETMQ_EVENT_TOPIC: shared.ROCKETMQ_EVENT_TOPIC,
  ROCKETMQ_GROUP_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_%|-]{0,60}$', default: 'voiceroom-admin-' }),
  NODE_BEAT_INTERVAL_MS: shared.NODE_BEAT_INTERVAL_MS,
  NODE_TIMEOUT_MS: shared.NODE_TIMEOUT_MS,
  CLUSTER_SYNC_TIMEOUT_MS: shared.CLUSTER_SYNC_TIMEOUT_MS,
  CLUSTER_REQUEST_TIMEOUT_MS: shared.CLUSTER_REQUEST_TIMEOUT_MS,
  JWT_SECRET: shared.JWT_SECRET,
  DATABASE_URL: Type.String({
    minLength: 1,
    default: 'sqlite:./data/voiceroom.db',
    description: 'mysql://user:password@host:port/database, or sqlite:PATH for one node',
  }),
  ADMIN_JWT_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'HS256 key for admin JWTs (unset: API keys only)' })),
  ADMIN_BOOTSTRAP_KEY: Type.Optional(
    Type.String({ minLength: 24, description: 'An API key (role admin) stored hashed at start-up, to create the others with' }),
  ),
  ROOM_CAPACITY: shared.ROOM_CAPACITY,
  ROOM_SEATS: shared.ROOM_SEATS,
  TOKEN_MAX_TTL_SECONDS: shared.TOKEN_MAX_TTL_SECONDS,
  DB_TIMEOUT_MS: Int(100, 60_000, 5000, 'Connect timeout of the database, and how long /readyz waits for it to answer'),
  // ---- room events for other services (docs/events.md) ----
  ROOM_EVENTS_TOPIC: Type.String({
    pattern: '^([A-Za-z0-9_%|-]{1,127})?$',
    default: '',
    description: 'RocketMQ FIFO topic the room events are published on (message group = room id); empty: none. Needs BUS=rocketmq',
  }),
  ROOM_EVENTS_CHAT: Type.Union([Type.Literal('false'), Type.Literal('true')], {
    default: 'false',
    description: 'true: chat messages and notices are room events too (topic and webhooks)',
  }),
  WEBHOOK_URLS: Type.String({
    pattern: '^(https?://[^\\s,]{1,490}(,https?://[^\\s,]{1,490}){0,9})?$',
    default: '',
    description: 'Comma-separated http(s) URLs that get every room event as a signed POST; empty: none',
  }),
  WEBHOOK_SECRET: Type.String({ default: '', description: 'HMAC-SHA256 key of the webhook signature (X-Voiceroom-Signature); needed with WEBHOOK_URLS' }),
  WEBHOOK_TIMEOUT_MS: Int(100, 120_000, 5000, 'A webhook request that has not answered within this counts as failed'),
  WEBHOOK_RETRY_MIN_MS: Int(10, 3_600_000, 1000, 'Wait after the first failed try of an event; doubled after each further failure'),
  WEBHOOK_RETRY_MAX_MS: Int(10, 3_600_000, 30_000, 'Longest wait between two tries'),
  WEBHOOK_GIVE_UP_AFTER_S: Int(1, 7 * 86_400, 900, 'An event still not delivered this long after it was recorded is dead-lettered at its next failed try'),
  ROOM_EVENTS_BUFFER: Int(100, 1_000_000, 50_000, 'Recent room events each admin process keeps in memory (for the lease holder: until written to the outbox)'),
});
export type AdminEnv = Static<typeof AdminEnvSchema>;

export interface AdminConfig {
  readonly env: GatewayConfig['env'];
  readonly host: string;
  readonly port: number;
  /** As the gateway's: GET /metrics on a listener of its own, or 'main' (standalone only; embedded, the gateway's). */
  readonly metricsPort: GatewayConfig['metricsPort'];
  readonly nodeId: string;
  readonly logLevel: string;
  readonly bus: GatewayConfig['bus'];
  readonly cluster: GatewayConfig['cluster'];
  readonly jwtSecret: string;
  readonly databaseUrl: string;
  readonly adminJwtSecret: string | undefined;
  readonly bootstrapKey: string | undefined;
  readonly rooms: { readonly capacity: number; readonly seats: number };
  readonly tokenMaxTtlSeconds: number;
  readonly dbTimeoutMs: number;
  /** Room events for other services (docs/events.md). */
  readonly roomEvents: RoomEventsConfig;
}

export interface RoomEventsConfig {
  /** RocketMQ topic ('' : none; always '' with the memory bus). */
  readonly topic: string;
  readonly chat: boolean;
  readonly webhooks: { readonly urls: readonly string[]; readonly secret: string; readonly timeoutMs: number };
  readonly retry: { readonly minMs: number; readonly maxMs: number; readonly giveUpAfterMs: number };
  readonly bufferSize: number;
}

/** Validates the admin API's environment once; throws ConfigError listing every problem. */
export function loadAdminConfig(source: Record<string, string | undefined> = process.env): AdminConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(AdminEnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Convert(AdminEnvSchema, Value.Default(AdminEnvSchema, raw));
  const problems = [...Value.Errors(AdminEnvSchema, converted)].map((e) => describeValueError(e, isSecret(e.path)));
  if (problems.length > 0) throw new ConfigError(problems);
  const env = Value.Decode(AdminEnvSchema, converted);
  if (env.NODE_ENV === 'production') {
    if (env.JWT_SECRET === DEV_JWT_SECRET || env.JWT_SECRET.length < 32) {
      problems.push('JWT_SECRET: production needs a secret of at least 32 characters (not the development default)');
    }
    if (env.ADMIN_JWT_SECRET !== undefined && env.ADMIN_JWT_SECRET.length < 32) {
      problems.push('ADMIN_JWT_SECRET: production needs at least 32 characters');
    }
    if (env.NODE_ID === undefined) problems.push('NODE_ID: production needs a stable node id (e.g. the pod name)');
    if (env.DATABASE_URL.startsWith('sqlite:') && env.BUS === 'rocketmq') {
      problems.push('DATABASE_URL: a cluster (BUS=rocketmq) needs MySQL; SQLite is for a single node');
    }
    const secrets = {
      JWT_SECRET: env.JWT_SECRET,
      ADMIN_JWT_SECRET: env.ADMIN_JWT_SECRET,
      ADMIN_BOOTSTRAP_KEY: env.ADMIN_BOOTSTRAP_KEY,
      DATABASE_URL: env.DATABASE_URL,
      ROCKETMQ_SECRET_KEY: env.ROCKETMQ_SECRET_KEY,
    };
    problems.push(...exampleSecretProblems(secrets, problems));
  }
  const webhookUrls = env.WEBHOOK_URLS === '' ? [] : env.WEBHOOK_URLS.split(',');
  if (webhookUrls.length > 0 && env.WEBHOOK_SECRET === '') problems.push('WEBHOOK_SECRET: needed when WEBHOOK_URLS is set');
  if (env.NODE_ENV === 'production' && webhookUrls.length > 0 && env.WEBHOOK_SECRET !== '') {
    if (env.WEBHOOK_SECRET.length < 32) problems.push('WEBHOOK_SECRET: production needs a secret of at least 32 characters');
    else problems.push(...exampleSecretProblems({ WEBHOOK_SECRET: env.WEBHOOK_SECRET }));
  }
  if (env.ROOM_EVENTS_TOPIC !== '' && env.BUS !== 'rocketmq') problems.push('ROOM_EVENTS_TOPIC: needs BUS=rocketmq');
  if (env.WEBHOOK_RETRY_MAX_MS < env.WEBHOOK_RETRY_MIN_MS) problems.push('WEBHOOK_RETRY_MAX_MS: must be at least WEBHOOK_RETRY_MIN_MS');
  if ((env.ROCKETMQ_ACCESS_KEY === '') !== (env.ROCKETMQ_SECRET_KEY === '')) {
    problems.push('ROCKETMQ_ACCESS_KEY: set it together with ROCKETMQ_SECRET_KEY (both or neither)');
  }
  problems.push(...metricsPortProblems(env.METRICS_PORT, env.NODE_ENV, env.PORT));
  if (env.NODE_TIMEOUT_MS < 3 * env.NODE_BEAT_INTERVAL_MS) {
    problems.push('NODE_TIMEOUT_MS: must be at least 3 × NODE_BEAT_INTERVAL_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config: AdminConfig = {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    metricsPort: metricsPort(env.METRICS_PORT, env.NODE_ENV),
    nodeId: env.NODE_ID ?? `admin-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`.slice(0, 64),
    logLevel: env.LOG_LEVEL,
    // The admin API publishes no voice (its bus subscribes to the event topic only).
    bus: busConfig(env, { maxVoiceMessagesPerSecond: 1, maxVoiceBatchBytes: 1024, voiceDeadlineMs: 500 }),
    cluster: {
      beatIntervalMs: env.NODE_BEAT_INTERVAL_MS,
      nodeTimeoutMs: env.NODE_TIMEOUT_MS,
      syncTimeoutMs: env.CLUSTER_SYNC_TIMEOUT_MS,
      requestTimeoutMs: env.CLUSTER_REQUEST_TIMEOUT_MS,
    },
    jwtSecret: env.JWT_SECRET,
    databaseUrl: env.DATABASE_URL,
    adminJwtSecret: env.ADMIN_JWT_SECRET,
    bootstrapKey: env.ADMIN_BOOTSTRAP_KEY,
    rooms: { capacity: env.ROOM_CAPACITY, seats: env.ROOM_SEATS },
    tokenMaxTtlSeconds: env.TOKEN_MAX_TTL_SECONDS,
    dbTimeoutMs: env.DB_TIMEOUT_MS,
    roomEvents: {
      topic: env.ROOM_EVENTS_TOPIC,
      chat: env.ROOM_EVENTS_CHAT === 'true',
      webhooks: { urls: webhookUrls, secret: env.WEBHOOK_SECRET, timeoutMs: env.WEBHOOK_TIMEOUT_MS },
      retry: { minMs: env.WEBHOOK_RETRY_MIN_MS, maxMs: env.WEBHOOK_RETRY_MAX_MS, giveUpAfterMs: env.WEBHOOK_GIVE_UP_AFTER_S * 1000 },
      bufferSize: env.ROOM_EVENTS_BUFFER,
    },
  };
  return Object.freeze(config);
}
