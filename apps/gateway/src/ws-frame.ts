/**
 * Server-to-client WebSocket framing (RFC 6455 §5.2) for binary messages, done once per voice
 * frame so every recipient is sent the same bytes. Server frames are never masked, which is
 * what makes sharing possible.
 */
export function wsHeaderBytes(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

/** Allocates a complete binary WebSocket frame for a payload of `payloadLength`; returns it with the payload offset. */
export function allocBinaryFrame(payloadLength: number): { frame: Buffer; offset: number } {
  const offset = wsHeaderBytes(payloadLength);
  // allocUnsafe slices small sizes from Node's shared pool: no zero-fill, rarely a real allocation.
  const frame = Buffer.allocUnsafe(offset + payloadLength);
  frame[0] = 0x82; // FIN + binary opcode
  if (offset === 2) {
    frame[1] = payloadLength;
  } else if (offset === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadLength, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(payloadLength, 6);
  }
  return { frame, offset };
}
