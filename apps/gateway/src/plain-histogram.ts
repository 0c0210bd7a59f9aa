/**
 * Histograms the hot paths observe in plain numbers (the join path, the age of voice from other
 * nodes); metrics.ts copies them into Prometheus when /metrics is scraped.
 */

/** Histogram buckets, in seconds (Prometheus base unit). */
export const BUCKETS = {
  /** Join received to `joined` sent: one event-log round trip plus token checks; the request timeout is 10 s. */
  join: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** Publish of an own event-log entry to its application on this node. */
  logRoundTrip: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** Voice from another node, birth on the publishing gateway to relay here: 1 ms to 1 s (VOICE_DEADLINE_MS is 500 ms). */
  frameAge: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
} as const;

/**
 * A histogram kept in plain numbers, for the hot path: observe() costs a few nanoseconds (prom-client's
 * Histogram.observe costs ~200 ns), and the buckets are copied out only when /metrics is scraped.
 */
export class PlainHistogram {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}
