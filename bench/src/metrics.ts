/** One scrape of a gateway's /metrics, as name -> value (label sets of one name are summed). */
export type MetricSample = Map<string, number>;

export async function scrapeMetrics(httpUrl: string, timeoutMs = 5000): Promise<MetricSample> {
  const response = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${httpUrl}/metrics answered ${response.status}`);
  const sample: MetricSample = new Map();
  for (const { name, value } of metricLines(await response.text())) sample.set(name, (sample.get(name) ?? 0) + value);
  return sample;
}

/** The samples of a Prometheus text exposition: metric name (labels cut off), value, and the whole line. */
export function* metricLines(text: string): Generator<{ name: string; value: number; line: string }> {
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const brace = line.indexOf('{');
    const name = line.slice(0, brace >= 0 && brace < space ? brace : line.indexOf(' '));
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) yield { name, value, line };
  }
}

/** The counters the report reads, without the `voiceroom_` prefix. */
export const COUNTERS = [
  'voice_frames_in_total',
  'voice_deliveries_total',
  'voice_remote_frames_in_total',
  'voice_remote_deliveries_total',
  'voice_remote_out_of_order_total',
  'voice_refused_rate_total',
  'voice_refused_malformed_total',
  'voice_refused_too_large_total',
  'voice_refused_not_allowed_total',
  'voice_dropped_slow_socket_total',
  'abuse_closes_total',
  'bus_voice_frames_published_total',
  'bus_voice_messages_published_total',
  'bus_voice_frames_dropped_total',
  'bus_voice_publish_failures_total',
  'bus_voice_frames_received_total',
  'bus_voice_messages_received_total',
  'bus_voice_pulls_total',
  'bus_stale_messages_dropped_total',
  'bus_malformed_messages_dropped_total',
  'bus_events_published_total',
  'bus_event_publish_failures_total',
] as const;
export type CounterName = (typeof COUNTERS)[number];

export function counter(sample: MetricSample, name: string): number {
  return sample.get(`voiceroom_${name}`) ?? NaN;
}

/** end - start of every report counter. */
export function counterDeltas(start: MetricSample, end: MetricSample): Record<CounterName, number> {
  const out = {} as Record<CounterName, number>;
  for (const name of COUNTERS) out[name] = counter(end, name) - counter(start, name);
  return out;
}
