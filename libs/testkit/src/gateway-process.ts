import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';
import { waitFor } from './wait';
import { TEST_JWT_SECRET } from './tokens';
import { freePort } from './tcp-proxy';

/**
 * Cluster timings for tests with several gateways: a node is declared lost after 3 s (production:
 * 10 s), so node-loss scenarios run in seconds. Spread it and add the test's own settings.
 */
export const FAST_CLUSTER_ENV = {
  NODE_BEAT_INTERVAL_MS: '500',
  NODE_TIMEOUT_MS: '3000',
  CLUSTER_SYNC_TIMEOUT_MS: '1500',
  SHUTDOWN_DEADLINE_MS: '8000',
} as const;

export interface GatewayProcessOptions {
  nodeId: string;
  bus?: 'memory' | 'rocketmq';
  env?: Record<string, string>;
  /** Which server to run: a gateway (default), the admin API (apps/admin), or the single-node entry (apps/single-node: a gateway with ADMIN_API=embedded). */
  app?: ServerApp;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'] (benchmarks' profiling runs). */
  nodeArgs?: string[];
  /** Listen on a port chosen before the start and announce it as NODE_URL (isolation checks between gateways). */
  advertise?: boolean;
}

/**
 * Spawns a server from its TypeScript source, as the tests and benchmarks run it: a minimal
 * environment (test mode, loopback, a free port, the memory bus, the test secret) plus `env`.
 */
export function spawnServer(app: ServerApp, env: Record<string, string>, nodeArgs: string[] = []): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [...nodeArgs, '--conditions=development', '--import', 'tsx', join(REPO_ROOT, SERVERS[app].script)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      BUS: 'memory',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
}

const SERVERS = {
  gateway: { script: 'apps/gateway/src/server.ts', listening: 'voice-room gateway listening' },
  admin: { script: 'apps/admin/src/server.ts', listening: 'voice-room admin API listening' },
  'single-node': { script: 'apps/single-node/src/server.ts', listening: 'voice-room gateway listening' },
} as const;

/** The servers the tests start: the gateway alone, the admin API alone, or both in one process (single node). */
export type ServerApp = keyof typeof SERVERS;

/**
 * A gateway in its own OS process, started the way production starts it (server.ts), on a free
 * port of 127.0.0.1. Output is kept for diagnostics.
 */
export class GatewayProcess {
  readonly output: string[] = [];
  port = 0;
  exitCode: number | null | undefined;
  private exited: Promise<void>;

  private constructor(
    readonly nodeId: string,
    private readonly child: ChildProcess,
    listening: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      }),
    );
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (this.output.length > 500) this.output.shift();
        if (this.port === 0 && line.includes(listening)) {
          try {
            this.port = Number(new URL((JSON.parse(line) as { address: string }).address).port);
          } catch {
            /* not JSON: ignore */
          }
        }
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  static async start(options: GatewayProcessOptions): Promise<GatewayProcess> {
    const port = options.advertise ? await freePort() : 0;
    const child = spawnServer(
      options.app ?? 'gateway',
      {
        ...(port ? { PORT: String(port), NODE_URL: `http://127.0.0.1:${port}` } : {}),
        NODE_ID: options.nodeId,
        BUS: options.bus ?? 'rocketmq',
        ROCKETMQ_ENDPOINTS: process.env.ROCKETMQ_ENDPOINTS ?? '127.0.0.1:8081',
        ROCKETMQ_NAMESRV_ADDR: process.env.ROCKETMQ_NAMESRV_ADDR ?? '127.0.0.1:9876',
        ...options.env,
      },
      options.nodeArgs,
    );
    const gateway = new GatewayProcess(options.nodeId, child, SERVERS[options.app ?? 'gateway'].listening);
    try {
      await waitFor(
        `gateway ${options.nodeId} to listen`,
        () => (gateway.exitCode === undefined ? gateway.port : Promise.reject(new Error('exited'))),
        30_000,
        50,
      );
      await gateway.waitReady(60_000);
    } catch (error) {
      await gateway.kill();
      throw new Error(`${String(error)}\n--- gateway ${options.nodeId} output ---\n${gateway.output.slice(-40).join('\n')}`);
    }
    return gateway;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await waitFor(
      `gateway ${this.nodeId} /readyz`,
      async () => {
        if (this.exitCode !== undefined) throw new Error(`gateway exited with ${this.exitCode}`);
        const response = await fetch(`${this.httpUrl}/readyz`);
        return response.status === 200;
      },
      timeoutMs,
      200,
    );
  }

  /** Its warning and error log lines (pino levels ≥ 40) and anything that is not JSON. */
  problems(): string[] {
    return this.output.filter((line) => {
      try {
        return ((JSON.parse(line) as { level?: number }).level ?? 50) >= 40;
      } catch {
        return true;
      }
    });
  }

  /** Reads one counter from /metrics. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGSTOP / SIGCONT: the process freezes with its sockets open, as a long GC pause or a partition would. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  unpause(): void {
    this.child.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
