/**
 * Idle sockets and the heartbeat (issue #12): the gateway's own event-loop lag while it holds N
 * idle, joined WebSocket members and pings them (apps/gateway/src/heartbeat.ts spreads the pings
 * over the interval). See docs/benchmarks.md, "Idle sockets and the heartbeat (issue #12)".
 *
 *   npm run bench:idle -- --sockets 4000 --room-size 40 --seconds 30 --heartbeat-ms 2000
 *
 * One gateway process (apps/gateway/src/server.ts through GatewayProcess, the memory bus: no
 * RocketMQ), with HEARTBEAT_INTERVAL_MS short (2 s by default, so that a 30 s window holds 15
 * heartbeat rounds) and the per-address limits raised (every client connects from 127.0.0.1).
 * N SDK clients (libs/client, through the voice bench's LoadGenerator) join as listeners in rooms
 * of M and then send nothing; `ws` answers the gateway's pings by itself.
 *
 * The lag is measured inside the gateway, from its /metrics: prom-client's default metrics read a
 * perf_hooks.monitorEventLoopDelay histogram (10 ms resolution) and reset it at every scrape. So
 * one scrape opens the window (it resets the histogram) and one closes it (its
 * voiceroom_nodejs_eventloop_lag_{min,mean,p50,p90,p99,max}_seconds cover exactly the window), with
 * no scrape in between (the histogram drops the first delay after a reset, so the scrapes' own
 * work does not show; their response times are reported apart). The histogram's values include
 * its own 10 ms sampling interval: the lag
 * reported is the value minus 10 ms (the raw values are in the JSON too). The same is done once
 * before any client connects (the empty gateway's lag, for comparison: machine noise).
 *
 * Everything it starts (the gateway) is stopped on exit, on SIGINT/SIGTERM/SIGHUP, on errors and
 * when the run overruns its time budget.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { GatewayProcess, joinToken, sleep } from '@voiceroom/testkit';
import { guardProcess, stopOwnGateways } from './gateway-guard';
import { LoadGenerator } from './load-generator';
import { counter, metricLines, type MetricSample } from './metrics';
import { intFlag, parseFlags, parseOrExit } from './options';
import { cpuTimes, machineTicks, rssBytes } from './proc';

const CONNECT_CONCURRENCY = 100;
const JOIN_TIMEOUT_MS = 20_000;
const GATEWAY_STOP_GRACE_MS = 12_000;
/** prom-client's default eventLoopMonitoringPrecision: the histogram's sampling interval. */
const SAMPLING_MS = 10;
/** The heartbeat's tick (HEARTBEAT_TICK_MS in apps/gateway/src/heartbeat.ts). */
const HEARTBEAT_TICK_MS = 50;

// ---------------------------------------------------------------------------------- options

interface IdleOptions {
  sockets: number;
  roomSize: number;
  /** Measured window, seconds. */
  seconds: number;
  /** Wait after the last join before the window (heartbeat rounds already running), seconds. */
  warmup: number;
  /** The empty gateway's window before any client connects, seconds (0: skip). */
  baseline: number;
  /** 0: one histogram over the window (exact). S > 0: a scrape every S seconds (per-interval figures). */
  interval: number;
  heartbeatMs: number;
  label: string;
  out: string | undefined;
}

const USAGE = `usage: npm run bench:idle -- [options]
  --sockets N        idle joined WebSocket members (4000)
  --room-size M      members per room (40; ROOM_CAPACITY is raised if M > 50)
  --seconds D        measured window in seconds (30)
  --warmup W         wait after the last join before the window (5)
  --baseline B       the empty gateway's lag over B seconds before connecting (5; 0 skips it)
  --interval S       also read the gateway's lag every S seconds (0 = off: one reading over the window,
                     exact p50/p99; with S the window's p90/p99 are upper bounds, max exact, and each
                     interval's max is shown next to this process's own stalls, to spot machine contention)
  --heartbeat-ms H   HEARTBEAT_INTERVAL_MS of the gateway (2000; the gateway's default is 20000)
  --label TEXT       name of the run in the report
  --out FILE         also write the JSON result to FILE
One gateway on the memory bus (no RocketMQ). Extra gateway settings: BENCH_GATEWAY_ENV="NAME=value,NAME2=value".`;

function parseOptions(argv: readonly string[]): IdleOptions {
  const { raw } = parseFlags(argv, ['sockets', 'room-size', 'seconds', 'warmup', 'baseline', 'interval', 'heartbeat-ms', 'label', 'out']);
  const int = intFlag(raw);
  const options: IdleOptions = {
    sockets: int('sockets', 4000, 1, 20_000),
    roomSize: int('room-size', 40, 1, 10_000),
    seconds: int('seconds', 30, 1, 600),
    warmup: int('warmup', 5, 0, 300),
    baseline: int('baseline', 5, 0, 300),
    interval: int('interval', 0, 0, 600),
    heartbeatMs: int('heartbeat-ms', 2000, 1000, 600_000),
    label: raw.get('label') ?? '',
    out: raw.get('out'),
  };
  if (!options.label) options.label = `idle-${options.sockets}x${options.roomSize}-hb${options.heartbeatMs}`;
  return options;
}

// ---------------------------------------------------------------------------------- lifetime

let gateway: GatewayProcess | undefined;
let load: LoadGenerator | undefined;
let phase = 'starting';
let cleaning: Promise<void> | undefined;

const log = (line: string): void => {
  process.stderr.write(`[bench:idle] ${line}\n`);
};

/** Stops the clients and the gateway this process started; idempotent and bounded (~25 s). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    load?.terminateAll();
    await stopOwnGateways(gateway ? [gateway] : [], GATEWAY_STOP_GRACE_MS);
  })();
  return cleaning;
}

async function abort(why: string, code: number): Promise<never> {
  log(why);
  log(`stopping${gateway ? ' the gateway' : ''} (phase: ${phase})`);
  const tail = gateway?.output.filter((l) => !l.includes('"level":30')).slice(-10) ?? [];
  if (tail.length > 0) log(`--- last warnings/errors of the gateway ---\n${tail.join('\n')}`);
  await cleanup();
  process.exit(code);
}

guardProcess(abort);

// ---------------------------------------------------------------------------------- measuring

/** One scrape of /metrics: label sets of one name summed (as bench/src/metrics.ts does), and GC pauses by kind. */
interface Scrape {
  sample: MetricSample;
  /** nodejs_gc_duration_seconds by kind: pauses counted, their total seconds, and how many took longer than 10 ms. */
  gc: Map<string, { count: number; sumS: number; over10ms: number }>;
}

async function scrape(httpUrl: string, timeoutMs = 5000): Promise<Scrape> {
  const response = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${httpUrl}/metrics answered ${response.status}`);
  const sample: MetricSample = new Map();
  const gc: Scrape['gc'] = new Map();
  const gcOf = (kind: string) => {
    let entry = gc.get(kind);
    if (!entry) gc.set(kind, (entry = { count: 0, sumS: 0, over10ms: 0 }));
    return entry;
  };
  for (const { name, value, line } of metricLines(await response.text())) {
    sample.set(name, (sample.get(name) ?? 0) + value);
    if (name.startsWith('voiceroom_nodejs_gc_duration_seconds')) {
      const kind = /kind="([^"]*)"/.exec(line)?.[1] ?? '?';
      if (name.endsWith('_count')) gcOf(kind).count += value;
      else if (name.endsWith('_sum')) gcOf(kind).sumS += value;
      // over10ms = count − bucket(le=0.01), filled in below from the two series.
      else if (name.endsWith('_bucket') && /le="0\.01"/.test(line)) gcOf(kind).over10ms -= value;
    }
  }
  for (const entry of gc.values()) entry.over10ms += entry.count;
  return { sample, gc };
}

/** The gateway's event-loop delay histogram as read by one scrape, in ms: raw, and minus the 10 ms sampling interval. */
interface LagReading {
  raw: { min: number; mean: number; p50: number; p90: number; p99: number; max: number };
  lag: { p50: number; p90: number; p99: number; max: number; mean: number };
}

function lagOf(sample: MetricSample): LagReading {
  const ms = (name: string) => counter(sample, `nodejs_eventloop_lag_${name}_seconds`) * 1000;
  const raw = { min: ms('min'), mean: ms('mean'), p50: ms('p50'), p90: ms('p90'), p99: ms('p99'), max: ms('max') };
  if (!Number.isFinite(raw.max)) throw new Error("the gateway's /metrics has no voiceroom_nodejs_eventloop_lag_max_seconds: cannot measure its event-loop lag");
  const minus = (x: number) => Math.max(0, x - SAMPLING_MS);
  return { raw, lag: { p50: minus(raw.p50), p90: minus(raw.p90), p99: minus(raw.p99), max: minus(raw.max), mean: minus(raw.mean) } };
}

/** One second of the window, seen from outside the gateway (no request to it). */
interface SecondSample {
  /** Seconds since the window's start (end of this second). */
  t: number;
  /** Busy share of the whole machine, % of one core (2 cores = 200 %). */
  machineBusyPct: number;
  gatewayCpuPct: number;
  /** This bench process's own event-loop delay (minus 10 ms), max in this second: a stall of the machine shows here too. */
  benchMaxMs: number;
}

/** One interval of the window in --interval mode: the gateway's lag as read by the scrape that closed it. */
interface IntervalSample {
  /** Seconds since the window's start (end of this interval). */
  t: number;
  lag: LagReading['lag'];
  /** This process's own event-loop delay max (minus 10 ms) in the same interval. */
  benchMaxMs: number;
  machineBusyPct: number;
}

interface WindowResult {
  seconds: number;
  /** True: one histogram over the whole window. False (--interval): aggregated from the intervals' histograms. */
  exact: boolean;
  intervals: IntervalSample[];
  /** How long the closing /metrics scrape took, seen from this process (ms). */
  scrapeMs: number;
  gc: { kind: string; pauses: number; totalMs: number; over10ms: number }[];
  perSecond: SecondSample[];
  lag: LagReading;
  gatewayCpuS: number;
  gatewayCpuPct: number;
  machineBusyPct: number;
  heartbeatPings: number;
  heartbeatTimeouts: number;
  sessionsStart: number;
  sessionsEnd: number;
  connectionsEnd: number;
  rssEndMiB: number;
  benchEventLoopDelayMs: { p99: number; max: number };
}

/**
 * One window: a scrape that resets the histogram, D seconds with no request to the gateway, a
 * scrape that reads it. Meanwhile, every second, the machine's busy time, the gateway's CPU (both
 * from /proc) and this process's own event-loop delay are sampled, so that a stall can be told
 * apart from the machine being busy with something else.
 */
async function measureWindow(gw: GatewayProcess, seconds: number, intervalS = 0): Promise<WindowResult> {
  const pid = gw.pid as number;
  const own = monitorEventLoopDelay({ resolution: SAMPLING_MS });
  const second = monitorEventLoopDelay({ resolution: SAMPLING_MS });
  const start = await scrape(gw.httpUrl);
  const t0 = performance.now();
  const cpu0 = cpuTimes(pid);
  const m0 = machineTicks();
  own.enable();
  second.enable();
  const perSecond: SecondSample[] = [];
  let last = { t: t0, m: m0, cpu: cpu0.user + cpu0.system };
  const sampler = setInterval(() => {
    const t = performance.now();
    const m = machineTicks();
    const c = cpuTimes(pid);
    const cpu = c.user + c.system;
    perSecond.push({
      t: (t - t0) / 1000,
      machineBusyPct: ((100 * (m.busy - last.m.busy)) / Math.max(1, m.total - last.m.total)) * cpus().length,
      gatewayCpuPct: (100 * (cpu - last.cpu)) / ((t - last.t) / 1000),
      benchMaxMs: Math.max(0, second.max / 1e6 - SAMPLING_MS),
    });
    second.reset();
    last = { t, m, cpu };
  }, 1000);
  // --interval: a scrape every intervalS seconds, each reading (and resetting) the gateway's histogram.
  const intervals: IntervalSample[] = [];
  const chunk = monitorEventLoopDelay({ resolution: SAMPLING_MS });
  chunk.enable();
  let mLast = m0;
  if (intervalS > 0) {
    for (let k = 1; k * intervalS < seconds; k++) {
      await sleep(Math.max(0, t0 + k * intervalS * 1000 - performance.now()));
      const m = machineTicks();
      const benchMaxMs = Math.max(0, chunk.max / 1e6 - SAMPLING_MS);
      chunk.reset();
      const reading = await scrape(gw.httpUrl);
      intervals.push({
        t: (performance.now() - t0) / 1000,
        lag: lagOf(reading.sample).lag,
        benchMaxMs,
        machineBusyPct: ((100 * (m.busy - mLast.busy)) / Math.max(1, m.total - mLast.total)) * cpus().length,
      });
      mLast = m;
    }
  }
  await sleep(Math.max(0, t0 + seconds * 1000 - performance.now()));
  clearInterval(sampler);
  own.disable();
  second.disable();
  chunk.disable();
  const cpu1 = cpuTimes(pid);
  const m1 = machineTicks();
  const t1 = performance.now();
  const end = await scrape(gw.httpUrl);
  const scrapeMs = performance.now() - t1;
  let lag = lagOf(end.sample);
  if (intervalS > 0) {
    intervals.push({
      t: (t1 - t0) / 1000,
      lag: lag.lag,
      benchMaxMs: Math.max(0, chunk.max / 1e6 - SAMPLING_MS),
      machineBusyPct: ((100 * (m1.busy - mLast.busy)) / Math.max(1, m1.total - mLast.total)) * cpus().length,
    });
    // Overall figures from the intervals: max exact; p90/p99 the largest of the intervals' (an
    // upper bound of the window's); p50 the median of the intervals'; mean the average.
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const p50s = sorted(intervals.map((x) => x.lag.p50));
    lag = {
      raw: lag.raw,
      lag: {
        p50: p50s[Math.floor(p50s.length / 2)] as number,
        p90: Math.max(...intervals.map((x) => x.lag.p90)),
        p99: Math.max(...intervals.map((x) => x.lag.p99)),
        max: Math.max(...intervals.map((x) => x.lag.max)),
        mean: intervals.reduce((n, x) => n + x.lag.mean, 0) / intervals.length,
      },
    };
  }
  const wallS = (t1 - t0) / 1000;
  const gatewayCpuS = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  const gc = [...end.gc.entries()].map(([kind, e]) => {
    const s0 = start.gc.get(kind) ?? { count: 0, sumS: 0, over10ms: 0 };
    return { kind, pauses: e.count - s0.count, totalMs: (e.sumS - s0.sumS) * 1000, over10ms: e.over10ms - s0.over10ms };
  });
  return {
    seconds: wallS,
    gc,
    perSecond,
    exact: intervalS === 0,
    intervals,
    scrapeMs,
    lag,
    gatewayCpuS,
    gatewayCpuPct: (100 * gatewayCpuS) / wallS,
    machineBusyPct: ((100 * (m1.busy - m0.busy)) / (m1.total - m0.total)) * cpus().length,
    heartbeatPings: counter(end.sample, 'heartbeat_pings_total') - counter(start.sample, 'heartbeat_pings_total'),
    heartbeatTimeouts: counter(end.sample, 'heartbeat_timeouts_total') - counter(start.sample, 'heartbeat_timeouts_total'),
    sessionsStart: counter(start.sample, 'sessions'),
    sessionsEnd: counter(end.sample, 'sessions'),
    connectionsEnd: counter(end.sample, 'connections'),
    rssEndMiB: rssBytes(pid) / 2 ** 20,
    benchEventLoopDelayMs: { p99: Math.max(0, own.percentile(99) / 1e6 - SAMPLING_MS), max: Math.max(0, own.max / 1e6 - SAMPLING_MS) },
  };
}

/**
 * How long a /metrics request takes to answer, seen from here (3 requests, 1 s apart). The scrape
 * is one synchronous stretch of the gateway's loop around the histogram's reset, and the
 * histogram drops the first delay after a reset, so scrapes do not show in the lag figures: this
 * says what they cost instead.
 */
async function scrapeTimes(gw: GatewayProcess, count = 3): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(1000);
    const t = performance.now();
    await scrape(gw.httpUrl);
    times.push(performance.now() - t);
  }
  return times;
}

function loadAverages(): [number, number, number] {
  try {
    const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).map(Number);
    return [a ?? NaN, b ?? NaN, c ?? NaN];
  } catch {
    return loadavg() as [number, number, number];
  }
}

// ---------------------------------------------------------------------------------- the run

async function run(options: IdleOptions): Promise<void> {
  const { sockets, roomSize, heartbeatMs } = options;
  const rooms = Math.ceil(sockets / roomSize);
  const budgetMs = (120 + sockets * 0.05 + options.baseline + options.warmup + options.seconds + 60) * 1000;
  setTimeout(() => void abort(`time budget of ${Math.round(budgetMs / 1000)} s exceeded`, 3), budgetMs).unref();

  const loadBefore = loadAverages();
  log(
    `${options.label}: ${sockets} idle sockets in ${rooms} rooms of ${roomSize}, HEARTBEAT_INTERVAL_MS=${heartbeatMs}, ` +
      `memory bus, baseline ${options.baseline} s, warm-up ${options.warmup} s, window ${options.seconds} s`,
  );
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load averages before the run ${loadBefore.map((x) => x.toFixed(2)).join(', ')}`);

  phase = 'starting the gateway';
  const env: Record<string, string> = {
    // 'info': GatewayProcess learns the port from the info-level "listening" line. Info lines
    // come from joins and leaves only, none during the window.
    LOG_LEVEL: 'info',
    HEARTBEAT_INTERVAL_MS: String(heartbeatMs),
    // Every client connects from 127.0.0.1.
    MAX_CONNECTIONS_PER_IP: String(Math.max(100, sockets + 100)),
    MAX_CONNECTIONS: String(Math.max(20_000, sockets + 100)),
    ...(roomSize > 50 ? { ROOM_CAPACITY: String(roomSize) } : {}),
    SHUTDOWN_DEADLINE_MS: '8000',
    ...Object.fromEntries(
      (process.env.BENCH_GATEWAY_ENV ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  };
  const t0 = Date.now();
  gateway = await GatewayProcess.start({ nodeId: 'idle-1', bus: 'memory', env });
  const gw = gateway;
  const pid = gw.pid as number;
  log(`gateway ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: pid ${pid} port ${gw.port}`);
  await sleep(1000);
  const rssEmptyMiB = rssBytes(pid) / 2 ** 20;

  let baseline: WindowResult | undefined;
  let scrapeMsEmpty: number[] = [];
  if (options.baseline > 0) {
    phase = 'baseline (empty gateway)';
    log(`baseline: the empty gateway's event-loop lag over ${options.baseline} s`);
    baseline = await measureWindow(gw, options.baseline);
    scrapeMsEmpty = await scrapeTimes(gw);
    log(`baseline: lag p50 ${baseline.lag.lag.p50.toFixed(2)} p99 ${baseline.lag.lag.p99.toFixed(2)} max ${baseline.lag.lag.max.toFixed(2)} ms`);
  }

  phase = 'connecting clients';
  const generator = new LoadGenerator(12, 1);
  load = generator;
  const t1 = Date.now();
  let lastProgress = 0;
  for (let i = 0; i < sockets; i += CONNECT_CONCURRENCY) {
    const batch = [];
    for (let k = i; k < Math.min(sockets, i + CONNECT_CONCURRENCY); k++) {
      const room = Math.floor(k / roomSize);
      const userId = `idle-u${room}-${k % roomSize}`;
      const token = joinToken(userId, `idle-room-${room}`, 'listener');
      batch.push(generator.connect({ index: k, room, node: 0, userId }, gw.wsUrl, token, gw.nodeId, JOIN_TIMEOUT_MS));
    }
    await Promise.all(batch);
    const joined = generator.members.length;
    if (joined - lastProgress >= 500 || joined === sockets) {
      lastProgress = joined;
      const s = (Date.now() - t1) / 1000;
      log(`connecting: ${joined}/${sockets} joined (${s.toFixed(1)} s, ${Math.round(joined / s)}/s)`);
    }
    if (!gw.alive) throw new Error(`the gateway exited (code ${gw.exitCode}) while clients connected`);
  }
  const joinS = (Date.now() - t1) / 1000;
  const rssIdleMiB = rssBytes(pid) / 2 ** 20;

  phase = 'warm-up';
  log(`warm-up ${options.warmup} s (${Math.floor((options.warmup * 1000) / heartbeatMs)} heartbeat round(s))`);
  await sleep(options.warmup * 1000);

  phase = 'measuring';
  log(
    `measuring the gateway's event-loop lag for ${options.seconds} s (${((options.seconds * 1000) / heartbeatMs).toFixed(1)} heartbeat rounds; no request to the gateway meanwhile)`,
  );
  const window = await measureWindow(gw, options.seconds, options.interval);
  const openClients = generator.members.filter((m) => m.ws.readyState === WebSocket.OPEN).length;
  phase = 'scrape times';
  const scrapeMsIdle = await scrapeTimes(gw);
  if (!gw.alive) throw new Error(`the gateway exited (code ${gw.exitCode}) during the run`);
  const loadAfter = loadAverages();

  phase = 'report';
  const slots = Math.max(1, Math.round(heartbeatMs / HEARTBEAT_TICK_MS));
  const expectedPings = (sockets * window.seconds * 1000) / heartbeatMs;
  const warnings = gw.output.filter((l) => /"level":(40|50|60)/.test(l));
  const json = {
    bench: 'idle-sockets',
    label: options.label,
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    loadAveragesBefore: loadBefore,
    loadAveragesAfter: loadAfter,
    options,
    heartbeatIntervalMs: heartbeatMs,
    heartbeatSlots: slots,
    socketsPerTick: sockets / slots,
    socketsRequested: sockets,
    socketsJoined: generator.members.length,
    socketsOpenAtEnd: openClients,
    gatewaySessionsStart: window.sessionsStart,
    gatewaySessionsEnd: window.sessionsEnd,
    gatewayTcpConnectionsEnd: window.connectionsEnd,
    rooms,
    joinSeconds: joinS,
    windowS: window.seconds,
    // The gateway's event-loop lag in the window, ms (histogram value − 10 ms sampling interval).
    eventLoopLagMs: window.lag.lag,
    // false with --interval: p90/p99 are the largest of the intervals' (upper bounds), p50 their median.
    eventLoopLagExact: window.exact,
    intervals: window.intervals.map((x) => ({
      t: Math.round(x.t * 10) / 10,
      lagP99Ms: x.lag.p99,
      lagMaxMs: x.lag.max,
      benchMaxMs: x.benchMaxMs,
      machineBusyPct: Math.round(x.machineBusyPct),
    })),
    // With --interval: the gateway's max over the intervals in which this process's own loop did not stall over 10 ms.
    lagMaxMsWhereBenchDidNotStall: window.exact ? null : Math.max(0, ...window.intervals.filter((x) => x.benchMaxMs <= 10).map((x) => x.lag.max)),
    metricsScrapeMs: window.scrapeMs,
    // /metrics response times (ms), empty gateway and after the window with N sockets.
    scrapeMsEmpty,
    scrapeMsIdle,
    eventLoopDelayRawMs: window.lag.raw,
    heartbeatPings: window.heartbeatPings,
    heartbeatPingsExpected: Math.round(expectedPings),
    heartbeatTimeouts: window.heartbeatTimeouts,
    gatewayCpuS: window.gatewayCpuS,
    gatewayCpuPct: window.gatewayCpuPct,
    machineBusyPct: window.machineBusyPct,
    rssEmptyMiB,
    rssIdleMiB,
    rssEndMiB: window.rssEndMiB,
    baseline: baseline
      ? {
          seconds: baseline.seconds,
          eventLoopLagMs: baseline.lag.lag,
          eventLoopDelayRawMs: baseline.lag.raw,
          gatewayCpuPct: baseline.gatewayCpuPct,
          machineBusyPct: baseline.machineBusyPct,
        }
      : null,
    benchEventLoopDelayMs: window.benchEventLoopDelayMs,
    gatewayGcPauses: window.gc,
    // Seconds of the window in which this process's own loop also stalled over 10 ms, or the
    // machine was nearly saturated (over 180 % of 200 %): signs of contention from outside.
    secondsBenchStalledOver10ms: window.perSecond.filter((x) => x.benchMaxMs > 10).length,
    secondsMachineOver180Pct: window.perSecond.filter((x) => x.machineBusyPct > 180).length,
    perSecond: window.perSecond.map((x) => ({
      t: Math.round(x.t * 10) / 10,
      machineBusyPct: Math.round(x.machineBusyPct),
      gatewayCpuPct: Math.round(x.gatewayCpuPct * 10) / 10,
      benchMaxMs: Math.round(x.benchMaxMs * 10) / 10,
    })),
    clientProblems: generator.problems,
    gatewayWarnings: warnings.length,
    target: { lagMsAtMost: 10, met: window.lag.lag.max <= 10 },
  };

  const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const row = (name: string, value: string) => `${name.padEnd(28)} ${value}`;
  const lagRow = (l: LagReading) => `p50 ${f(l.lag.p50)}  p90 ${f(l.lag.p90)}  p99 ${f(l.lag.p99)}  max ${f(l.lag.max)} ms  (mean ${f(l.lag.mean)})`;
  const lines = [
    `==== ${options.label}: one gateway, memory bus, ${n(sockets)} idle sockets in ${rooms} rooms of ${roomSize}, window ${f(window.seconds, 1)} s`,
    row('heartbeat', `HEARTBEAT_INTERVAL_MS=${heartbeatMs} (${slots} slots of ${f(heartbeatMs / slots, 0)} ms, ~${f(sockets / slots, 1)} pings per tick)`),
    row(
      'sockets',
      `joined ${n(generator.members.length)}/${n(sockets)} in ${f(joinS, 1)} s; open at the end ${n(openClients)}; gateway sessions ${window.sessionsStart} → ${window.sessionsEnd}, TCP connections ${window.connectionsEnd}`,
    ),
    row('gateway event-loop lag', `${lagRow(window.lag)}   <- target: max ≤ 10 ms: ${json.target.met ? 'met' : 'NOT met'}`),
    ...(window.exact
      ? []
      : [
          row(
            '',
            `(from ${window.intervals.length} intervals of ${options.interval} s: p90/p99 are the largest interval's, an upper bound; p50 the median interval's)`,
          ),
        ]),
    ...window.intervals
      .filter((x) => x.lag.max > 10)
      .map(
        (x) =>
          `  interval ending ${f(x.t, 0).padStart(3)} s: gateway max ${f(x.lag.max, 1)} ms, p99 ${f(x.lag.p99, 2)} ms; bench's own loop max ${f(x.benchMaxMs, 1)} ms; machine ${f(x.machineBusyPct, 0)} % busy`,
      ),
    ...(window.exact
      ? []
      : [
          row(
            '  max where bench no stall',
            `${f(json.lagMaxMsWhereBenchDidNotStall ?? NaN)} ms (intervals in which this process's own loop did not stall over 10 ms)`,
          ),
        ]),
    row(
      window.exact ? '  raw histogram (incl. 10 ms)' : '  raw, last interval',
      `min ${f(window.lag.raw.min)}  p50 ${f(window.lag.raw.p50)}  p99 ${f(window.lag.raw.p99)}  max ${f(window.lag.raw.max)} ms`,
    ),
    ...(baseline ? [row(`empty gateway (${f(baseline.seconds, 0)} s)`, lagRow(baseline.lag))] : []),
    row(
      '/metrics response time',
      `${scrapeMsIdle.map((x) => f(x, 1)).join(', ')} ms with ${n(sockets)} sockets` +
        `${scrapeMsEmpty.length ? `, ${scrapeMsEmpty.map((x) => f(x, 1)).join(', ')} ms empty` : ''} (not in the lag figures: the histogram drops the first delay after its reset)`,
    ),
    row('heartbeat pings', `${n(window.heartbeatPings)} in the window (expected ~${n(expectedPings)}), timeouts ${window.heartbeatTimeouts}`),
    row('gateway CPU', `${f(window.gatewayCpuS)} s (${f(window.gatewayCpuPct, 1)} % of a core)${baseline ? `; empty: ${f(baseline.gatewayCpuPct, 1)} %` : ''}`),
    row('gateway RSS', `empty ${f(rssEmptyMiB, 1)} MiB, after joins ${f(rssIdleMiB, 1)} MiB, end ${f(window.rssEndMiB, 1)} MiB`),
    row(
      'machine',
      `${cpus().length} cores, busy ${f(window.machineBusyPct, 1)} % of one core in the window; load averages before ${loadBefore.map((x) => f(x)).join(' ')}, after ${loadAfter.map((x) => f(x)).join(' ')}`,
    ),
    row(
      'gateway GC pauses',
      window.gc
        .filter((g) => g.pauses > 0)
        .map((g) => `${g.kind} ${g.pauses} (${f(g.totalMs, 1)} ms, ${g.over10ms} over 10 ms)`)
        .join(', ') || 'none',
    ),
    row(
      'bench process',
      `event-loop delay p99 ${f(window.benchEventLoopDelayMs.p99)} max ${f(window.benchEventLoopDelayMs.max)} ms; ` +
        `seconds with its own stall > 10 ms: ${json.secondsBenchStalledOver10ms}; seconds with the machine > 180 % busy: ${json.secondsMachineOver180Pct} of ${window.perSecond.length}`,
    ),
    ...window.perSecond
      .filter((x) => x.benchMaxMs > 10 || x.machineBusyPct > 180)
      .slice(0, 10)
      .map(
        (x) =>
          `  second ${f(x.t, 0).padStart(3)}: machine ${f(x.machineBusyPct, 0)} % busy, gateway CPU ${f(x.gatewayCpuPct, 1)} %, bench's own loop stalled ${f(x.benchMaxMs, 1)} ms`,
      ),
    row(
      'problems',
      `client closes ${generator.problems.closes} ${JSON.stringify(generator.problems.closeReasons)}, socket errors ${generator.problems.socketErrors}, gateway warn/error lines ${warnings.length}`,
    ),
    ...warnings.slice(-3).map((l) => `  ${l.slice(0, 300)}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const line = JSON.stringify(json);
  if (options.out) writeFileSync(options.out, line + '\n');
  process.stdout.write(line + '\n');
}

async function main(): Promise<void> {
  const options = parseOrExit(parseOptions, USAGE);
  try {
    await run(options);
  } catch (error) {
    await abort(`failed: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
  phase = 'stopping';
  await cleanup();
  process.exit(0);
}

void main();
