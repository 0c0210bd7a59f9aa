import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

/**
 * The WebSocket frame violations `ws` detects (its WS_ERR_* codes), by the reason label of
 * `voiceroom_ws_protocol_errors_total`. They are the client's mistakes, not the server's: ws
 * has already sent the close frame (1002, 1007 or 1009) when they are reported.
 */
const REASONS: Readonly<Record<string, string>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'message_too_big',
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 'message_too_big',
  WS_ERR_INVALID_UTF8: 'invalid_utf8',
  WS_ERR_EXPECTED_MASK: 'mask_required',
  WS_ERR_UNEXPECTED_MASK: 'unexpected_mask',
  WS_ERR_INVALID_OPCODE: 'invalid_opcode',
  WS_ERR_UNEXPECTED_RSV_1: 'reserved_bits',
  WS_ERR_UNEXPECTED_RSV_2_3: 'reserved_bits',
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 'control_frame_too_long',
  WS_ERR_EXPECTED_FIN: 'fragmented_control_frame',
  WS_ERR_INVALID_CLOSE_CODE: 'invalid_close_code',
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 'too_many_fragments',
};

/** Every reason label, for dashboards and tests (`other`: a WS_ERR_* code this list does not know yet). */
export const PROTOCOL_ERROR_REASONS: readonly string[] = [...new Set([...Object.values(REASONS), 'other'])];

/** The reason label of a client protocol violation, or undefined for any other error. */
export function protocolErrorReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  return REASONS[code] ?? 'other';
}

/** Client protocol violations seen on this node, by reason. Plain numbers; /metrics reads them. */
export type ProtocolErrorCounts = Map<string, number>;

/**
 * The errorHandler of @fastify/websocket: called for each error a connection's socket reports
 * (and for an exception of the route handler). Its default logs every client's frame violation
 * at error level with a stack: one misbehaving client could flood the logs. A violation is
 * counted by reason and logged at debug; ws closes that connection itself (it has sent the close
 * frame, and drops the TCP connection after WS_CLOSE_TIMEOUT_MS if the client does not answer).
 * Anything else is a server bug: logged at error, and the connection is dropped.
 */
export function wsErrorHandler(counts: ProtocolErrorCounts) {
  return function onWebSocketError(error: Error, socket: WebSocket, request: FastifyRequest, _reply: FastifyReply): void {
    const reason = protocolErrorReason(error);
    if (reason !== undefined) {
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      request.log.debug({ ip: request.ip, reason, message: error.message }, 'client protocol error: connection closed');
      return;
    }
    request.log.error({ err: error, ip: request.ip }, 'unexpected error on a WebSocket connection');
    socket.terminate();
  };
}

/** A close reason must fit in 123 bytes of UTF-8 (RFC 6455 §5.5), or ws throws. */
export function closeReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text, 'utf8') > 123) text = text.slice(0, -1);
  return text;
}
