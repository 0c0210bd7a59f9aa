/**
 * WebSocket close codes the gateway uses. Stable: clients branch on them, and
 * docs/protocol.md lists each with what a client should do.
 *
 * "Resume" below means: reconnect (to any node) and send `resume` with the resume token from
 * `joined`/`resumed` within the resume grace period; the member keeps its seat and nobody sees it
 * leave. "Do not resume" means the member has left the room (or never joined).
 */
export const CloseCode = {
  /** Normal closure. From the client: it left the room. */
  Normal: 1000,
  /** ws itself closes with 1009 when a message exceeds the gateway's absolute limit. Do not resume. */
  MessageTooBig: 1009,
  /** Unexpected server error. Resume (with backoff). */
  InternalError: 1011,
  /** Not a valid protocol message (bad JSON, unknown type, binary before join, second join). Do not resume. */
  ProtocolError: 4400,
  /** Join or resume token missing, malformed, forged, signed with another key or algorithm. Do not retry with it. */
  TokenInvalid: 4401,
  /** Join token expired (or not yet valid). Get a new token, then join. */
  TokenExpired: 4402,
  /** A host removed this member from the room. Do not resume. */
  Kicked: 4403,
  /** The resume token names a member that is no longer in the room (grace over, kicked, replaced). Join again. */
  ResumeFailed: 4404,
  /** The room is closed (or was deleted) by an administrator; members in it are closed with this too. Do not resume. */
  RoomClosed: 4405,
  /** The user is banned from this room (or from every room) by an administrator. Do not resume or rejoin. */
  Banned: 4407,
  /** The room already holds its maximum number of members. */
  RoomFull: 4406,
  /** No join message within the join timeout, or the cluster did not confirm the join in time. */
  JoinTimeout: 4408,
  /** The socket fell too far behind on messages that are never dropped (control, presence). Resume. */
  TooSlow: 4409,
  /** The same user joined the room again (on any node); this older session is closed. Do not resume. */
  Replaced: 4410,
  /** Too many connections from this address, or for this user. Do not retry at once. */
  TooManyConnections: 4413,
  /** Too many refused frames (malformed, oversized, over the rate, or not allowed to speak). Do not resume. */
  Abuse: 4429,
  /** This gateway is not ready or is shutting down: reconnect, to any node, after a short backoff. */
  Unavailable: 4503,
  /** This gateway is draining (or lost its place in the cluster): resume at once on any node. */
  Reconnect: 4504,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
