// The AudioWorkletGlobalScope as the two worklet modules use it (TypeScript's DOM lib has no
// worklet scope).
declare const sampleRate: number;
declare const currentTime: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor();
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;
