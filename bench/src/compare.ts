/**
 * Side by side with the peer: our voice bench (bench/src/voice-load.ts, 2 gateways joined by
 * RocketMQ) and the peer benchmark (Socket.IO 4 + Redis adapter, shared/peer-bench/run.sh),
 * interleaved at each load on this one machine, then ONE table. See docs/benchmarks.md.
 *
 *   npm run bench:compare -- --rooms 5,20,40,100 --seconds 20 --warmup 5 --repeat 1 --out cmp.json --markdown
 *
 * Both runs of a load use 20 members per room, 1 speaker per room and 100-byte frames at 50/s.
 * RocketMQ (`bash rocketmq/rocketmq.sh up`) and Redis (127.0.0.1:6379) must already run; neither
 * is started nor stopped here. Each child (our bench, run.sh) runs in its own process group and
 * stops what it starts; whatever of a group is left when it ends, or on SIGINT/SIGTERM/SIGHUP, is
 * stopped by process group id.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import {
  cmdline,
  cpuSeconds,
  descendants,
  findRocketMQJvms,
  jvmCpuSeconds,
  machineTicks,
  processGroupMembers,
  rocketmqRuntimeDir,
  type RocketMQJvm,
} from './proc';
import { parseFlags, parseOrExit, UsageError } from './options';

const REPO_ROOT = resolve(__dirname, '..', '..');
const MEMBERS = 20;
const SPEAKERS = 1;
const PAYLOAD = 100;
const PAUSE_BETWEEN_RUNS_MS = 3000;
const IDLE_SECONDS = 10;
const GATEWAY_SCRIPT = 'apps/gateway/src/server.ts';

type System = 'us' | 'peer';
type Order = 'us-first' | 'peer-first' | 'alternate';

interface CompareOptions {
  rooms: number[];
  seconds: number;
  warmup: number;
  repeat: number;
  order: Order;
  out: string | undefined;
  markdown: boolean;
  /** SIGSTOP the RocketMQ JVMs while the peer runs, so that an idle broker does not take CPU from it. */
  pauseBroker: boolean;
}

const USAGE = `usage: npm run bench:compare -- [options]
  --rooms LIST     loads to run, rooms per run, comma-separated (5,20,40,100)
  --seconds D      measured window of every run, seconds (20)
  --warmup W       load before the window, not measured (5)
  --repeat N       run the whole interleaved sequence N times (1)
  --order O        us-first | peer-first | alternate (us-first; alternate flips who goes first at each load)
  --out FILE       also write every run's figures as JSON to FILE
  --markdown       print the table as Markdown
  --keep-broker    leave the RocketMQ JVMs running during the peer's runs (by default they are paused
                   with SIGSTOP and resumed with SIGCONT, so that their idle CPU is not charged to the peer)
Each load: ours (${MEMBERS} members, ${SPEAKERS} speaker/room, ${PAYLOAD} B, 2 gateways, --bus rocketmq --nodes 2),
then the peer (./run.sh LABEL ROOMS ${MEMBERS} ${SPEAKERS} redis D W), or the other way round.
Environment: PEER_BENCH_DIR (../shared/peer-bench from the repo root), ROCKETMQ_RUNTIME_DIR (<repo>/.rocketmq).`;

function parseOptions(argv: readonly string[]): CompareOptions {
  const { raw, on } = parseFlags(argv, ['rooms', 'seconds', 'warmup', 'repeat', 'order', 'out'], ['markdown', 'keep-broker']);
  const markdown = on.has('markdown');
  const pauseBroker = !on.has('keep-broker');
  const int = (text: string, what: string, min: number, max: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${what} must be an integer in ${min}..${max}, got '${text}'`);
    return value;
  };
  const rooms = (raw.get('rooms') ?? '5,20,40,100').split(',').map((r) => int(r.trim(), '--rooms', 1, 500));
  const order = raw.get('order') ?? 'us-first';
  if (order !== 'us-first' && order !== 'peer-first' && order !== 'alternate') {
    throw new UsageError(`--order must be us-first, peer-first or alternate, got '${order}'`);
  }
  return {
    rooms,
    seconds: int(raw.get('seconds') ?? '20', '--seconds', 1, 600),
    warmup: int(raw.get('warmup') ?? '5', '--warmup', 0, 300),
    repeat: int(raw.get('repeat') ?? '1', '--repeat', 1, 20),
    order,
    out: raw.get('out') === undefined ? undefined : resolve(raw.get('out') as string),
    markdown,
    pauseBroker,
  };
}

/** Pids paused by pauseJvms, resumed by resumeJvms (also at exit: never leave a broker stopped). */
const paused = new Set<number>();
function pauseJvms(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGSTOP');
      paused.add(pid);
    } catch {
      /* gone */
    }
  }
}
function resumeJvms(): void {
  for (const pid of paused) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
  paused.clear();
}

const say = (line: string): void => {
  process.stderr.write(`[compare] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------- children

/** Children running now, each the leader of its own process group. */
const running = new Map<number, { name: string; stop: (why: string) => void }>();
let stopping = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* the group is empty */
  }
}

/** SIGKILLs whatever is left of a finished child's process group (normally nothing). */
function sweepGroup(pgid: number, name: string): void {
  const left = processGroupMembers(pgid);
  if (left.length === 0) return;
  say(`${name}: ${left.length} process(es) left behind (${left.map((p) => `${p} ${cmdline(p).slice(0, 80)}`).join('; ')}): SIGKILL`);
  killGroup(pgid, 'SIGKILL');
}

/**
 * Runs a command in its own process group; its output goes to `logFile`, and its warning and
 * error lines to our stderr as well. When it overruns `budgetMs` or when we are interrupted it is
 * stopped: SIGTERM to the child itself (`leader`: it stops its own children) or to its whole
 * group (`group`), then SIGKILL to the group after `graceMs`. Once the child has exited, whatever
 * is left of its group is killed. Resolves with its exit code (null if killed by a signal).
 */
function runChild(
  name: string,
  command: string,
  args: string[],
  cwd: string,
  logFile: string,
  budgetMs: number,
  graceMs: number,
  stopTargets: 'leader' | 'group',
): Promise<number | null> {
  return new Promise((resolvePromise) => {
    const log = createWriteStream(logFile);
    log.write(`$ (cd ${cwd} && ${command} ${args.join(' ')})\n`);
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const pgid = child.pid as number;
    let partial = '';
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/warning|error|failed|exceeded|not (measured|answering|start)|left behind|NOT MEASURED/i.test(line) && !line.startsWith('{')) {
          process.stderr.write(`  [${name}] ${line.slice(0, 400)}\n`);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string): void => {
      if (killTimer) return;
      say(`${name}: ${why}: stopping it`);
      if (stopTargets === 'leader') {
        try {
          process.kill(pgid, 'SIGTERM');
        } catch {
          /* gone */
        }
      } else {
        killGroup(pgid, 'SIGTERM');
      }
      killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), graceMs);
    };
    const budget = setTimeout(() => stop(`time budget of ${Math.round(budgetMs / 1000)} s exceeded`), budgetMs);
    if (pgid) running.set(pgid, { name, stop });
    let finished = false;
    const finish = (code: number | null, note: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(budget);
      clearTimeout(killTimer);
      running.delete(pgid);
      if (pgid) sweepGroup(pgid, name);
      log.end(`\n[compare] ${note}\n`);
      resolvePromise(code);
    };
    child.on('error', (error) => {
      say(`${name}: ${error.message}`);
      if (child.pid === undefined) finish(null, `spawn error: ${error.message}`);
    });
    // 'close' comes after the output pipes close; a process left behind could hold them open, so
    // do not wait for it more than 3 s after the child's exit.
    child.on('exit', (code, signal) => {
      const note = `exit code ${code}${signal ? ` signal ${signal}` : ''}`;
      child.on('close', () => finish(code, note));
      setTimeout(() => finish(code, note), 3000);
    });
  });
}

let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (signalled) {
      for (const pgid of running.keys()) killGroup(pgid, 'SIGKILL');
      process.exit(130);
    }
    signalled = true;
    stopping = true;
    say(`received ${signal}: stopping the run in progress (again to kill at once)`);
    for (const { stop } of running.values()) stop('interrupted');
    // main() sees `stopping` once the child has ended (or the pause is over), prints the table of
    // the runs that ended and exits 130.
  });
}
// Last resort (an error, process.exit from anywhere): never leave a group behind.
process.on('exit', () => {
  resumeJvms();
  for (const pgid of running.keys()) killGroup(pgid, 'SIGKILL');
});

// ---------------------------------------------------------------------------------- preflight

function checkRocketMQ(): void {
  const status = spawnSync('bash', [join(REPO_ROOT, 'rocketmq', 'rocketmq.sh'), 'status'], { cwd: REPO_ROOT, encoding: 'utf8', env: process.env });
  if (status.status !== 0) {
    throw new Error(
      `RocketMQ is not up (\`bash rocketmq/rocketmq.sh status\` exited ${status.status}):\n${(status.stdout + status.stderr).trim()}\n` +
        'Start it with `bash rocketmq/rocketmq.sh up` (and `bash rocketmq/rocketmq.sh down` when done; ' +
        'with ROCKETMQ_RUNTIME_DIR set if it runs from another runtime dir), then run this again. bench:compare neither starts nor stops it.',
    );
  }
}

/** The pid of the Redis server at 127.0.0.1:6379 (the peer bench's fixed address). */
function checkRedis(): number | undefined {
  const ping = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping'], { encoding: 'utf8' });
  if (ping.error) {
    throw new Error(`redis-cli not found (${ping.error.message}): the peer bench needs it and a Redis at 127.0.0.1:6379 (apt-get install redis-server).`);
  }
  if (ping.status !== 0 || !ping.stdout.includes('PONG')) {
    throw new Error(
      `Redis does not answer at 127.0.0.1:6379 (redis-cli ping: ${(ping.stdout + ping.stderr).trim() || `exit ${ping.status}`}). ` +
        'Start it (`service redis-server start`, or `redis-server --daemonize yes`), then run this again.',
    );
  }
  const info = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'info', 'server'], { encoding: 'utf8' });
  const pid = Number(/process_id:(\d+)/.exec(info.stdout ?? '')?.[1]);
  return pid > 0 ? pid : undefined;
}

/**
 * A writable copy of the peer bench in node_modules/.cache/peer-bench: its files are copied from
 * PEER_BENCH_DIR at every start (node_modules and logs excepted), and `npm ci` runs there only
 * when its node_modules is missing.
 */
function preparePeer(): string {
  const source = resolve(REPO_ROOT, process.env.PEER_BENCH_DIR || join('..', 'shared', 'peer-bench'));
  if (!existsSync(join(source, 'run.sh')) || !existsSync(join(source, 'load.js'))) {
    throw new Error(`no peer bench at ${source} (run.sh, load.js): set PEER_BENCH_DIR to its folder.`);
  }
  const target = join(REPO_ROOT, 'node_modules', '.cache', 'peer-bench');
  mkdirSync(target, { recursive: true });
  const lockBefore = existsSync(join(target, 'package-lock.json')) ? readFileSync(join(target, 'package-lock.json'), 'utf8') : undefined;
  makeWritable(target);
  cpSync(source, target, {
    recursive: true,
    force: true,
    filter: (from) => !['node_modules', 'logs'].includes(relative(source, from).split('/')[0] ?? ''),
  });
  // shared/ is read-only and the copy keeps its modes: run.sh writes logs/ and files get replaced.
  makeWritable(target);
  const hasModules = existsSync(join(target, 'node_modules'));
  if (hasModules && lockBefore !== undefined && lockBefore !== readFileSync(join(target, 'package-lock.json'), 'utf8')) {
    say(`note: the peer's package-lock.json changed since its npm ci; delete ${join(target, 'node_modules')} to reinstall`);
  }
  if (!hasModules) {
    say(`npm ci in ${target} (once)`);
    const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: target, stdio: ['ignore', 'inherit', 'inherit'] });
    if (ci.status !== 0) throw new Error(`npm ci failed in ${target} (exit ${ci.status}${ci.error ? `, ${ci.error.message}` : ''})`);
  }
  return target;
}

/** u+w on a folder's files and folders, node_modules excepted (cheap: the peer bench is a dozen files). */
function makeWritable(dir: string): void {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules') continue;
    const path = join(dir, entry);
    const stat = statSync(path);
    if ((stat.mode & 0o200) === 0) chmodSync(path, stat.mode | 0o200);
    if (stat.isDirectory()) makeWritable(path);
  }
  const stat = statSync(dir);
  if ((stat.mode & 0o200) === 0) chmodSync(dir, stat.mode | 0o200);
}

/** Gateway processes on this machine that are not ours (other engineers'): they load the broker too. */
function foreignGateways(): number[] {
  const ours = new Set(descendants(process.pid));
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => !ours.has(pid) && cmdline(pid).includes(GATEWAY_SCRIPT));
}

interface IdleFigures {
  seconds: number;
  brokerPct: number | null;
  jvms: { component: string; pid: number; source: string; pct: number | null }[];
  redisPct: number | null;
  machineBusyPct: number;
  foreignGateways: number[];
}

/** The broker's (and Redis's) CPU with no gateway of ours running, over IDLE_SECONDS. */
async function measureIdle(jvms: readonly RocketMQJvm[], redisPid: number | undefined): Promise<IdleFigures> {
  const foreign = foreignGateways();
  if (foreign.length > 0) {
    say(
      `note: ${foreign.length} gateway process(es) not started by this command run on this machine (pids ${foreign.join(', ')}): ` +
        'their traffic is in the idle figure and in every run',
    );
  }
  say(`measuring the broker's idle CPU for ${IDLE_SECONDS} s (no gateway of ours running)…`);
  const t0 = performance.now();
  const a = jvmCpuSeconds(jvms);
  const r0 = redisPid ? cpuSeconds(redisPid) : NaN;
  const m0 = machineTicks();
  for (let i = 0; i < IDLE_SECONDS * 10 && !stopping; i++) await sleep(100);
  const b = jvmCpuSeconds(jvms);
  const r1 = redisPid ? cpuSeconds(redisPid) : NaN;
  const m1 = machineTicks();
  const wallS = (performance.now() - t0) / 1000;
  const perJvm = jvms.map((j, i) => {
    const d = (b[i] as number) - (a[i] as number);
    return { component: j.component, pid: j.pid, source: j.source, pct: Number.isFinite(d) ? (100 * d) / wallS : null };
  });
  const brokerPct = perJvm.length > 0 && perJvm.every((j) => j.pct !== null) ? perJvm.reduce((s, j) => s + (j.pct as number), 0) : null;
  const redisPct = Number.isFinite(r1 - r0) ? (100 * (r1 - r0)) / wallS : null;
  const machineBusyPct = ((100 * (m1.busy - m0.busy)) / (m1.total - m0.total)) * cpus().length;
  say(
    `broker idle: ${brokerPct === null ? 'NOT MEASURED (no RocketMQ JVM found)' : `${brokerPct.toFixed(1)} % of a core`}` +
      (perJvm.length ? ` (${perJvm.map((j) => `${j.component} ${j.pct === null ? 'gone' : `${j.pct.toFixed(1)} %`}`).join(', ')})` : '') +
      `; redis idle: ${redisPct === null ? 'n/a' : `${redisPct.toFixed(1)} %`}; machine busy ${machineBusyPct.toFixed(0)} % of ${cpus().length * 100}`,
  );
  return { seconds: wallS, brokerPct, jvms: perJvm, redisPct, machineBusyPct, foreignGateways: foreign };
}

// ---------------------------------------------------------------------------------- runs

/** The figures of one run, from our bench's JSON or the peer's logs/LABEL.json. */
interface RunFigures {
  windowS: number;
  framesSentPerS: number;
  framesTargetPerS: number;
  skipped: number;
  deliveredPct: number;
  crossP50: number;
  crossP99: number;
  recvInWindow: number;
  nodesCpuS: number;
  brokerCpuS: number | null;
  brokerJvms?: { component: string; cpuS: number | null }[];
  loadGenCpuS: number;
  machineBusyPct: number;
  busVoiceMessagesPerSPerNode?: number[];
}

interface RunRecord {
  system: System;
  rooms: number;
  repeat: number;
  label: string;
  ok: boolean;
  exitCode: number | null;
  json: string;
  log: string;
  figures?: RunFigures;
  error?: string;
}

const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

function oursFigures(j: any): RunFigures {
  const windowS = num(j.windowS);
  // Older JSON had no brokerCpuS (and dropped rocketmqJvmCpuS when the JVMs were not found).
  const broker = j.brokerCpuS !== undefined ? j.brokerCpuS : j.rocketmqJvmCpuS;
  return {
    windowS,
    framesSentPerS: num(j.framesSentPerS),
    framesTargetPerS: num(j.framesInTargetPerS),
    skipped: num(j.skipped),
    deliveredPct: num(j.deliveredPct),
    crossP50: num(j.latencyMs?.cross?.p50),
    crossP99: num(j.latencyMs?.cross?.p99),
    recvInWindow: typeof j.arrivedInWindow === 'number' ? j.arrivedInWindow : num(j.deliveriesPerS) * windowS,
    nodesCpuS: num(j.gatewayCpuS),
    brokerCpuS: typeof broker === 'number' ? broker : null,
    brokerJvms: Array.isArray(j.rocketmqJvms) ? j.rocketmqJvms.map((x: any) => ({ component: String(x.component), cpuS: x.cpuS ?? null })) : undefined,
    loadGenCpuS: num(j.loadGenCpuS),
    machineBusyPct: num(j.machineBusyPct),
    busVoiceMessagesPerSPerNode: Array.isArray(j.gateways) ? j.gateways.map((g: any) => num(g.busVoiceMessagesPerS)) : undefined,
  };
}

function peerFigures(j: any): RunFigures {
  return {
    windowS: num(j.durationS),
    framesSentPerS: num(j.framesInPerS),
    framesTargetPerS: num(j.framesInTarget),
    skipped: num(j.skipped),
    deliveredPct: num(j.deliveredPct),
    crossP50: num(j.latCross?.p50),
    crossP99: num(j.latCross?.p99),
    recvInWindow: num(j.recvInWindow),
    nodesCpuS: num(j.serverCpuS),
    brokerCpuS: typeof j.redisCpuS === 'number' ? j.redisCpuS : null,
    loadGenCpuS: num(j.loadCpuS),
    machineBusyPct: num(j.machineBusyPct),
  };
}

async function runOurs(options: CompareOptions, rooms: number, repeat: number, runDir: string, stamp: string): Promise<RunRecord> {
  const label = `cmp-${stamp}-us-r${rooms}-${repeat}`;
  const json = join(runDir, `us-r${rooms}-${repeat}.json`);
  const log = join(runDir, `us-r${rooms}-${repeat}.log`);
  const args = [
    '--conditions=development',
    '--import',
    'tsx',
    join(REPO_ROOT, 'bench', 'src', 'voice-load.ts'),
    '--rooms',
    String(rooms),
    '--members',
    String(MEMBERS),
    '--speakers',
    String(SPEAKERS),
    '--payload',
    String(PAYLOAD),
    '--seconds',
    String(options.seconds),
    '--warmup',
    String(options.warmup),
    '--bus',
    'rocketmq',
    '--nodes',
    '2',
    '--label',
    label,
    '--out',
    json,
  ];
  // voice-load.ts has its own budget and stops its gateways itself (SIGTERM to it; up to ~30 s).
  const budgetMs = (120 + rooms * MEMBERS * 0.05 + options.warmup + options.seconds + 3 + 120) * 1000;
  const code = await runChild('us', process.execPath, args, REPO_ROOT, log, budgetMs, 40_000, 'leader');
  return collect('us', rooms, repeat, label, code, json, log, oursFigures);
}

async function runPeer(options: CompareOptions, rooms: number, repeat: number, runDir: string, stamp: string, peerDir: string): Promise<RunRecord> {
  const label = `cmp-${stamp}-peer-r${rooms}-${repeat}`;
  const log = join(runDir, `peer-r${rooms}-${repeat}.log`);
  const args = [label, String(rooms), String(MEMBERS), String(SPEAKERS), 'redis', String(options.seconds), String(options.warmup)];
  const budgetMs = (60 + rooms * MEMBERS * 0.05 + options.warmup + options.seconds + 3 + 60) * 1000;
  const code = await runChild('peer', './run.sh', args, peerDir, log, budgetMs, 10_000, 'group');
  const json = join(runDir, `peer-r${rooms}-${repeat}.json`);
  const written = join(peerDir, 'logs', `${label}.json`);
  if (existsSync(written)) copyFileSync(written, json);
  return collect('peer', rooms, repeat, label, code, json, log, peerFigures);
}

function collect(
  system: System,
  rooms: number,
  repeat: number,
  label: string,
  exitCode: number | null,
  json: string,
  log: string,
  figures: (j: unknown) => RunFigures,
): RunRecord {
  const record: RunRecord = { system, rooms, repeat, label, ok: false, exitCode, json, log };
  if (exitCode !== 0) record.error = stopping ? `interrupted (exit ${exitCode})` : `exit ${exitCode}`;
  if (!existsSync(json)) {
    record.error = `${record.error ? `${record.error}, ` : ''}no JSON written`;
    return record;
  }
  try {
    record.figures = figures(JSON.parse(readFileSync(json, 'utf8')));
    record.ok = exitCode === 0;
  } catch (error) {
    record.error = `unreadable JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  return record;
}

// ---------------------------------------------------------------------------------- table

const fx = (x: number | null | undefined, digits: number): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));
const fk = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : Math.round(x).toLocaleString('en-US');

function tableRows(records: readonly RunRecord[], repeatColumn: boolean, cores: number): { header: string[]; rows: string[][] } {
  const header = [
    'rooms',
    ...(repeatColumn ? ['run'] : []),
    'system',
    'frames sent/s (target)',
    'delivered %',
    'cross-node p50 / p99 ms',
    'server CPU s (nodes + broker)',
    'deliveries / server CPU-s (broker counted)',
    'deliveries / node CPU-s',
    'broker % of a core',
    'load-gen CPU s (% of a core)',
    `machine busy % of ${cores * 100}`,
    'RocketMQ voice msgs/s per node',
  ];
  const rows = records.map((r) => {
    const name = r.system === 'us' ? 'ours (RocketMQ)' : 'peer (Socket.IO + Redis)';
    const head = [String(r.rooms), ...(repeatColumn ? [String(r.repeat)] : []), name];
    const f = r.figures;
    if (!f) return [...head, 'FAILED (see below)', ...Array<string>(header.length - head.length - 1).fill('')];
    const broker = f.brokerCpuS;
    const brokerName = r.system === 'us' ? 'RocketMQ' : 'Redis';
    return [
      ...head,
      `${fx(f.framesSentPerS, 0)} (${fx(f.framesTargetPerS, 0)})${f.skipped > 0 ? `, ${f.skipped} skipped` : ''}`,
      `${fx(f.deliveredPct, 3)}${r.ok ? '' : ` (${r.error})`}`,
      `${fx(f.crossP50, 1)} / ${fx(f.crossP99, 1)}`,
      broker === null ? `${fx(f.nodesCpuS, 2)} + ${brokerName} NOT MEASURED` : `${fx(f.nodesCpuS + broker, 2)} (${fx(f.nodesCpuS, 2)} + ${fx(broker, 2)})`,
      broker === null ? 'n/a (broker not measured)' : fk(f.recvInWindow / (f.nodesCpuS + broker)),
      fk(f.recvInWindow / f.nodesCpuS),
      broker === null
        ? 'NOT MEASURED'
        : `${fx((100 * broker) / f.windowS, 1)}${
            f.brokerJvms && f.brokerJvms.length > 1
              ? ` (${f.brokerJvms.map((j) => `${j.component} ${fx(j.cpuS === null ? null : (100 * j.cpuS) / f.windowS, 1)}`).join(', ')})`
              : ''
          }`,
      `${fx(f.loadGenCpuS, 2)} (${fx((100 * f.loadGenCpuS) / f.windowS, 0)})`,
      fx(f.machineBusyPct, 0),
      f.busVoiceMessagesPerSPerNode ? f.busVoiceMessagesPerSPerNode.map((x) => fx(x, 0)).join(' / ') : '–',
    ];
  });
  return { header, rows };
}

function renderTable(header: string[], rows: string[][], markdown: boolean): string {
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOrExit(parseOptions, USAGE);

  // Preflight: both back ends up, the broker found, the peer's copy ready.
  let redisPid: number | undefined;
  let peerDir: string;
  try {
    checkRocketMQ();
    redisPid = checkRedis();
    peerDir = preparePeer();
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  if (stopping) process.exit(130);
  const runtimeDir = rocketmqRuntimeDir(REPO_ROOT);
  const { jvms, notes: findNotes } = findRocketMQJvms(runtimeDir);
  for (const note of findNotes) say(`note: ${note}`);
  if (jvms.length === 0) {
    say(
      `WARNING: RocketMQ answers but no RocketMQ JVM was found (pid files in ${runtimeDir}, /proc scan): ` +
        'the broker CPU cannot be measured; the table will say NOT MEASURED. Set ROCKETMQ_RUNTIME_DIR to its runtime dir.',
    );
  } else {
    say(
      `RocketMQ JVMs (runtime dir ${runtimeDir}): ${jvms.map((j) => `${j.component} pid ${j.pid} (${j.source})`).join(', ')}; ` +
        `Redis pid ${redisPid ?? 'not found'}; peer bench copy ${peerDir}`,
    );
  }

  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const runDir = join(REPO_ROOT, 'artifacts', 'bench-compare', stamp);
  mkdirSync(runDir, { recursive: true });
  const plan: { system: System; rooms: number; repeat: number }[] = [];
  let step = 0;
  for (let repeat = 1; repeat <= options.repeat; repeat++) {
    for (const rooms of options.rooms) {
      const usFirst = options.order === 'us-first' || (options.order === 'alternate' && step % 2 === 0);
      const pair: System[] = usFirst ? ['us', 'peer'] : ['peer', 'us'];
      for (const system of pair) plan.push({ system, rooms, repeat });
      step++;
    }
  }
  const perRunS = (rooms: number) => options.warmup + options.seconds + 3 + 15 + (rooms * MEMBERS) / 100;
  const estimateS = IDLE_SECONDS + plan.reduce((s, p) => s + perRunS(p.rooms) + PAUSE_BETWEEN_RUNS_MS / 1000, 0);
  say(
    `${plan.length} runs: ${plan.map((p) => `${p.system}@${p.rooms}`).join(', ')}; about ${Math.round(estimateS / 60)} min; ` +
      `logs and JSON in ${relative(process.cwd(), runDir) || runDir}`,
  );

  const idle = await measureIdle(jvms, redisPid);
  const records: RunRecord[] = [];
  const notes: string[] = [...findNotes];
  if (idle.foreignGateways.length > 0) {
    notes.push(
      `gateway processes not started by this command ran on the machine (pids ${idle.foreignGateways.join(', ')}): their broker traffic is in the figures`,
    );
  }
  const jvmKey = (list: readonly RocketMQJvm[]) => list.map((j) => `${j.component} pid ${j.pid}`).join(', ') || 'none';
  let lastJvms = jvmKey(jvms);
  const cores = cpus().length;
  const writeOut = (): void => {
    if (!options.out) return;
    mkdirSync(dirname(options.out), { recursive: true });
    const result = {
      bench: 'compare',
      date: new Date().toISOString(),
      machine: { cores, cpu: cpus()[0]?.model ?? '', node: process.version },
      options: { ...options, members: MEMBERS, speakers: SPEAKERS, payload: PAYLOAD },
      rocketmqRuntimeDir: runtimeDir,
      idle,
      notes,
      runDir,
      runs: records.map((r) => ({
        ...r,
        derived: r.figures && {
          serverCpuS: r.figures.brokerCpuS === null ? null : r.figures.nodesCpuS + r.figures.brokerCpuS,
          deliveriesPerServerCpuS: r.figures.brokerCpuS === null ? null : r.figures.recvInWindow / (r.figures.nodesCpuS + r.figures.brokerCpuS),
          deliveriesPerNodeCpuS: r.figures.recvInWindow / r.figures.nodesCpuS,
          brokerCpuPct: r.figures.brokerCpuS === null ? null : (100 * r.figures.brokerCpuS) / r.figures.windowS,
          loadGenCpuPct: (100 * r.figures.loadGenCpuS) / r.figures.windowS,
        },
      })),
    };
    writeFileSync(options.out, JSON.stringify(result, null, 1) + '\n');
  };

  for (const [i, p] of plan.entries()) {
    if (stopping) break;
    if (i > 0) await sleep(PAUSE_BETWEEN_RUNS_MS);
    if (stopping) break;
    // RocketMQ is shared: say so when it was restarted (or vanished) between runs.
    const current = jvmKey(findRocketMQJvms(runtimeDir).jvms);
    if (current !== lastJvms) {
      const note = `before run ${i + 1} (${p.system}, ${p.rooms} rooms): the RocketMQ JVMs changed (restarted?): were ${lastJvms}, now ${current}`;
      say(`WARNING: ${note}`);
      notes.push(note);
      lastJvms = current;
    }
    say(`(${i + 1}/${plan.length}) ${p.system === 'us' ? 'ours' : 'peer'}, ${p.rooms} rooms${options.repeat > 1 ? `, run ${p.repeat}` : ''}…`);
    const t0 = Date.now();
    if (p.system === 'peer' && options.pauseBroker) pauseJvms(findRocketMQJvms(runtimeDir).jvms.map((j) => j.pid));
    let record: RunRecord;
    try {
      record = p.system === 'us' ? await runOurs(options, p.rooms, p.repeat, runDir, stamp) : await runPeer(options, p.rooms, p.repeat, runDir, stamp, peerDir);
    } finally {
      resumeJvms();
    }
    records.push(record);
    writeOut();
    const f = record.figures;
    say(
      `    ${record.ok ? 'done' : `FAILED (${record.error}; see ${basename(record.log)})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s` +
        (f
          ? `: delivered ${fx(f.deliveredPct, 3)} %, cross-node p50/p99 ${fx(f.crossP50, 1)}/${fx(f.crossP99, 1)} ms, ` +
            `nodes ${fx(f.nodesCpuS, 2)} s + ${p.system === 'us' ? 'RocketMQ' : 'Redis'} ${f.brokerCpuS === null ? 'NOT MEASURED' : `${fx(f.brokerCpuS, 2)} s`}`
          : ''),
    );
  }

  const { header, rows } = tableRows(records, options.repeat > 1, cores);
  const table = renderTable(header, rows, options.markdown);
  const idleLine =
    `broker idle (${idle.seconds.toFixed(0)} s before the runs, no gateway of ours): RocketMQ ` +
    `${idle.brokerPct === null ? 'NOT MEASURED' : `${idle.brokerPct.toFixed(1)} % of a core`}` +
    (idle.jvms.length > 1 ? ` (${idle.jvms.map((j) => `${j.component} ${fx(j.pct, 1)} %`).join(', ')})` : '') +
    `, Redis ${fx(idle.redisPct, 1)} %`;
  process.stdout.write(
    `\n${MEMBERS} members/room, ${SPEAKERS} speaker/room, ${PAYLOAD} B frames at 50/s, 2 nodes; warm-up ${options.warmup} s, window ${options.seconds} s; ` +
      `order ${options.order}\n${table}\n${options.markdown ? '\n' : ''}${idleLine}\n` +
      "server CPU = nodes (our gateways / the peer's Socket.IO servers) + broker (RocketMQ JVMs / Redis), in the window; " +
      'deliveries = receptions that arrived during the window.\n' +
      notes.map((n) => `note: ${n}\n`).join('') +
      records
        .filter((r) => !r.ok)
        .map((r) => `${r.figures ? 'not clean' : 'FAILED'}: ${r.system === 'us' ? 'ours' : 'peer'}, ${r.rooms} rooms: ${r.error ?? '?'}; log ${r.log}\n`)
        .join(''),
  );
  if (options.out) say(`JSON: ${options.out}`);
  if (stopping) {
    say('interrupted: the table holds the runs that ended');
    process.exit(130);
  }
  process.exit(records.every((r) => r.ok) ? 0 : 1);
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  for (const pgid of running.keys()) killGroup(pgid, 'SIGTERM');
  setTimeout(() => process.exit(1), 2000);
});
