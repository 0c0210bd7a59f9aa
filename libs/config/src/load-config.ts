import { hostname } from 'node:os';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { EnvSchema, type Env } from './schema';
import { exampleSecretProblems } from './example-secrets';

export const DEV_JWT_SECRET = 'dev-only-insecure-secret-change-me';

export interface GatewayConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  /** Port of GET /metrics on a listener of its own (0: any free port), or 'main': /metrics on `port`. */
  readonly metricsPort: number | 'main';
  readonly nodeId: string;
  /** How other gateways reach this one over HTTP ('' when not set: no isolation check). */
  readonly nodeUrl: string;
  readonly logLevel: string;
  readonly bus:
    | { readonly kind: 'memory' }
    | {
        readonly kind: 'rocketmq';
        readonly endpoints: string;
        readonly nameServers: string;
        /** Broker address as advertised → address this node connects to. */
        readonly brokerAddressMap: Readonly<Record<string, string>>;
        readonly namespace: string;
        /** RocketMQ ACL credentials of the event lane (gRPC), when ROCKETMQ_ACCESS_KEY is set. */
        readonly credentials?: { readonly accessKey: string; readonly secretKey: string };
        /** The event lane speaks TLS to the proxy. */
        readonly tls: boolean;
        readonly voiceTopic: string;
        readonly eventTopic: string;
        readonly consumerGroupPrefix: string;
        readonly maxVoiceMessagesPerSecond: number;
        readonly maxVoiceBatchBytes: number;
        readonly voiceDeadlineMs: number;
      };
  readonly jwtSecret: string;
  /** Longest join token lifetime accepted, in seconds (exp − iat, or exp − now). */
  readonly tokenMaxTtlSeconds: number;
  readonly joinTimeoutMs: number;
  readonly voice: {
    readonly maxPayloadBytes: number;
    readonly maxFramesPerSecond: number;
    readonly burstFrames: number;
    readonly deadlineMs: number;
  };
  readonly abuse: { readonly maxViolations: number; readonly windowMs: number };
  readonly socketHighWaterBytes: number;
  readonly wsMaxMessageBytes: number;
  /** After the gateway sends a close frame, the TCP connection is destroyed if the client has not answered within this. */
  readonly wsCloseTimeoutMs: number;
  /** Node's headersTimeout and requestTimeout: slow or partial requests (upgrades included) are closed with 408. */
  readonly http: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number };
  readonly heartbeatIntervalMs: number;
  readonly shutdownDeadlineMs: number;
  readonly drainSpreadMs: number;
  readonly cluster: {
    readonly beatIntervalMs: number;
    readonly nodeTimeoutMs: number;
    readonly syncTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  /** kickBlockMs: how long a kicked user is refused when joining the room again (rooms this node creates). */
  readonly rooms: { readonly capacity: number; readonly seats: number; readonly resumeGraceMs: number; readonly kickBlockMs: number };
  readonly limits: {
    readonly connectionsPerIp: number;
    readonly connectionsPerUser: number;
    /** TCP connections of the node beyond which WebSocket upgrades are refused (503). */
    readonly maxConnections: number;
    readonly commandsPerSecond: number;
    readonly commandBurst: number;
  };
  readonly speakersIntervalMs: number;
  /** Fastify's trustProxy: client addresses (per-IP limits, logs) come from X-Forwarded-For only for trusted proxies. */
  readonly trustProxy: boolean | number | string;
  /** Serve the admin API from this process too (single-node mode); its settings come from loadAdminConfig. */
  readonly adminApi: 'off' | 'embedded';
  /** POST /dev/token (and, with the embedded admin API, GET /dev/rooms/:room/messages) for the page in development. */
  readonly devTokens: boolean;
  /** POST /dev/token: tokens per client address per minute. */
  readonly devTokensPerMinute: number;
  /** The built page to serve at /: a directory, '' for the default (apps/web/dist if built), or 'off'. */
  readonly webRoot: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    // One line, every problem in it: what a log collector or `kubectl logs` shows whole.
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A schema violation as one readable problem: `BUS: expected one of memory, rocketmq (got "kafka")`.
 * Settings with a fixed set of values (unions of literals, literals) name the allowed values;
 * `hideValue` leaves the value out (secrets).
 */
export function describeValueError(e: ValueError, hideValue = false): string {
  const name = e.path.slice(1) || '(root)';
  const allowed = allowedValues(e.schema);
  const message = allowed ? `expected one of ${allowed.join(', ')}` : e.message;
  return `${name}: ${message}${hideValue || e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)})`}`;
}

function allowedValues(schema: unknown): string[] | undefined {
  const s = schema as { const?: unknown; anyOf?: unknown[] } | undefined;
  if (s === undefined || s === null) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- TypeBox literals are primitives
  if (s.const !== undefined) return [String(s.const)];
  if (!Array.isArray(s.anyOf)) return undefined;
  const values: string[] = [];
  for (const member of s.anyOf) {
    const more = allowedValues(member);
    if (!more) return undefined;
    values.push(...more);
  }
  return values;
}

/** Validates the environment once; throws ConfigError listing every problem. The result is frozen. */
export function loadConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  const known = Object.keys(EnvSchema.properties);
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    const value = source[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(EnvSchema, raw);
  const converted = Value.Convert(EnvSchema, withDefaults);
  const problems = [...Value.Errors(EnvSchema, converted)].map((e) => describeValueError(e, isSecret(e.path)));
  if (problems.length > 0) throw new ConfigError(problems);
  const env = Value.Decode(EnvSchema, converted);

  if (env.NODE_ENV === 'production') {
    if (env.JWT_SECRET === DEV_JWT_SECRET || env.JWT_SECRET.length < 32) {
      problems.push('JWT_SECRET: production needs a secret of at least 32 characters (not the development default)');
    }
    if (env.NODE_ID === undefined) problems.push('NODE_ID: production needs a stable node id (e.g. the pod name)');
    if (env.DEV_TOKENS === 'true') problems.push('DEV_TOKENS: hands join tokens to anyone; never in production');
    problems.push(...exampleSecretProblems({ JWT_SECRET: env.JWT_SECRET, ROCKETMQ_SECRET_KEY: env.ROCKETMQ_SECRET_KEY }, problems));
  }
  if ((env.ROCKETMQ_ACCESS_KEY === '') !== (env.ROCKETMQ_SECRET_KEY === '')) {
    problems.push('ROCKETMQ_ACCESS_KEY: set it together with ROCKETMQ_SECRET_KEY (both or neither)');
  }
  problems.push(...metricsPortProblems(env.METRICS_PORT, env.NODE_ENV, env.PORT));
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  if (env.NODE_TIMEOUT_MS < 3 * env.NODE_BEAT_INTERVAL_MS) {
    problems.push('NODE_TIMEOUT_MS: must be at least 3 × NODE_BEAT_INTERVAL_MS, or live nodes would be declared lost');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const nodeId = env.NODE_ID ?? `node-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`.slice(0, 64);
  const config: GatewayConfig = {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    metricsPort: metricsPort(env.METRICS_PORT, env.NODE_ENV),
    nodeId,
    nodeUrl: env.NODE_URL,
    logLevel: env.LOG_LEVEL,
    bus: busConfig(env, {
      maxVoiceMessagesPerSecond: env.BUS_MAX_VOICE_MESSAGES_PER_SEC,
      maxVoiceBatchBytes: env.BUS_MAX_VOICE_BATCH_BYTES,
      voiceDeadlineMs: env.VOICE_DEADLINE_MS,
    }),
    jwtSecret: env.JWT_SECRET,
    tokenMaxTtlSeconds: env.TOKEN_MAX_TTL_SECONDS,
    joinTimeoutMs: env.JOIN_TIMEOUT_MS,
    voice: {
      maxPayloadBytes: env.VOICE_MAX_PAYLOAD_BYTES,
      maxFramesPerSecond: env.VOICE_MAX_FPS,
      burstFrames: env.VOICE_BURST_FRAMES,
      deadlineMs: env.VOICE_DEADLINE_MS,
    },
    abuse: { maxViolations: env.ABUSE_MAX_VIOLATIONS, windowMs: env.ABUSE_WINDOW_MS },
    socketHighWaterBytes: env.SOCKET_HIGH_WATER_BYTES,
    wsMaxMessageBytes: env.WS_MAX_MESSAGE_BYTES,
    wsCloseTimeoutMs: env.WS_CLOSE_TIMEOUT_MS,
    http: { headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS },
    heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
    shutdownDeadlineMs: env.SHUTDOWN_DEADLINE_MS,
    drainSpreadMs: env.DRAIN_SPREAD_MS,
    cluster: {
      beatIntervalMs: env.NODE_BEAT_INTERVAL_MS,
      nodeTimeoutMs: env.NODE_TIMEOUT_MS,
      syncTimeoutMs: env.CLUSTER_SYNC_TIMEOUT_MS,
      requestTimeoutMs: env.CLUSTER_REQUEST_TIMEOUT_MS,
    },
    rooms: { capacity: env.ROOM_CAPACITY, seats: env.ROOM_SEATS, resumeGraceMs: env.RESUME_GRACE_MS, kickBlockMs: env.KICK_REJOIN_BLOCK_SECONDS * 1000 },
    limits: {
      connectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
      connectionsPerUser: env.MAX_CONNECTIONS_PER_USER,
      maxConnections: env.MAX_CONNECTIONS,
      commandsPerSecond: env.COMMANDS_PER_SEC,
      commandBurst: env.COMMAND_BURST,
    },
    speakersIntervalMs: env.SPEAKERS_INTERVAL_MS,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    adminApi: env.ADMIN_API,
    devTokens: env.DEV_TOKENS === 'true',
    devTokensPerMinute: env.DEV_TOKENS_PER_MINUTE,
    webRoot: env.WEB_ROOT,
  };
  return deepFreeze(config);
}

/** Default METRICS_PORT in production: a port of its own, so that the public Service need not expose /metrics. */
export const PRODUCTION_METRICS_PORT = 9464;

/** METRICS_PORT as a port number or 'main' (unset: 9464 in production, 'main' otherwise). */
export function metricsPort(value: string | undefined, nodeEnv: GatewayConfig['env']): number | 'main' {
  if (value === undefined) return nodeEnv === 'production' ? PRODUCTION_METRICS_PORT : 'main';
  return value === 'main' ? 'main' : Number(value);
}

/** METRICS_PORT out of range, or the HTTP port itself. */
export function metricsPortProblems(value: string | undefined, nodeEnv: GatewayConfig['env'], port: number): string[] {
  const resolved = metricsPort(value, nodeEnv);
  if (resolved === 'main') return [];
  if (resolved > 65535) return [`METRICS_PORT: expected main or a port 0–65535 (got ${JSON.stringify(value)})`];
  if (resolved !== 0 && resolved === port) return [`METRICS_PORT: must differ from PORT (${port}); set METRICS_PORT=main to serve /metrics on PORT`];
  return [];
}

/** Variables whose values are never printed in a problem. */
export function isSecret(path: string): boolean {
  return path.includes('KEY') || path.includes('SECRET');
}

type BusEnv = Pick<
  Env,
  'BUS' | 'ROCKETMQ_ENDPOINTS' | 'ROCKETMQ_NAMESRV_ADDR' | 'ROCKETMQ_NAMESPACE' | 'ROCKETMQ_VOICE_TOPIC' | 'ROCKETMQ_EVENT_TOPIC' | 'ROCKETMQ_GROUP_PREFIX'
> &
  Partial<Pick<Env, 'ROCKETMQ_BROKER_ADDRESS_MAP'>>;
type BusSecurityEnv = Partial<Pick<Env, 'ROCKETMQ_ACCESS_KEY' | 'ROCKETMQ_SECRET_KEY' | 'ROCKETMQ_TLS'>>;
type VoiceLane = Pick<Extract<GatewayConfig['bus'], { kind: 'rocketmq' }>, 'maxVoiceMessagesPerSecond' | 'maxVoiceBatchBytes' | 'voiceDeadlineMs'>;

/** The bus settings from the environment (gateway and admin API alike). */
export function busConfig(env: BusEnv & BusSecurityEnv, voice: VoiceLane): GatewayConfig['bus'] {
  if (env.BUS === 'memory') return { kind: 'memory' };
  return {
    kind: 'rocketmq',
    endpoints: env.ROCKETMQ_ENDPOINTS,
    nameServers: env.ROCKETMQ_NAMESRV_ADDR,
    brokerAddressMap: parseAddressMap(env.ROCKETMQ_BROKER_ADDRESS_MAP ?? ''),
    namespace: env.ROCKETMQ_NAMESPACE,
    ...(env.ROCKETMQ_ACCESS_KEY ? { credentials: { accessKey: env.ROCKETMQ_ACCESS_KEY, secretKey: env.ROCKETMQ_SECRET_KEY ?? '' } } : {}),
    tls: env.ROCKETMQ_TLS === 'true',
    voiceTopic: env.ROCKETMQ_VOICE_TOPIC,
    eventTopic: env.ROCKETMQ_EVENT_TOPIC,
    consumerGroupPrefix: env.ROCKETMQ_GROUP_PREFIX,
    ...voice,
  };
}

function parseTrustProxy(value: string): boolean | number | string {
  const v = value.trim();
  if (v === 'false' || v === '') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/** "a:1=b:2,c:3=d:4" → { 'a:1': 'b:2', 'c:3': 'd:4' } (the schema checked the shape). */
function parseAddressMap(value: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const [from, to] = pair.split('=');
    if (from && to) map[from.trim()] = to.trim();
  }
  return map;
}
