/**
 * Synchronous /proc readers (Linux): a busy gateway cannot delay them the way an HTTP request to
 * it could. CPU is utime + stime of every thread of the process and of its descendants (the
 * gateway is normally `node` itself, but a wrapper would put it one level down).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep the Linux default */
}

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces: field 3 (state) is index 0.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Every process id in /proc (empty when /proc cannot be read). */
function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** Direct and indirect children of `pid` (from /proc/<pid>/task/<tid>/children). */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let children: string;
      try {
        children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ')) {
        const n = Number(child);
        if (n > 0 && !found.includes(n)) {
          found.push(n);
          queue.push(n);
        }
      }
    }
  }
  return found;
}

/** CPU seconds used so far by `pid` and its descendants, user and system. NaN if `pid` is gone. */
export function cpuTimes(pid: number): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const p of [pid, ...descendants(pid)]) {
    const f = statFields(p);
    if (!f) {
      if (p === pid) return { user: NaN, system: NaN };
      continue;
    }
    user += Number(f[11]); // utime
    system += Number(f[12]); // stime
  }
  return { user: user / ticksPerSecond, system: system / ticksPerSecond };
}

/** CPU seconds (user + system) used so far by `pid` and its descendants. NaN if `pid` is gone. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** Resident set size in bytes of `pid` and its descendants. NaN if `pid` is gone. */
export function rssBytes(pid: number): number {
  let bytes = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      bytes += match ? Number(match[1]) * 1024 : 0;
    } catch {
      if (p === pid) return NaN;
    }
  }
  return bytes;
}

/** Busy and total ticks of the whole machine (all cores), from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** The command line of `pid`, or '' if it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Reads a pid file; returns the pid if that process runs and its command line contains `marker`. */
export function pidFromFile(file: string, marker: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim().split('\n')[0]);
    return pid > 0 && cmdline(pid).includes(marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------- RocketMQ JVMs

/** A RocketMQ JVM: `namesrv`, `proxy` (in local mode it embeds the broker) or a separate `broker`. */
export interface RocketMQJvm {
  component: 'namesrv' | 'proxy' | 'broker';
  pid: number;
  /** How it was found: its pid file in the runtime dir, or a scan of /proc/<pid>/cmdline. */
  source: 'pid file' | 'proc scan';
  /** `-Drocketmq.home.dir=` of its command line ('' if absent). */
  homeDir: string;
}

const ROCKETMQ_MAIN_CLASSES: Record<RocketMQJvm['component'], string> = {
  namesrv: 'org.apache.rocketmq.namesrv.NamesrvStartup',
  proxy: 'org.apache.rocketmq.proxy.ProxyStartup',
  broker: 'org.apache.rocketmq.broker.BrokerStartup',
};

/**
 * The runtime dir that `rocketmq/rocketmq.sh` uses: ROCKETMQ_RUNTIME_DIR if set and not empty
 * (relative to the current directory, as the script resolves it), else <repo>/.rocketmq.
 */
export function rocketmqRuntimeDir(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.ROCKETMQ_RUNTIME_DIR;
  return dir ? resolve(dir) : join(repoRoot, '.rocketmq');
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function homeDirOf(command: string): string {
  return /-Drocketmq\.home\.dir=(\S+)/.exec(command)?.[1] ?? '';
}

function componentOf(command: string): RocketMQJvm['component'] | undefined {
  for (const [component, mainClass] of Object.entries(ROCKETMQ_MAIN_CLASSES)) {
    if (new RegExp(`(^| )${mainClass.replace(/\./g, '\\.')}( |$)`).test(command)) return component as RocketMQJvm['component'];
  }
  return undefined;
}

/** Every running RocketMQ server JVM (NameServer, Proxy, Broker; not the admin tools), from /proc. */
export function scanRocketMQJvms(): RocketMQJvm[] {
  const found: RocketMQJvm[] = [];
  for (const pid of allPids()) {
    const command = cmdline(pid);
    if (!command.includes('org.apache.rocketmq')) continue;
    const component = componentOf(command);
    if (component) found.push({ component, pid, source: 'proc scan', homeDir: homeDirOf(command) });
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/**
 * The RocketMQ JVMs serving the runtime dir `runtimeDir`: for each component, the pid in
 * `<runtimeDir>/<component>.pid` when that process runs that component's main class; else, for
 * the components without one, the JVMs found by scanning /proc: those whose home dir is under
 * `runtimeDir` if any, else (notes say so) every one found. Empty when no RocketMQ JVM runs.
 */
export function findRocketMQJvms(runtimeDir: string): { jvms: RocketMQJvm[]; notes: string[] } {
  const jvms: RocketMQJvm[] = [];
  const notes: string[] = [];
  for (const component of Object.keys(ROCKETMQ_MAIN_CLASSES) as RocketMQJvm['component'][]) {
    const pid = pidFromFile(join(runtimeDir, `${component}.pid`), ROCKETMQ_MAIN_CLASSES[component]);
    if (pid !== undefined) jvms.push({ component, pid, source: 'pid file', homeDir: homeDirOf(cmdline(pid)) });
  }
  const missing = (Object.keys(ROCKETMQ_MAIN_CLASSES) as RocketMQJvm['component'][]).filter((c) => !jvms.some((j) => j.component === c));
  const scanned = scanRocketMQJvms().filter((j) => missing.includes(j.component) && !jvms.some((k) => k.pid === j.pid));
  const prefixes = [runtimeDir, realpathOr(runtimeDir)].map((d) => d.replace(/\/+$/, '') + '/');
  const ours = scanned.filter((j) => prefixes.some((p) => j.homeDir.startsWith(p)));
  if (ours.length > 0) {
    jvms.push(...ours);
    notes.push(`no pid file for ${[...new Set(ours.map((j) => j.component))].join(', ')} in ${runtimeDir}: found by scanning /proc`);
  } else if (scanned.length > 0 && !jvms.some((j) => j.component === 'proxy' || j.component === 'broker')) {
    // Only when nothing of this runtime dir serves messages: the JVMs of another runtime dir.
    jvms.push(...scanned);
    notes.push(
      `no RocketMQ JVM of ${runtimeDir} found (pid files or command lines); counting the ones found by scanning /proc instead: ` +
        scanned.map((j) => `${j.component} pid ${j.pid} (home ${j.homeDir || '?'})`).join(', '),
    );
  }
  return { jvms, notes };
}

/** CPU seconds of each JVM (NaN for one that has gone). */
export function jvmCpuSeconds(jvms: readonly RocketMQJvm[]): number[] {
  return jvms.map((j) => cpuSeconds(j.pid));
}

/** Processes whose process group is `pgid` (e.g. everything a detached child started). */
export function processGroupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const pid of allPids()) {
    const f = statFields(pid);
    // Field 5 (pgrp) is index 2; zombies (state Z) hold nothing and are skipped.
    if (f && f[0] !== 'Z' && Number(f[2]) === pgid) found.push(pid);
  }
  return found;
}
