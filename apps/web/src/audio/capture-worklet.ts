/**
 * Microphone side: collects the input into 20 ms frames (960 samples at 48 kHz) and posts each
 * with its audio level (RFC 6464 style: 0 = 0 dBov, loud; 127 = silence). The main thread
 * encodes them with WebCodecs.
 */
const FRAME = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  private frame = new Float32Array(FRAME);
  private filled = 0;

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    if (!input) return true;
    let offset = 0;
    while (offset < input.length) {
      const n = Math.min(FRAME - this.filled, input.length - offset);
      this.frame.set(input.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === FRAME) {
        let sum = 0;
        for (let i = 0; i < FRAME; i++) sum += this.frame[i]! * this.frame[i]!;
        const rms = Math.sqrt(sum / FRAME);
        const level = rms <= 0 ? 127 : Math.min(127, Math.max(0, Math.round(-20 * Math.log10(rms))));
        this.port.postMessage({ samples: this.frame, level, rms }, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('voiceroom-capture', CaptureProcessor);
