/**
 * Voice load benchmark: R rooms × M members, S speakers per room at 50 frames/s, against 1 or 2
 * gateway processes joined by RocketMQ (or one gateway on the memory bus). See docs/benchmarks.md.
 *
 *   npm run bench -- --rooms 40 --members 20 --speakers 1 --seconds 20 --bus rocketmq --nodes 2
 *
 * Everything it starts (the gateway processes) is stopped on exit, on SIGINT/SIGTERM/SIGHUP, on
 * errors and when the run overruns its time budget.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { GatewayProcess, joinToken, requireRocketMQ, REPO_ROOT, sleep } from '@voiceroom/testkit';
import { guardProcess, stopOwnGateways } from './gateway-guard';
import { FRAME_INTERVAL_MS, LoadGenerator, now, type Member } from './load-generator';
import { counter, counterDeltas, scrapeMetrics, type MetricSample } from './metrics';
import { parseOptions, parseOrExit, USAGE, type LoadOptions } from './options';
import { cpuSeconds, cpuTimes, findRocketMQJvms, jvmCpuSeconds, machineTicks, rocketmqRuntimeDir, rssBytes, type RocketMQJvm } from './proc';
import type { LatencySummary } from './histogram';

const CONNECT_CONCURRENCY = 100;
const JOIN_TIMEOUT_MS = 20_000;
const GATEWAY_STOP_GRACE_MS = 12_000;

// ---------------------------------------------------------------------------------- lifetime

const gateways: GatewayProcess[] = [];
let load: LoadGenerator | undefined;
let phase = 'starting';
let cleaning: Promise<void> | undefined;

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** Stops the clients and every gateway this process started; idempotent and bounded (~30 s). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    load?.terminateAll();
    await stopOwnGateways(gateways, GATEWAY_STOP_GRACE_MS);
  })();
  return cleaning;
}

async function abort(why: string, code: number): Promise<never> {
  log(why);
  log(`stopping${gateways.length ? ' the gateways' : ''} (phase: ${phase})`);
  for (const g of gateways) {
    const tail = g.output.filter((l) => !l.includes('"level":30')).slice(-10);
    if (tail.length > 0) log(`--- last warnings/errors of gateway ${g.nodeId} ---\n${tail.join('\n')}`);
  }
  await cleanup();
  process.exit(code);
}

guardProcess(abort);

// ---------------------------------------------------------------------------------- measuring

interface Snapshot {
  t: number;
  gatewayCpu: number[];
  gatewaySystemCpu: number[];
  gatewayRss: number[];
  /** CPU seconds of each RocketMQ JVM found (same order as the list given to snapshot()). */
  rocketmqCpu: number[];
  load: NodeJS.CpuUsage;
  loadRss: number;
  arrivals: number;
  machine: { busy: number; total: number };
}

/**
 * The RocketMQ JVMs to measure: pid files of the runtime dir in use (ROCKETMQ_RUNTIME_DIR, else
 * <repo>/.rocketmq), else a scan of /proc. Never silent: says what it found, or warns that the
 * broker's CPU will be missing from the report (brokerCpuS: null in the JSON).
 */
function rocketmqJvms(): RocketMQJvm[] {
  const runtimeDir = rocketmqRuntimeDir(REPO_ROOT);
  const { jvms, notes } = findRocketMQJvms(runtimeDir);
  for (const note of notes) log(`note: ${note}`);
  if (jvms.length === 0) {
    log(
      `WARNING: no RocketMQ JVM found (no live pid in ${join(runtimeDir, 'namesrv.pid')} or ${join(runtimeDir, 'proxy.pid')}, ` +
        'no org.apache.rocketmq NamesrvStartup/ProxyStartup/BrokerStartup process in /proc): the broker CPU is NOT measured ' +
        '(brokerCpuS: null in the JSON). Set ROCKETMQ_RUNTIME_DIR to the runtime dir of the running RocketMQ.',
    );
  } else {
    log(`RocketMQ JVMs measured: ${jvms.map((j) => `${j.component} pid ${j.pid} (${j.source})`).join(', ')}`);
  }
  return jvms;
}

function snapshot(generator: LoadGenerator, mqJvms: readonly RocketMQJvm[]): Snapshot {
  return {
    t: now(),
    gatewayCpu: gateways.map((g) => cpuSeconds(g.pid as number)),
    gatewaySystemCpu: gateways.map((g) => cpuTimes(g.pid as number).system),
    gatewayRss: gateways.map((g) => rssBytes(g.pid as number)),
    rocketmqCpu: jvmCpuSeconds(mqJvms),
    load: process.cpuUsage(),
    loadRss: process.memoryUsage.rss(),
    arrivals: generator.arrivals,
    machine: machineTicks(),
  };
}

const scrapeAll = (): Promise<MetricSample[]> => Promise.all(gateways.map((g) => scrapeMetrics(g.httpUrl)));

async function waitForPresence(): Promise<void> {
  // Each join publishes one presence event: let them be stored and delivered before the load
  // starts, so that their traffic is not measured. Done when every node has published one per join
  // and nothing new has been received for 1.5 s (bounded).
  const deadline = Date.now() + 30_000;
  let lastReceived = '';
  let quietSince = Date.now();
  for (;;) {
    const samples = await scrapeAll();
    const published = samples.map((s) => counter(s, 'bus_events_published_total'));
    const joins = samples.map((s) => counter(s, 'joins_accepted_total'));
    const received = samples.map((s) => counter(s, 'bus_events_received_total'));
    if (received.join('/') !== lastReceived) {
      lastReceived = received.join('/');
      quietSince = Date.now();
    }
    const allPublished = published.every((p, i) => p >= (joins[i] as number));
    if (allPublished && Date.now() - quietSince >= 1500) {
      const total = published.reduce((x, y) => x + y, 0);
      const missing = received.map((r, i) => total - (published[i] as number) - r);
      if (missing.some((m) => m > 0)) {
        log(
          `note: presence events received from the other node ${received.join('/')} of ${missing.map((m, i) => m + (received[i] as number)).join('/')} ` +
            '(presence events lost or late; voice routing does not depend on them)',
        );
      }
      return;
    }
    if (Date.now() > deadline) {
      log(`warning: presence events not settled after 30 s (published ${published.join('/')}, joins ${joins.join('/')}, received ${received.join('/')})`);
      return;
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------- the run

async function run(options: LoadOptions): Promise<void> {
  const { rooms, members, speakers, nodes } = options;
  const connections = rooms * members;
  // Setup is bounded by GatewayProcess (90 s) and the joins; the rest is the load itself.
  const budgetMs = (120 + connections * 0.05 + options.warmup + options.seconds + options.drain + 60) * 1000;
  setTimeout(() => void abort(`time budget of ${Math.round(budgetMs / 1000)} s exceeded`, 3), budgetMs).unref();

  if (options.bus === 'rocketmq') {
    phase = 'checking RocketMQ';
    try {
      await requireRocketMQ();
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n` +
          'The benchmark needs a running RocketMQ: `bash rocketmq/rocketmq.sh up` (and `bash rocketmq/rocketmq.sh down` when done), ' +
          'or run it without RocketMQ: --bus memory --nodes 1.',
      );
    }
  }
  // Found before the gateways start, so a missing broker is said at once (and not mid-run).
  let mqJvms = options.bus === 'rocketmq' ? rocketmqJvms() : [];
  log(
    `${options.label}: ${rooms} rooms × ${members} members, ${speakers} speaker(s)/room, ${nodes} gateway(s), bus ${options.bus}, ` +
      `payload ${options.payload} B, warm-up ${options.warmup} s, window ${options.seconds} s`,
  );

  phase = 'starting gateways';
  const env: Record<string, string> = {
    // 'info' and not 'warn': GatewayProcess learns the port from the info-level "listening" line.
    // Info lines come from joins and leaves only, outside the measured window.
    LOG_LEVEL: 'info',
    // 50 frames/s is under the default 60, but a stalled load generator catching up would burst.
    VOICE_MAX_FPS: '100',
    VOICE_BURST_FRAMES: '100',
    VOICE_MAX_PAYLOAD_BYTES: String(Math.max(512, options.payload)),
    SHUTDOWN_DEADLINE_MS: '8000',
    // Every simulated client connects from 127.0.0.1.
    MAX_CONNECTIONS_PER_IP: '100000',
    ...(process.env.BENCH_SPEAKERS_INTERVAL_MS ? { SPEAKERS_INTERVAL_MS: process.env.BENCH_SPEAKERS_INTERVAL_MS } : {}),
    // Tuning runs: BENCH_GATEWAY_ENV="BUS_MAX_VOICE_MESSAGES_PER_SEC=50,OTHER=1".
    ...Object.fromEntries(
      (process.env.BENCH_GATEWAY_ENV ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  };
  // Profiling runs: BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=artifacts/prof".
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const t0 = Date.now();
  const started = await Promise.allSettled(
    Array.from({ length: nodes }, (_, i) => GatewayProcess.start({ nodeId: `bench-${i + 1}`, bus: options.bus, env, nodeArgs })),
  );
  for (const result of started) if (result.status === 'fulfilled') gateways.push(result.value);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw new Error(`a gateway did not start: ${String(failed.reason)}`);
  log(`gateways ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${gateways.map((g) => `${g.nodeId} pid ${g.pid} port ${g.port}`).join(', ')}`);
  await sleep(500);
  const rssEmpty = gateways.map((g) => rssBytes(g.pid as number));

  phase = 'connecting clients';
  const generator = new LoadGenerator(options.payload, nodes);
  load = generator;
  const t1 = Date.now();
  const jobs: { room: number; m: number }[] = [];
  for (let room = 0; room < rooms; room++) for (let m = 0; m < members; m++) jobs.push({ room, m });
  const byRoom: Member[][] = Array.from({ length: rooms }, () => []);
  const isSpeaker = (room: number, m: number) => (((m - room) % members) + members) % members < speakers;
  for (let i = 0; i < jobs.length; i += CONNECT_CONCURRENCY) {
    const batch = await Promise.all(
      jobs.slice(i, i + CONNECT_CONCURRENCY).map(({ room, m }) => {
        const node = m % nodes; // members alternate over the nodes
        const gateway = gateways[node] as GatewayProcess;
        const userId = `bench-u${room}-${m}`;
        const token = joinToken(userId, `bench-room-${room}`, isSpeaker(room, m) ? 'speaker' : 'listener');
        return generator.connect({ index: room * members + m, room, node, userId }, gateway.wsUrl, token, gateway.nodeId, JOIN_TIMEOUT_MS);
      }),
    );
    for (const member of batch) byRoom[member.room]?.push(member);
  }
  for (const list of byRoom) list.sort((a, b) => a.index - b.index);
  log(`${connections} clients joined in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  // Speakers of room r are members r, r+1, … (mod M): with 2 nodes they alternate between the
  // nodes from room to room, and each has listeners on its own node and on the other one.
  for (let room = 0; room < rooms; room++) {
    const list = byRoom[room] as Member[];
    for (let k = 0; k < speakers; k++) generator.addSpeaker(list[(room + k) % members] as Member, list);
  }
  const lopsided = generator.speakers.filter((s) => s.sameNodeListeners === 0 || (nodes === 2 && s.crossNodeListeners === 0));
  if (lopsided.length > 0) log(`warning: ${lopsided.length} speaker(s) lack listeners on their own or the other node`);

  if (options.bus === 'rocketmq') {
    phase = 'waiting for presence events';
    await waitForPresence();
  }
  await sleep(1000);
  const rssIdle = gateways.map((g) => rssBytes(g.pid as number));

  phase = 'warm-up';
  generator.start();
  await sleep(options.warmup * 1000);

  phase = 'measuring';
  if (options.bus === 'rocketmq') {
    // RocketMQ may have been restarted since the start (it is shared): measure the JVMs running now.
    const current = findRocketMQJvms(rocketmqRuntimeDir(REPO_ROOT)).jvms;
    const key = (list: readonly RocketMQJvm[]) => list.map((j) => `${j.component} pid ${j.pid}`).join(', ');
    if (key(current) !== key(mqJvms)) {
      log(`WARNING: the RocketMQ JVMs changed since the start (restarted?): were ${key(mqJvms) || 'none'}, now ${key(current) || 'none'}`);
      if (current.length === 0) log('WARNING: no RocketMQ JVM found: the broker CPU is NOT measured (brokerCpuS: null in the JSON)');
      mqJvms = current;
    }
  }
  const metricsStart = await scrapeAll(); // scraped outside the CPU window
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  const a = snapshot(generator, mqJvms);
  generator.setWindow(a.t, a.t + options.seconds * 1000);
  eventLoop.enable();
  await sleep(Math.max(0, a.t + options.seconds * 1000 - now()));
  while (generator.sending) await sleep(1); // the pacing timer stops itself at the window's end
  const b = snapshot(generator, mqJvms);
  eventLoop.disable();
  const metricsEnd = await scrapeAll();

  phase = 'drain';
  await sleep(options.drain * 1000);
  const c = snapshot(generator, mqJvms);
  for (const g of gateways) if (!g.alive) throw new Error(`gateway ${g.nodeId} exited (code ${g.exitCode}) during the run`);

  phase = 'report';
  // The histogram includes its own 10 ms sampling interval: subtract it to get the delay.
  const eventLoopDelay = { p99: Math.max(0, eventLoop.percentile(99) / 1e6 - 10), max: Math.max(0, eventLoop.max / 1e6 - 10) };
  const report = buildReport(options, generator, { a, b, c }, metricsStart, metricsEnd, { rssEmpty, rssIdle, byRoom, eventLoopDelay, mqJvms });
  process.stdout.write(report.text + '\n');
  const json = JSON.stringify(report.json);
  if (options.out) writeFileSync(options.out, json + '\n');
  process.stdout.write(json + '\n');
}

// ---------------------------------------------------------------------------------- report

function buildReport(
  options: LoadOptions,
  g: LoadGenerator,
  s: { a: Snapshot; b: Snapshot; c: Snapshot },
  metricsStart: MetricSample[],
  metricsEnd: MetricSample[],
  extra: {
    rssEmpty: number[];
    rssIdle: number[];
    byRoom: Member[][];
    eventLoopDelay: { p99: number; max: number };
    mqJvms: readonly RocketMQJvm[];
  },
): { text: string; json: object } {
  const { a, b, c } = s;
  const wallS = (b.t - a.t) / 1000;
  const expected = g.expectedSame + g.expectedCross;
  const delivered = g.deliveredSame + g.deliveredCross;
  const arrivedInWindow = b.arrivals - a.arrivals;
  const perNode = gateways.map((gw, i) => {
    const counters = counterDeltas(metricsStart[i] as MetricSample, metricsEnd[i] as MetricSample);
    const cpuS = (b.gatewayCpu[i] as number) - (a.gatewayCpu[i] as number);
    const systemCpuS = (b.gatewaySystemCpu[i] as number) - (a.gatewaySystemCpu[i] as number);
    const connections = extra.byRoom.reduce((n, list) => n + list.filter((m) => m.node === i).length, 0);
    const rssIdle = extra.rssIdle[i] as number;
    const rssEmpty = extra.rssEmpty[i] as number;
    return {
      node: gw.nodeId,
      pid: gw.pid,
      connections,
      cpuS,
      cpuPct: (100 * cpuS) / wallS,
      systemCpuS,
      rssEmptyMiB: rssEmpty / 2 ** 20,
      rssIdleMiB: rssIdle / 2 ** 20,
      // Only meaningful with many connections (GC and JIT move RSS by megabytes).
      rssIdlePerConnectionKiB: connections >= 500 ? (rssIdle - rssEmpty) / 1024 / connections : NaN,
      rssEndMiB: (b.gatewayRss[i] as number) / 2 ** 20,
      rssAfterDrainMiB: (c.gatewayRss[i] as number) / 2 ** 20,
      busVoiceMessagesPerS: counters.bus_voice_messages_published_total / wallS,
      busVoiceMessagesReceivedPerS: counters.bus_voice_messages_received_total / wallS,
      busVoicePullsPerS: counters.bus_voice_pulls_total / wallS,
      framesInPerS: counters.voice_frames_in_total / wallS,
      deliveriesCounted: counters.voice_deliveries_total + counters.voice_remote_deliveries_total,
      // prom-client resets its event-loop histogram at every scrape, so the end scrape covers the
      // window; its 10 ms sampling interval is included in the values: subtract it.
      eventLoopDelayMs: {
        p50: Math.max(0, counter(metricsEnd[i] as MetricSample, 'nodejs_eventloop_lag_p50_seconds') * 1000 - 10),
        p99: Math.max(0, counter(metricsEnd[i] as MetricSample, 'nodejs_eventloop_lag_p99_seconds') * 1000 - 10),
        max: Math.max(0, counter(metricsEnd[i] as MetricSample, 'nodejs_eventloop_lag_max_seconds') * 1000 - 10),
      },
      counters,
      warnings: gw.output.filter((l) => /"level":(40|50|60)/.test(l)).length,
      lastWarnings: gw.output
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(-3)
        .map((l) => l.slice(0, 300)),
    };
  });
  const gatewayCpuS = perNode.reduce((n, x) => n + x.cpuS, 0);
  const gatewayDeliveriesCounted = perNode.reduce((n, x) => n + x.deliveriesCounted, 0);
  const loadCpuS = (b.load.user + b.load.system - a.load.user - a.load.system) / 1e6;
  const loadSystemCpuS = (b.load.system - a.load.system) / 1e6;
  // Each RocketMQ JVM separately; the broker's CPU (all of them: NameServer + Proxy with the
  // embedded broker, or a separate Broker) is null when none was found or one went away.
  const rocketmqJvmsCpu = extra.mqJvms.map((j, i) => {
    const cpuS = (b.rocketmqCpu[i] as number) - (a.rocketmqCpu[i] as number);
    return {
      component: j.component,
      pid: j.pid,
      source: j.source,
      cpuS: Number.isFinite(cpuS) ? cpuS : null,
      cpuPct: Number.isFinite(cpuS) ? (100 * cpuS) / wallS : null,
    };
  });
  const rocketmqCpuS =
    rocketmqJvmsCpu.length > 0 && rocketmqJvmsCpu.every((j) => j.cpuS !== null) ? rocketmqJvmsCpu.reduce((sum, j) => sum + (j.cpuS as number), 0) : null;
  if (options.bus === 'rocketmq' && rocketmqCpuS === null) {
    log(
      extra.mqJvms.length === 0
        ? 'WARNING: broker CPU missing: no RocketMQ JVM was found (brokerCpuS: null)'
        : `WARNING: broker CPU missing: RocketMQ JVM(s) ${rocketmqJvmsCpu
            .filter((j) => j.cpuS === null)
            .map((j) => `${j.component} pid ${j.pid}`)
            .join(', ')} went away during the window (brokerCpuS: null)`,
    );
  }
  const machineBusyPct = ((100 * (b.machine.busy - a.machine.busy)) / (b.machine.total - a.machine.total)) * cpus().length;
  const latSame = g.latencySame.summary();
  const latCross = g.latencyCross.summary();
  const wireSame = g.wireLatencySame.summary();
  const wireCross = g.wireLatencyCross.summary();
  const sendLag = g.sendLag.summary();
  const targetFps = (options.rooms * options.speakers * 1000) / FRAME_INTERVAL_MS;
  const problems = {
    ...g.problems,
    unknownSpeaker: g.unknownSpeaker,
    wrongRoom: g.wrongRoom,
    malformed: g.malformed,
    sendsOnClosedSocket: g.sendsOnClosedSocket,
    gatewayWarnings: perNode.reduce((n, x) => n + x.warnings, 0),
  };

  const json = {
    bench: 'voice-load',
    label: options.label,
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    options,
    windowS: wallS,
    framesInTargetPerS: targetFps,
    // Sending stops at the window's end, so the window's configured length is the divisor.
    framesSentPerS: g.framesSentWin / options.seconds,
    framesSentWindow: g.framesSentWin,
    framesSentTotal: g.framesSentTotal,
    skipped: g.skipped,
    sendCopies: g.sendCopies,
    expected,
    expectedSame: g.expectedSame,
    expectedCross: g.expectedCross,
    delivered,
    deliveredSame: g.deliveredSame,
    deliveredCross: g.deliveredCross,
    deliveredPct: (100 * delivered) / expected,
    worstMemberPct: g.worstMemberPercent(),
    deliveriesPerS: arrivedInWindow / wallS,
    latencyMs: { same: latSame, cross: latCross },
    wireLatencyMs: { same: wireSame, cross: wireCross },
    sendLagMs: sendLag,
    gateways: perNode,
    gatewayCpuS,
    deliveriesPerGatewayCpuS: arrivedInWindow / gatewayCpuS,
    gatewayCountedDeliveriesPerCpuS: gatewayDeliveriesCounted / gatewayCpuS,
    arrivedInWindow,
    // The broker: every RocketMQ JVM together (null with the memory bus, or when not found).
    brokerCpuS: rocketmqCpuS,
    brokerCpuPct: rocketmqCpuS === null ? null : (100 * rocketmqCpuS) / wallS,
    rocketmqJvms: rocketmqJvmsCpu,
    rocketmqJvmCpuS: rocketmqCpuS,
    rocketmqJvmCpuPct: rocketmqCpuS === null ? null : (100 * rocketmqCpuS) / wallS,
    // Deliveries per CPU-second of the servers with the broker counted (gateways + RocketMQ JVMs).
    deliveriesPerServerCpuS: rocketmqCpuS === null ? null : arrivedInWindow / (gatewayCpuS + rocketmqCpuS),
    loadGenCpuS: loadCpuS,
    loadGenCpuPct: (100 * loadCpuS) / wallS,
    loadGenSystemCpuS: loadSystemCpuS,
    loadGenRssMiB: b.loadRss / 2 ** 20,
    loadGenEventLoopDelayMs: extra.eventLoopDelay,
    machineBusyPct,
    // Busy time not accounted to the gateways, the RocketMQ JVMs or this process: other work on the machine.
    otherBusyPct: machineBusyPct - (100 * (gatewayCpuS + loadCpuS + (rocketmqCpuS ?? 0))) / wallS,
    problems,
  };

  const f = (x: number | null | undefined, digits = 1): string => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(digits));
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const lat = (l: LatencySummary, d = 1) => `p50 ${f(l.p50, d)}  p90 ${f(l.p90, d)}  p99 ${f(l.p99, d)}  max ${f(l.max, d)} ms  (n=${n(l.n)})`;
  const lines = [
    `==== ${options.label}: ${options.rooms} rooms × ${options.members} members, ${options.speakers} speaker(s)/room, ` +
      `${options.nodes} gateway(s), bus ${options.bus}, payload ${options.payload} B, window ${f(wallS)} s`,
    `frames sent/s        ${f(json.framesSentPerS)} (target ${targetFps}); ${n(g.framesSentWin)} in the window, skipped ${g.skipped}, ` +
      `send lag p99 ${f(sendLag.p99, 1)} ms max ${f(sendLag.max, 1)} ms, buffer copies ${g.sendCopies}`,
    `deliveries           expected ${n(expected)}  received ${n(delivered)}  ${f(json.deliveredPct, 3)} %  ` +
      `(same-node ${n(g.deliveredSame)}/${n(g.expectedSame)}, cross-node ${n(g.deliveredCross)}/${n(g.expectedCross)}; worst member ${f(json.worstMemberPct, 2)} %)`,
    `deliveries/s         ${f(json.deliveriesPerS)} (arrived during the window)`,
    `latency same-node    ${lat(latSame, 2)}`,
    `latency cross-node   ${lat(latCross, 2)}`,
    `  from header ts     same ${lat(wireSame, 0)}`,
    `  (1 ms resolution)  cross ${lat(wireCross, 0)}`,
    ...perNode.map(
      (x) =>
        `gateway ${x.node}      CPU ${f(x.cpuS, 2)} s (${f(x.cpuPct)} % of a core, ${f((100 * x.systemCpuS) / x.cpuS, 0)} % in the kernel); frames in ${f(x.framesInPerS)}/s; ` +
        `RocketMQ voice messages published ${f(x.busVoiceMessagesPerS)}/s, received ${f(x.busVoiceMessagesReceivedPerS)}/s in ${f(x.busVoicePullsPerS)} pulls/s; ` +
        `RSS empty ${f(x.rssEmptyMiB)} MiB, ${x.connections} idle conns ${f(x.rssIdleMiB)} MiB (${f(x.rssIdlePerConnectionKiB)} KiB/conn, approx.), ` +
        `end of window ${f(x.rssEndMiB)} MiB; event-loop delay p50 ${f(x.eventLoopDelayMs.p50)} p99 ${f(x.eventLoopDelayMs.p99)} max ${f(x.eventLoopDelayMs.max)} ms`,
    ),
    `gateways CPU         ${f(gatewayCpuS, 2)} s; ${n(arrivedInWindow)} deliveries arrived in the window -> ` +
      `${n(json.deliveriesPerGatewayCpuS)} deliveries per gateway CPU-second (gateway counters: ${n(json.gatewayCountedDeliveriesPerCpuS)})`,
    `RocketMQ JVMs CPU    ${
      rocketmqCpuS === null
        ? options.bus === 'rocketmq'
          ? 'NOT MEASURED (no RocketMQ JVM found, or one went away: see the warning above)'
          : 'n/a (memory bus)'
        : `${f(rocketmqCpuS, 2)} s (${f(json.rocketmqJvmCpuPct)} % of a core: ${rocketmqJvmsCpu
            .map((j) => `${j.component} pid ${j.pid} ${f(j.cpuS, 2)} s, ${f(j.cpuPct)} %`)
            .join('; ')}); ${n(arrivedInWindow / (gatewayCpuS + rocketmqCpuS))} deliveries per (gateways + RocketMQ) CPU-second`
    }`,
    `load generator       CPU ${f(loadCpuS, 2)} s (${f(json.loadGenCpuPct)} % of a core, ${f((100 * loadSystemCpuS) / loadCpuS, 0)} % in the kernel), RSS ${f(json.loadGenRssMiB)} MiB, ` +
      `event-loop delay p99 ${f(extra.eventLoopDelay.p99)} ms max ${f(extra.eventLoopDelay.max)} ms`,
    `machine busy         ${f(machineBusyPct)} % of one core (${cpus().length} cores = ${cpus().length * 100} %), ` +
      `of which ${f(json.otherBusyPct)} % not by the gateways, RocketMQ or the load generator` +
      (options.bus === 'rocketmq' && rocketmqCpuS === null ? ' (RocketMQ not measured: its CPU is in that figure)' : ''),
    `gateway drops        ${perNode
      .map((x) => {
        const k = x.counters;
        return (
          `${x.node}: slow-socket ${k.voice_dropped_slow_socket_total}, rate-refused ${k.voice_refused_rate_total}, ` +
          `bus frames dropped ${k.bus_voice_frames_dropped_total}, publish failures ${k.bus_voice_publish_failures_total}, ` +
          `stale messages ${k.bus_stale_messages_dropped_total}, out-of-order ${k.voice_remote_out_of_order_total}`
        );
      })
      .join('; ')}`,
    `problems             closes ${problems.closes} ${JSON.stringify(problems.closeReasons)}, socket errors ${problems.socketErrors}, ` +
      `error messages ${problems.errorMessages}${problems.lastErrorMessage ? ` (last: ${problems.lastErrorMessage})` : ''}, ` +
      `unknown sid ${problems.unknownSpeaker}, wrong room ${problems.wrongRoom}, malformed ${problems.malformed}, ` +
      `gateway warn/error lines ${problems.gatewayWarnings}`,
    ...perNode.flatMap((x) => x.lastWarnings.map((l) => `  ${x.node}: ${l}`)),
  ];
  return { text: lines.join('\n'), json };
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
