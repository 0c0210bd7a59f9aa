/**
 * The playback worklet's jitter buffer and mixer (apps/web/src/audio/playback-worklet.ts), run
 * in Node with the two AudioWorklet globals it needs.
 */
type Message = { speaker: number; samples?: Float32Array; remove?: boolean };
interface Processor {
  port: { onmessage: ((event: { data: Message }) => void) | null; postMessage: (data: unknown) => void };
  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
}

let Ctor: new () => Processor;
const reports: Record<number, { underruns: number; dropped: number; queued: number }>[] = [];

beforeAll(() => {
  (globalThis as Record<string, unknown>).AudioWorkletProcessor = class {
    port = { onmessage: null, postMessage: (data: unknown) => reports.push(data as (typeof reports)[number]) };
  };
  (globalThis as Record<string, unknown>).registerProcessor = (_name: string, ctor: new () => Processor) => {
    Ctor = ctor;
  };
  // Loaded only now, after the worklet globals above exist: the module registers itself on load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../src/audio/playback-worklet');
});

const frame = (value: number) => new Float32Array(960).fill(value);
/** Renders `blocks` render quanta (128 samples) and returns them joined. */
function render(p: Processor, blocks: number): Float32Array {
  const all = new Float32Array(blocks * 128);
  for (let b = 0; b < blocks; b++) {
    const out = new Float32Array(128);
    p.process([], [[out]]);
    all.set(out, b * 128);
  }
  return all;
}
const send = (p: Processor, speaker: number, samples: Float32Array) => p.port.onmessage!({ data: { speaker, samples } });

it('waits for 60 ms of audio before playing a speaker, then plays it in order', () => {
  const p = new Ctor();
  send(p, 1, frame(0.1));
  send(p, 1, frame(0.2));
  expect(render(p, 15).every((v) => v === 0)).toBe(true); // 2 frames queued: still buffering
  send(p, 1, frame(0.3));
  const out = render(p, 23); // 2944 samples > the 3 frames (2880)
  expect(out[0]).toBeCloseTo(0.1);
  expect(out[960]).toBeCloseTo(0.2);
  expect(out[1920]).toBeCloseTo(0.3);
  expect(out[2900]).toBe(0); // ran dry: silence, and buffering again
});

it('mixes speakers and clamps the sum; drops the oldest beyond 200 ms queued', () => {
  const p = new Ctor();
  for (let i = 0; i < 3; i++) {
    send(p, 1, frame(0.7));
    send(p, 2, frame(0.6));
  }
  expect(render(p, 1)[0]).toBe(1); // 0.7 + 0.6 clamped
  const q = new Ctor();
  for (let i = 0; i < 14; i++) send(q, 3, frame(i / 100));
  const out = render(q, 8);
  expect(out[0]).toBeCloseTo(0.04); // frames 0-3 dropped: 10 kept
});

it('forgets a speaker that left', () => {
  const p = new Ctor();
  for (let i = 0; i < 3; i++) send(p, 5, frame(0.5));
  p.port.onmessage!({ data: { speaker: 5, remove: true } });
  expect(render(p, 8).every((v) => v === 0)).toBe(true);
});
