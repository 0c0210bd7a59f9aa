import { spawnServer, type ServerApp } from './gateway-process';

export interface ServerRun {
  /** The exit code, or undefined when the process was still running (and was then stopped). */
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * Runs a server (apps/gateway, apps/admin or apps/single-node, from its TypeScript source as the tests start it)
 * with a minimal environment plus `env`, until it exits, or until its output matches `until`
 * (it is then stopped with SIGTERM, SIGKILL after 10 s, and `code` is undefined), or `timeoutMs`
 * passes (then it throws, after killing it).
 */
export async function runServer(
  app: ServerApp,
  env: Record<string, string>,
  options: { until?: RegExp; timeoutMs?: number; whileRunning?: (output: string) => Promise<void> } = {},
): Promise<ServerRun> {
  const child = spawnServer(app, env);
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
      throw new Error(
        `${app} neither exited nor printed ${String(options.until)} in time\n--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`,
      );
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

/** Runs `use` with a loopback port held by another listener (a "port taken" start-up), then frees it. */
export async function withTakenPort<T>(use: (port: number) => Promise<T>): Promise<T> {
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    return await use((taken.address() as { port: number }).port);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
}
