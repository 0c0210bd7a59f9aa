/**
 * Speaker side: one jitter buffer per speaker, mixed into the output. A speaker starts (and
 * restarts after running dry) once PREBUFFER frames are queued; beyond MAX_QUEUED the oldest are
 * dropped so latency cannot grow. Reports, every ~100 ms, the RMS of what it played per speaker.
 */
const PREBUFFER = 3; // 60 ms
const MAX_QUEUED = 10; // 200 ms

interface Speaker {
  queue: Float32Array[];
  offset: number;
  playing: boolean;
  sum: number;
  count: number;
  underruns: number;
  dropped: number;
}

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly speakers = new Map<number, Speaker>();
  private blocks = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<{ speaker: number; samples?: Float32Array; remove?: boolean }>) => {
      const { speaker, samples, remove } = event.data;
      if (remove) {
        this.speakers.delete(speaker);
        return;
      }
      if (!samples) return;
      let s = this.speakers.get(speaker);
      if (!s) {
        s = { queue: [], offset: 0, playing: false, sum: 0, count: 0, underruns: 0, dropped: 0 };
        this.speakers.set(speaker, s);
      }
      s.queue.push(samples);
      while (s.queue.length > MAX_QUEUED) {
        s.queue.shift();
        s.offset = 0;
        s.dropped++;
      }
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (!out) return true;
    out.fill(0);
    for (const s of this.speakers.values()) {
      if (!s.playing) {
        if (s.queue.length < PREBUFFER) continue;
        s.playing = true;
      }
      let written = 0;
      while (written < out.length) {
        const chunk = s.queue[0];
        if (!chunk) {
          s.playing = false; // ran dry: buffer again before playing on
          s.underruns++;
          break;
        }
        const n = Math.min(out.length - written, chunk.length - s.offset);
        for (let i = 0; i < n; i++) {
          const v = chunk[s.offset + i]!;
          out[written + i]! += v;
          s.sum += v * v;
        }
        s.count += n;
        written += n;
        s.offset += n;
        if (s.offset === chunk.length) {
          s.queue.shift();
          s.offset = 0;
        }
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i]!));
    for (let c = 1; c < (outputs[0]?.length ?? 0); c++) outputs[0]![c]!.set(out);
    if (++this.blocks % 38 === 0) {
      const report: Record<number, { rms: number; underruns: number; dropped: number; queued: number }> = {};
      for (const [id, s] of this.speakers) {
        report[id] = { rms: s.count ? Math.sqrt(s.sum / s.count) : 0, underruns: s.underruns, dropped: s.dropped, queued: s.queue.length };
        s.sum = 0;
        s.count = 0;
      }
      this.port.postMessage(report);
    }
    return true;
  }
}

registerProcessor('voiceroom-playback', PlaybackProcessor);
