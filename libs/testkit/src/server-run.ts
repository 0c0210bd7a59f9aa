import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';
import { TEST_JWT_SECRET } from './tokens';

export interface ServerRun {
  /** The exit code, or undefined when the process was still running (and was then stopped). */
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * Runs a server (apps/gateway or apps/admin, from its TypeScript source as the tests start it)
 * with a minimal environment plus `env`, until it exits, or until its output matches `until`
 * (it is then stopped with SIGTERM, SIGKILL after 10 s, and `code` is undefined), or `timeoutMs`
 * passes (then it throws, after killing it).
 */
export async function runServer(
  app: 'gateway' | 'admin',
  env: Record<string, string>,
  options: { until?: RegExp; timeoutMs?: number; whileRunning?: (output: string) => Promise<void> } = {},
): Promise<ServerRun> {
  const script = app === 'gateway' ? 'apps/gateway/src/server.ts' : 'apps/admin/src/server.ts';
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(REPO_ROOT, script)], {
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
  let stdout = '';
  let stderr = '';
  let matched = false;
  let onMatch: () => void = () => undefined;
  const matchedOnce = new Promise<void>((resolve) => (onMatch = resolve));
  const check = () => {
    if (!matched && options.until?.test(stdout + stderr)) {
      matched = true;
      onMatch();
    }
  };
  child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), check()));
  child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk.toString()), check()));
  // 'close': the process has exited and its output has been read to the end.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 30_000)));
  try {
    const first = await Promise.race([exited.then(() => 'exit' as const), matchedOnce.then(() => 'match' as const), timedOut]);
    if (first === 'exit') {
      return { code: (await exited) ?? -1, stdout, stderr };
    }
    if (first === 'timeout') {
      throw new Error(`${app} neither exited nor printed ${String(options.until)} in time\n--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`);
    }
    if (options.whileRunning) await options.whileRunning(stdout + stderr);
    return { code: undefined, stdout, stderr };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    }
  }
}
