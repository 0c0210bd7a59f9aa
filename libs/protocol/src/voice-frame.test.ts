import {
  checkClientVoiceFrame,
  checkServerVoiceFrame,
  CLIENT_VOICE_HEADER_BYTES,
  isSequenceAfter,
  readLevel,
  readSequence,
  readSpeakerId,
  readTimestamp,
  SERVER_VOICE_HEADER_BYTES,
  VoiceDecodeResult,
  writeClientVoiceFrame,
  writeServerVoiceFrame,
  type SpeakerId,
} from './index';

const MAX = 512;

function clientFrame(seq: number, ts: number, level: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(CLIENT_VOICE_HEADER_BYTES + payload.length);
  writeClientVoiceFrame(out, 0, seq, ts, level, payload);
  return out;
}

describe('voice frame codec', () => {
  it('round-trips a client frame through the server form with every field intact', () => {
    const payload = Uint8Array.from({ length: 97 }, (_, i) => (i * 7) & 0xff);
    const frame = clientFrame(0xfffe, 0xfedcba98, 42, payload);
    expect(checkClientVoiceFrame(frame, MAX)).toBe(VoiceDecodeResult.Ok);

    const server = new Uint8Array(frame.length + 4 + 3);
    const written = writeServerVoiceFrame(frame, 0xdeadbeef as SpeakerId, server, 3);
    const view = server.subarray(3, 3 + written);
    expect(written).toBe(SERVER_VOICE_HEADER_BYTES + payload.length);
    expect(checkServerVoiceFrame(view, MAX)).toBe(VoiceDecodeResult.Ok);
    expect(readSequence(view)).toBe(0xfffe);
    expect(readTimestamp(view)).toBe(0xfedcba98);
    expect(readLevel(view)).toBe(42);
    expect(readSpeakerId(view)).toBe(0xdeadbeef);
    expect(Array.from(view.subarray(SERVER_VOICE_HEADER_BYTES))).toEqual(Array.from(payload));
  });

  it('writes the documented big-endian layout', () => {
    const frame = clientFrame(0x0102, 0x03040506, 7, Uint8Array.of(0xaa));
    expect(Array.from(frame)).toEqual([0x01, 7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xaa]);
  });

  it('rejects truncated frames, including a header with no payload', () => {
    expect(checkClientVoiceFrame(new Uint8Array(0), MAX)).toBe(VoiceDecodeResult.Truncated);
    expect(checkClientVoiceFrame(clientFrame(1, 1, 1, Uint8Array.of(1)).subarray(0, 8), MAX)).toBe(VoiceDecodeResult.Truncated);
    expect(checkServerVoiceFrame(new Uint8Array(12), MAX)).toBe(VoiceDecodeResult.Truncated);
  });

  it('rejects unknown kinds and levels above 127', () => {
    const frame = clientFrame(1, 1, 1, Uint8Array.of(1, 2, 3));
    frame[0] = 0x02;
    expect(checkClientVoiceFrame(frame, MAX)).toBe(VoiceDecodeResult.UnknownKind);
    frame[0] = 0x01;
    frame[1] = 128;
    expect(checkClientVoiceFrame(frame, MAX)).toBe(VoiceDecodeResult.BadLevel);
  });

  it('rejects payloads over the configured maximum and accepts exactly the maximum', () => {
    expect(checkClientVoiceFrame(clientFrame(1, 1, 1, new Uint8Array(MAX)), MAX)).toBe(VoiceDecodeResult.Ok);
    expect(checkClientVoiceFrame(clientFrame(1, 1, 1, new Uint8Array(MAX + 1)), MAX)).toBe(VoiceDecodeResult.TooLarge);
  });

  it('compares 16-bit sequence numbers across the wrap', () => {
    expect(isSequenceAfter(1, 0)).toBe(true);
    expect(isSequenceAfter(0, 65535)).toBe(true);
    expect(isSequenceAfter(65535, 0)).toBe(false);
    expect(isSequenceAfter(5, 5)).toBe(false);
    expect(isSequenceAfter(4, 5)).toBe(false);
  });
});
