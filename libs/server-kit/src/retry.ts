/**
 * Runs `attempt` until it resolves, waiting `delayMs` (2 s) after each failure, or until
 * `stopped()` says to give up (checked before each attempt and after each failure, so a failure
 * while stopping is not reported). `onFailure` reports each failure (a log line saying what is
 * retried). Resolves true once an attempt succeeded, false when stopped first.
 *
 * What the servers retry this way rather than fail to start: the bus (RocketMQ, the gateway and
 * the admin API) and the admin API's database.
 */
export async function retryUntil(
  attempt: (n: number) => Promise<void>,
  options: { stopped: () => boolean; onFailure: (error: unknown, n: number) => void; delayMs?: number },
): Promise<boolean> {
  for (let n = 1; !options.stopped(); n++) {
    try {
      await attempt(n);
      return true;
    } catch (error) {
      if (options.stopped()) return false;
      options.onFailure(error, n);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 2000));
    }
  }
  return false;
}
