/** Fixed-bucket latency histogram: recording is one array increment, no allocation. */
export class Histogram {
  private readonly counts: Uint32Array;
  private readonly bucketsPerMs: number;
  count = 0;
  max = 0;
  private sum = 0;

  /**
   * `bucketMs` wide buckets from 0 to `rangeMs`; larger values land in the last bucket (max stays
   * exact). `integral`: the values are whole multiples of `bucketMs`, so a percentile is its
   * bucket's lower edge (the value itself) rather than the upper edge.
   */
  constructor(
    readonly bucketMs: number,
    rangeMs: number,
    private readonly integral = false,
  ) {
    this.bucketsPerMs = 1 / bucketMs;
    this.counts = new Uint32Array(Math.ceil(rangeMs / bucketMs) + 1);
  }

  record(ms: number): void {
    const value = ms < 0 ? 0 : ms;
    let index = Math.floor(value * this.bucketsPerMs);
    if (index >= this.counts.length) index = this.counts.length - 1;
    this.counts[index] = (this.counts[index] as number) + 1;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** Upper edge of the bucket holding the p-th percentile (so "p99 ≤ x ms"), or the value itself if integral; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(Math.round((this.integral ? i : i + 1) * this.bucketMs * 1000) / 1000, this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      n: this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.count ? this.max : NaN,
      mean: this.count ? this.sum / this.count : NaN,
    };
  }
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}
