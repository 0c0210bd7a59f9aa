/**
 * What every benchmark that starts gateway processes does so that none is ever left behind: find
 * its own gateways by process tree, stop them (SIGTERM, then SIGKILL after a grace period), and
 * route signals, uncaught errors and process exit through the bench's own abort.
 */
import { sleep, type GatewayProcess } from '@voiceroom/testkit';
import { cmdline, descendants } from './proc';

const GATEWAY_SCRIPT = 'apps/gateway/src/server.ts';

/** Gateway processes that are children of this process (including ones still starting). */
export function ownGatewayPids(): number[] {
  return descendants(process.pid).filter((pid) => cmdline(pid).includes(GATEWAY_SCRIPT));
}

export function signalPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Stops `gateways` and any other gateway this process started (one still inside
 * GatewayProcess.start() is not in the list yet: it is signalled by pid); bounded by twice `graceMs`.
 */
export async function stopOwnGateways(gateways: GatewayProcess[], graceMs: number): Promise<void> {
  const known = new Set(gateways.map((g) => g.pid));
  signalPids(
    ownGatewayPids().filter((pid) => !known.has(pid)),
    'SIGTERM',
  );
  await Promise.allSettled(gateways.map((g) => g.stop(graceMs)));
  const deadline = Date.now() + graceMs;
  while (ownGatewayPids().length > 0 && Date.now() < deadline) await sleep(100);
  signalPids(ownGatewayPids(), 'SIGKILL');
}

/** SIGINT/SIGTERM/SIGHUP (a second one kills at once), uncaught errors: `abort`; exit: SIGKILL what is left. */
export function guardProcess(abort: (why: string, code: number) => Promise<never>): void {
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (signalled) {
        signalPids(ownGatewayPids(), 'SIGKILL');
        process.exit(130);
      }
      signalled = true;
      void abort(`received ${signal}`, 130);
    });
  }
  process.on('uncaughtException', (error) => void abort(`uncaught error: ${error.stack ?? String(error)}`, 1));
  process.on('unhandledRejection', (reason) => void abort(`unhandled rejection: ${String(reason)}`, 1));
  // Last resort (process.exit from anywhere): never leave a gateway behind.
  process.on('exit', () => signalPids(ownGatewayPids(), 'SIGKILL'));
}
