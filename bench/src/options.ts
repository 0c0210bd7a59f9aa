/** Command-line options of the voice load benchmark. */
export interface LoadOptions {
  rooms: number;
  members: number;
  /** Speakers per room. */
  speakers: number;
  /** Measured window, seconds. */
  seconds: number;
  /** Load before the window, seconds (not measured). */
  warmup: number;
  /** Wait after sending stops for the window's last frames, seconds. */
  drain: number;
  /** Opus payload bytes per frame (at least 12: the load generator writes its own send time and index in it). */
  payload: number;
  bus: 'rocketmq' | 'memory';
  nodes: 1 | 2;
  /** Free text in the report and the JSON line. */
  label: string;
  /** Also write the JSON result to this file. */
  out: string | undefined;
}

export const USAGE = `usage: npm run bench -- [options]
  --rooms N        rooms (10)
  --members M      members per room (20)
  --speakers S     speakers per room (1)
  --seconds D      measured window in seconds (20)
  --warmup W       load before the window, not measured (5)
  --drain X        wait for in-flight frames after sending stops (3)
  --payload B      payload bytes per frame, 12..1275 (100)
  --bus rocketmq|memory   (rocketmq; memory allows one node only)
  --nodes 1|2      gateway processes (2)
  --label TEXT     name of the run in the report
  --out FILE       also write the JSON result to FILE`;

export class UsageError extends Error {}

/**
 * `--name value` / `--name=value` options and bare `--switch`es of a bench command line;
 * `--help` throws an empty UsageError, anything unknown a UsageError that names it.
 */
export function parseFlags(argv: readonly string[], known: readonly string[], switches: readonly string[] = []): { raw: Map<string, string>; on: Set<string> } {
  const raw = new Map<string, string>();
  const on = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    if (switches.includes(arg.slice(2))) {
      on.add(arg.slice(2));
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      raw.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      raw.set(arg.slice(2), value);
      i++;
    }
  }
  for (const key of raw.keys()) if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
  return { raw, on };
}

/** Parses the process's arguments; prints the usage (and the mistake) and exits on a UsageError. */
export function parseOrExit<T>(parse: (argv: readonly string[]) => T, usage: string): T {
  try {
    return parse(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message) process.stderr.write(`${error.message}\n`);
      process.stderr.write(`${usage}\n`);
      process.exit(error.message ? 2 : 0);
    }
    throw error;
  }
}

/** `int(key, fallback, min, max)` over parsed flags: the flag's integer value, or a UsageError naming it. */
export function intFlag(raw: ReadonlyMap<string, string>): (key: string, fallback: number, min: number, max: number) => number {
  return (key, fallback, min, max) => {
    const text = raw.get(key);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${key} must be an integer in ${min}..${max}, got '${text}'`);
    return value;
  };
}

export function parseOptions(argv: readonly string[]): LoadOptions {
  const { raw } = parseFlags(argv, ['rooms', 'members', 'speakers', 'seconds', 'warmup', 'drain', 'payload', 'bus', 'nodes', 'label', 'out']);

  const int = intFlag(raw);
  const bus = raw.get('bus') ?? 'rocketmq';
  if (bus !== 'rocketmq' && bus !== 'memory') throw new UsageError(`--bus must be rocketmq or memory, got '${bus}'`);
  const nodes = int('nodes', bus === 'memory' ? 1 : 2, 1, 2) as 1 | 2;
  if (bus === 'memory' && nodes !== 1) {
    throw new UsageError('--bus memory joins nothing across processes: use --nodes 1 (or --bus rocketmq)');
  }
  const options: LoadOptions = {
    rooms: int('rooms', 10, 1, 1000),
    members: int('members', 20, 2, 1000),
    speakers: int('speakers', 1, 1, 1000),
    seconds: int('seconds', 20, 1, 600),
    warmup: int('warmup', 5, 0, 300),
    drain: int('drain', 3, 1, 60),
    payload: int('payload', 100, 12, 1275),
    bus,
    nodes,
    label: raw.get('label') ?? '',
    out: raw.get('out'),
  };
  if (options.speakers > options.members) throw new UsageError('--speakers cannot exceed --members');
  if (options.rooms * options.members > 10_000) throw new UsageError('at most 10,000 connections (rooms × members)');
  if (!options.label) options.label = `${options.rooms}x${options.members}-s${options.speakers}-${options.bus}-${options.nodes}n`;
  return options;
}
