import { Type, type Static } from '@sinclair/typebox';

const Int = (min: number, max: number, defaultValue: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: defaultValue, description });

/**
 * Every environment variable the gateway reads. docs/configuration.md is generated from the
 * same facts by hand: keep them in step.
 */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to listen on (npm start: 127.0.0.1 unless set)' }),
  PORT: Int(0, 65535, 8080, 'HTTP/WebSocket port (0 picks a free one)'),
  METRICS_PORT: Type.Optional(
    Type.String({
      pattern: '^(main|[0-9]{1,5})$',
      description: 'Port of GET /metrics alone (0 picks a free one), or "main" for the HTTP port; default 9464 with NODE_ENV=production, main otherwise',
    }),
  ),
  NODE_URL: Type.String({
    pattern: '^(https?://[^\\s]{1,200})?$',
    default: '',
    description:
      'How the other gateways reach this one over HTTP (e.g. http://gateway-0.gateway:8080). A node that stops hearing its own beats asks them whether the event log still flows for them, to tell a cut from an outage',
  }),
  NODE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'Stable node identity' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  BUS: Type.Union([Type.Literal('memory'), Type.Literal('rocketmq')], { default: 'memory' }),
  ROCKETMQ_ENDPOINTS: Type.String({ minLength: 1, default: '127.0.0.1:8081' }),
  ROCKETMQ_NAMESRV_ADDR: Type.String({
    pattern: '^[^;\\s]+:\\d+(;[^;\\s]+:\\d+)*$',
    default: '127.0.0.1:9876',
    description: 'NameServers (host:port;host:port): the voice lane finds its brokers there',
  }),
  ROCKETMQ_BROKER_ADDRESS_MAP: Type.String({
    pattern: '^([^=,\\s]+:\\d+=[^=,\\s]+:\\d+(,[^=,\\s]+:\\d+=[^=,\\s]+:\\d+)*)?$',
    default: '',
    description:
      'advertised=reachable,...: broker addresses as the NameServer gives them, and where this node reaches them (NAT, port forwarding, a test proxy); empty: as given',
  }),
  ROCKETMQ_NAMESPACE: Type.String({ default: '' }),
  ROCKETMQ_ACCESS_KEY: Type.String({ default: '', description: 'RocketMQ ACL 2.0 user (access key) of the event lane; empty: no credentials' }),
  ROCKETMQ_SECRET_KEY: Type.String({ default: '', description: 'Secret of ROCKETMQ_ACCESS_KEY' }),
  ROCKETMQ_TLS: Type.Union([Type.Literal('false'), Type.Literal('true')], {
    default: 'false',
    description: 'true: the event lane speaks TLS to the proxy (gRPC; system roots, or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH)',
  }),
  ROCKETMQ_VOICE_TOPIC: Type.String({ pattern: '^[A-Za-z0-9_%|-]{1,127}$', default: 'voiceroom-voice' }),
  ROCKETMQ_EVENT_TOPIC: Type.String({ pattern: '^[A-Za-z0-9_%|-]{1,127}$', default: 'voiceroom-events' }),
  ROCKETMQ_GROUP_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_%|-]{0,60}$', default: 'voiceroom-gw-' }),
  BUS_MAX_VOICE_MESSAGES_PER_SEC: Int(1, 10_000, 250, 'Upper bound of voice messages a node publishes per second per voice queue'),
  BUS_MAX_VOICE_BATCH_BYTES: Int(1024, 4 * 1024 * 1024, 262144, 'Largest voice message body'),
  VOICE_DEADLINE_MS: Int(20, 60_000, 500, 'Voice older than this is dropped, never played late'),
  JWT_SECRET: Type.String({ minLength: 1, default: 'dev-only-insecure-secret-change-me' }),
  TOKEN_MAX_TTL_SECONDS: Int(
    60,
    30 * 86400,
    86400,
    'Longest lifetime of a join token: the gateway refuses (4401) one whose exp − iat, or exp − now, is longer; the admin API issues none longer',
  ),
  JOIN_TIMEOUT_MS: Int(100, 120_000, 5000, 'Time a new socket has to send its join message'),
  VOICE_MAX_PAYLOAD_BYTES: Int(1, 1275, 512, 'Largest Opus payload in one voice frame'),
  VOICE_MAX_FPS: Int(1, 1000, 60, 'Sustained voice frames per second per connection'),
  VOICE_BURST_FRAMES: Int(1, 1000, 30, 'Size of the per-connection token bucket: frames that may arrive at once'),
  ABUSE_MAX_VIOLATIONS: Int(1, 1_000_000, 100, 'Refused frames within the window that close the socket'),
  ABUSE_WINDOW_MS: Int(100, 600_000, 10_000, 'Window for ABUSE_MAX_VIOLATIONS'),
  SOCKET_HIGH_WATER_BYTES: Int(1024, 64 * 1024 * 1024, 65536, 'Unsent bytes above which a socket gets no voice'),
  WS_MAX_MESSAGE_BYTES: Int(1024, 16 * 1024 * 1024, 65536, 'Messages larger than this close the socket (1009)'),
  WS_CLOSE_TIMEOUT_MS: Int(
    100,
    60_000,
    5000,
    'After the gateway sends a close frame, the TCP connection is destroyed if the client has not answered within this',
  ),
  HTTP_HEADERS_TIMEOUT_MS: Int(1000, 120_000, 10_000, 'Time a client has to send a complete request head (an upgrade included); then 408 and close'),
  HTTP_REQUEST_TIMEOUT_MS: Int(1000, 600_000, 30_000, 'Time a client has to send a complete request, body included; then 408 and close'),
  HEARTBEAT_INTERVAL_MS: Int(1000, 600_000, 20_000, 'WebSocket ping interval; a socket missing a pong is closed'),
  SHUTDOWN_DEADLINE_MS: Int(0, 600_000, 10_000, 'Longest a SIGTERM drain may take'),
  TRUST_PROXY: Type.String({
    default: 'false',
    description: 'Whose X-Forwarded-For to believe for client addresses: false, true, a hop count, or a comma list of proxy addresses/CIDRs',
  }),
  DRAIN_SPREAD_MS: Int(0, 600_000, 5000, 'On SIGTERM, client disconnects are spread over this long (capped at half the deadline)'),
  NODE_BEAT_INTERVAL_MS: Int(50, 60_000, 2000, 'How often a node beats on the event log'),
  NODE_TIMEOUT_MS: Int(200, 600_000, 10_000, 'A node silent on the event log this long is lost; its members are detached'),
  CLUSTER_SYNC_TIMEOUT_MS: Int(100, 600_000, 3000, 'Wait for a state snapshot from a live node before asking again'),
  CLUSTER_REQUEST_TIMEOUT_MS: Int(100, 600_000, 10_000, 'Longest a join, resume or command waits for the event log'),
  RESUME_GRACE_MS: Int(0, 3_600_000, 30_000, 'How long a dropped member keeps its place and may resume'),
  KICK_REJOIN_BLOCK_SECONDS: Int(0, 86_400, 60, 'A user kicked from a room is refused (4403) when joining it again within this long; 0: never'),
  ROOM_CAPACITY: Int(1, 10_000, 50, 'Most members in one room, across the cluster'),
  ROOM_SEATS: Int(0, 10_000, 8, 'Most members with role speaker in one room (hosts not counted)'),
  MAX_CONNECTIONS_PER_IP: Int(1, 1_000_000, 100, 'TCP connections (WebSockets, HTTP, upgrades in progress) per client address on one node'),
  MAX_CONNECTIONS_PER_USER: Int(1, 10_000, 4, 'Open WebSockets per user on one node'),
  MAX_CONNECTIONS: Int(1, 1_000_000, 20_000, 'TCP connections one node holds before it refuses WebSocket upgrades (503)'),
  COMMANDS_PER_SEC: Int(1, 1000, 5, 'Sustained room commands and chat messages per connection'),
  COMMAND_BURST: Int(1, 1000, 10, 'Commands that may arrive at once per connection'),
  ADMIN_API: Type.Union([Type.Literal('off'), Type.Literal('embedded')], {
    default: 'off',
    description: 'embedded: this gateway also serves the admin API (/v1, /docs) with the admin settings (DATABASE_URL, ...)',
  }),
  DEV_TOKENS: Type.Union([Type.Literal('false'), Type.Literal('true')], {
    default: 'false',
    description: 'true: POST /dev/token hands a join token to anyone (development only; refused in production)',
  }),
  DEV_TOKENS_PER_MINUTE: Int(1, 100_000, 30, 'POST /dev/token: tokens per client address per minute (a bucket of this size, refilled evenly)'),
  WEB_ROOT: Type.String({ default: '', description: 'Directory of the built voice-room page served at / (default: apps/web/dist when built; "off": none)' }),
  SPEAKERS_INTERVAL_MS: Int(50, 10_000, 250, "How often each room's active speakers are checked (announced when they change)"),
});

export type Env = Static<typeof EnvSchema>;
