/**
 * Synchronous /proc readers (Linux): a busy gateway cannot delay them the way an HTTP request to
 * it could. CPU is utime + stime of every thread of the process and of its descendants (the
 * gateway is normally `node` itself, but a wrapper would put it one level down).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
      let children = '';
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
