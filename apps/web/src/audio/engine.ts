/**
 * The page's audio: microphone → 20 ms frames (capture worklet) → Opus (WebCodecs
 * AudioEncoder) → the SDK; and the SDK's frames → one AudioDecoder per speaker → the playback
 * worklet (jitter buffer per speaker, mixed). Keeps counters the page shows and tests read.
 */
export const SAMPLE_RATE = 48_000;
const FRAME = 960;

export interface AudioStats {
  framesEncoded: number;
  framesDecoded: number;
  decodeErrors: number;
  /** RMS of the last decoded frame per speaker sid, and the largest since the speaker appeared. */
  decodedRms: Record<number, number>;
  decodedPeakRms: Record<number, number>;
  /** Frames decoded per speaker sid. */
  decodedFrames: Record<number, number>;
  /** What the playback worklet last reported per speaker (RMS played over ~100 ms). */
  played: Record<number, { rms: number; underruns: number; dropped: number; queued: number }>;
  micLevel: number;
}

export type EncodedFrameHandler = (payload: Uint8Array, level: number, timestampMs: number) => void;

export function audioSupported(): string | undefined {
  if (!window.isSecureContext) return 'the page must be opened over https (or on localhost) to use the microphone and the audio codecs';
  if (typeof AudioEncoder === 'undefined' || typeof AudioDecoder === 'undefined') return 'this browser has no WebCodecs audio (AudioEncoder/AudioDecoder)';
  if (typeof AudioWorkletNode === 'undefined') return 'this browser has no AudioWorklet';
  if (!navigator.mediaDevices?.getUserMedia) return 'this page needs a secure context (https or localhost) for the microphone';
  return undefined;
}

export class AudioEngine {
  readonly stats: AudioStats = {
    framesEncoded: 0,
    framesDecoded: 0,
    decodeErrors: 0,
    decodedRms: {},
    decodedPeakRms: {},
    decodedFrames: {},
    played: {},
    micLevel: 127,
  };
  private ctx: AudioContext | undefined;
  private playback: AudioWorkletNode | undefined;
  private capture: AudioWorkletNode | undefined;
  private stream: MediaStream | undefined;
  private encoder: AudioEncoder | undefined;
  private readonly decoders = new Map<number, AudioDecoder>();
  /** Last sequence decoded per speaker: duplicates and late frames are dropped (protocol §5.4). */
  private readonly lastSequence = new Map<number, number>();
  private readonly encoderConfig = {
    codec: 'opus',
    sampleRate: SAMPLE_RATE,
    numberOfChannels: 1,
    bitrate: 24_000,
    opus: { frameDuration: 20_000 },
  } as AudioEncoderConfig;
  private onEncoded: EncodedFrameHandler | undefined;
  private lastLevel = 127;
  private captureTime = 0;
  /** While false the microphone frames are dropped before encoding (muted, listener). */
  sending = false;

  constructor(private readonly base: string) {}

  /** Call from a user gesture (the Join click): browsers only start audio then. */
  async start(): Promise<void> {
    const ctx = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
    this.ctx = ctx;
    await ctx.audioWorklet.addModule(`${this.base}capture-worklet.js`);
    await ctx.audioWorklet.addModule(`${this.base}playback-worklet.js`);
    this.playback = new AudioWorkletNode(ctx, 'voiceroom-playback', { numberOfInputs: 0, outputChannelCount: [2] });
    this.playback.port.onmessage = (event: MessageEvent<AudioStats['played']>) => {
      this.stats.played = event.data;
    };
    this.playback.connect(ctx.destination);
    if (ctx.state === 'suspended') await ctx.resume();
  }

  /** Opens the microphone and encodes it; `onEncoded` gets each Opus packet. */
  async startMicrophone(onEncoded: EncodedFrameHandler): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) throw new Error('audio not started');
    this.onEncoded = onEncoded;
    const support = await AudioEncoder.isConfigSupported(this.encoderConfig).catch(() => ({ supported: false }));
    if (!support.supported) throw new Error('this browser cannot encode Opus audio (WebCodecs)');
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const encoder = new AudioEncoder({
      output: (chunk) => {
        const payload = new Uint8Array(chunk.byteLength);
        chunk.copyTo(payload);
        this.stats.framesEncoded++;
        this.onEncoded?.(payload, this.lastLevel, Math.round(chunk.timestamp / 1000));
      },
      error: (error) => console.error('encoder error', error),
    });
    encoder.configure(this.encoderConfig);
    this.encoder = encoder;
    this.capture = new AudioWorkletNode(ctx, 'voiceroom-capture', { numberOfOutputs: 0 });
    this.capture.port.onmessage = (event: MessageEvent<{ samples: Float32Array<ArrayBuffer>; level: number }>) => {
      const { samples, level } = event.data;
      this.stats.micLevel = level;
      if (!this.sending || encoder.state !== 'configured') return;
      this.lastLevel = level;
      const data = new AudioData({
        format: 'f32',
        sampleRate: SAMPLE_RATE,
        numberOfFrames: FRAME,
        numberOfChannels: 1,
        timestamp: this.captureTime,
        data: samples,
      });
      this.captureTime += (FRAME / SAMPLE_RATE) * 1_000_000;
      encoder.encode(data);
      data.close();
    };
    ctx.createMediaStreamSource(this.stream).connect(this.capture);
  }

  /** One received Opus packet of `speaker`. */
  receive(speaker: number, sequence: number, payload: Uint8Array): void {
    const last = this.lastSequence.get(speaker);
    // 16-bit sequence numbers: a frame within the 32768 before the last one is a duplicate or late.
    if (last !== undefined && ((sequence - last) & 0xffff) >= 0x8000) return;
    if (last !== undefined && sequence === last) return;
    this.lastSequence.set(speaker, sequence);
    let decoder = this.decoders.get(speaker);
    if (!decoder) {
      decoder = new AudioDecoder({
        output: (audio) => this.onDecoded(speaker, audio),
        error: () => {
          this.stats.decodeErrors++;
          this.decoders.delete(speaker); // a new decoder for the next frame
        },
      });
      decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
      this.decoders.set(speaker, decoder);
    }
    if (decoder.state !== 'configured') return;
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: sequence * 20_000, data: payload }));
  }

  private onDecoded(speaker: number, audio: AudioData): void {
    const samples = new Float32Array(audio.numberOfFrames);
    audio.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    audio.close();
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
    const rms = Math.sqrt(sum / Math.max(1, samples.length));
    this.stats.framesDecoded++;
    this.stats.decodedRms[speaker] = rms;
    this.stats.decodedFrames[speaker] = (this.stats.decodedFrames[speaker] ?? 0) + 1;
    this.stats.decodedPeakRms[speaker] = Math.max(this.stats.decodedPeakRms[speaker] ?? 0, rms);
    this.playback?.port.postMessage({ speaker, samples }, [samples.buffer]);
  }

  /** A speaker left: free its decoder and jitter buffer. */
  forget(speaker: number): void {
    this.decoders.get(speaker)?.close();
    this.decoders.delete(speaker);
    this.lastSequence.delete(speaker);
    this.playback?.port.postMessage({ speaker, remove: true });
  }

  async stop(): Promise<void> {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    for (const d of this.decoders.values()) if (d.state !== 'closed') d.close();
    this.decoders.clear();
    await this.ctx?.close();
    this.ctx = undefined;
  }
}
