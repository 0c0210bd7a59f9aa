/**
 * WebSocket close codes the gateway uses. Stable: clients branch on them, and
 * docs/protocol.md lists each with what a client should do.
 */
export const CloseCode = {
  /** Normal closure (client left). */
  Normal: 1000,
  /** ws itself closes with 1009 when a message exceeds the gateway's absolute limit. */
  MessageTooBig: 1009,
  /** Unexpected server error; reconnect with backoff. */
  InternalError: 1011,
  /** Not a valid protocol message (bad JSON, unknown type, binary before join, second join). */
  ProtocolError: 4400,
  /** Join token missing, malformed, forged, signed with another key or algorithm. Do not retry with it. */
  TokenInvalid: 4401,
  /** Join token expired (or not yet valid). Get a new token, then reconnect. */
  TokenExpired: 4402,
  /** No join message within the join timeout. */
  JoinTimeout: 4408,
  /** Too many refused frames (malformed, oversized, over the rate, or not allowed to speak). */
  Abuse: 4429,
  /** The socket fell too far behind on messages that are never dropped (control, presence). Reconnect. */
  TooSlow: 4409,
  /** This gateway is not ready or is shutting down: reconnect, to any node, after a short backoff. */
  Unavailable: 4503,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
