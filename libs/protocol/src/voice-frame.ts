/**
 * Voice frame codec. Byte layouts are the contract in docs/protocol.md; all integers are
 * big-endian.
 *
 * Client to server (binary WebSocket message):
 *   0  u8   kind = 0x01 (voice)
 *   1  u8   audio level, 0..127 = -dBov (0 loudest, 127 silence), RFC 6464 style
 *   2  u16  sequence number, +1 per frame, wraps at 65536
 *   4  u32  capture timestamp, milliseconds of the sender's clock modulo 2^32
 *   8  ...  Opus payload, 1..maxPayload bytes
 *
 * Server to client (binary WebSocket message): the same fields, plus the speaker id.
 *   0  u8   kind = 0x01
 *   1  u8   audio level
 *   2  u16  sequence number (as sent by the speaker)
 *   4  u32  capture timestamp (as sent by the speaker)
 *   8  u32  speaker id (the `sid` announced in roster messages)
 *   12 ...  Opus payload
 *
 * Decoding never allocates: it validates and reads fields; the payload stays in place.
 */
import type { SpeakerId } from './ids';

export const FRAME_KIND_VOICE = 0x01;
export const CLIENT_VOICE_HEADER_BYTES = 8;
export const SERVER_VOICE_HEADER_BYTES = 12;
export const MAX_AUDIO_LEVEL = 127;
/** Largest Opus packet (RFC 6716 §3.2.1 bounds a 20 ms frame at 1275 bytes). */
export const OPUS_MAX_PACKET_BYTES = 1275;

export enum VoiceDecodeResult {
  Ok = 0,
  Truncated = 1,
  UnknownKind = 2,
  BadLevel = 3,
  TooLarge = 4,
}

export function describeVoiceDecodeResult(result: VoiceDecodeResult): string {
  switch (result) {
    case VoiceDecodeResult.Ok:
      return 'ok';
    case VoiceDecodeResult.Truncated:
      return 'frame shorter than its header plus one payload byte';
    case VoiceDecodeResult.UnknownKind:
      return 'unknown frame kind';
    case VoiceDecodeResult.BadLevel:
      return 'audio level above 127';
    case VoiceDecodeResult.TooLarge:
      return 'payload larger than the configured maximum';
  }
}

/**
 * Validates a client voice frame. Returns Ok or the first reason it is refused.
 * Field readers below may be used only on frames that returned Ok.
 */
export function checkClientVoiceFrame(frame: Uint8Array, maxPayloadBytes: number): VoiceDecodeResult {
  if (frame.length < CLIENT_VOICE_HEADER_BYTES + 1) return VoiceDecodeResult.Truncated;
  if (frame[0] !== FRAME_KIND_VOICE) return VoiceDecodeResult.UnknownKind;
  if ((frame[1] as number) > MAX_AUDIO_LEVEL) return VoiceDecodeResult.BadLevel;
  if (frame.length - CLIENT_VOICE_HEADER_BYTES > maxPayloadBytes) return VoiceDecodeResult.TooLarge;
  return VoiceDecodeResult.Ok;
}

/** Same checks for a frame as the server sends it (used by clients and the bus receiver). */
export function checkServerVoiceFrame(frame: Uint8Array, maxPayloadBytes: number): VoiceDecodeResult {
  if (frame.length < SERVER_VOICE_HEADER_BYTES + 1) return VoiceDecodeResult.Truncated;
  if (frame[0] !== FRAME_KIND_VOICE) return VoiceDecodeResult.UnknownKind;
  if ((frame[1] as number) > MAX_AUDIO_LEVEL) return VoiceDecodeResult.BadLevel;
  if (frame.length - SERVER_VOICE_HEADER_BYTES > maxPayloadBytes) return VoiceDecodeResult.TooLarge;
  return VoiceDecodeResult.Ok;
}

export function readLevel(frame: Uint8Array): number {
  return frame[1] as number;
}

export function readSequence(frame: Uint8Array): number {
  return ((frame[2] as number) << 8) | (frame[3] as number);
}

export function readTimestamp(frame: Uint8Array): number {
  return (((frame[4] as number) << 24) | ((frame[5] as number) << 16) | ((frame[6] as number) << 8) | (frame[7] as number)) >>> 0;
}

export function readSpeakerId(serverFrame: Uint8Array): SpeakerId {
  return ((((serverFrame[8] as number) << 24) | ((serverFrame[9] as number) << 16) | ((serverFrame[10] as number) << 8) | (serverFrame[11] as number)) >>>
    0) as SpeakerId;
}

/**
 * Writes the server form of a client frame into `out` at `offset`: the client header, the
 * speaker id, then the payload. `out` must have SERVER_VOICE_HEADER_BYTES - CLIENT_VOICE_HEADER_BYTES
 * more bytes than the client frame from `offset`. Returns the number of bytes written.
 */
export function writeServerVoiceFrame(clientFrame: Uint8Array, speaker: SpeakerId, out: Uint8Array, offset: number): number {
  out.set(clientFrame.subarray(0, CLIENT_VOICE_HEADER_BYTES), offset);
  out[offset + 8] = speaker >>> 24;
  out[offset + 9] = (speaker >>> 16) & 0xff;
  out[offset + 10] = (speaker >>> 8) & 0xff;
  out[offset + 11] = speaker & 0xff;
  out.set(clientFrame.subarray(CLIENT_VOICE_HEADER_BYTES), offset + SERVER_VOICE_HEADER_BYTES);
  return clientFrame.length + SERVER_VOICE_HEADER_BYTES - CLIENT_VOICE_HEADER_BYTES;
}

/** Writes a client voice frame; used by clients, tests and the load generator. Returns bytes written. */
export function writeClientVoiceFrame(out: Uint8Array, offset: number, sequence: number, timestamp: number, level: number, payload: Uint8Array): number {
  out[offset] = FRAME_KIND_VOICE;
  out[offset + 1] = level & 0x7f;
  out[offset + 2] = (sequence >>> 8) & 0xff;
  out[offset + 3] = sequence & 0xff;
  out[offset + 4] = timestamp >>> 24;
  out[offset + 5] = (timestamp >>> 16) & 0xff;
  out[offset + 6] = (timestamp >>> 8) & 0xff;
  out[offset + 7] = timestamp & 0xff;
  out.set(payload, offset + CLIENT_VOICE_HEADER_BYTES);
  return CLIENT_VOICE_HEADER_BYTES + payload.length;
}

/** Serial-number comparison (RFC 1982) for 16-bit sequences: is `a` after `b`? */
export function isSequenceAfter(a: number, b: number): boolean {
  const diff = (a - b) & 0xffff;
  return diff !== 0 && diff < 0x8000;
}
