import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The one path that upgrades to a WebSocket. */
export const WS_PATH = '/ws';

/** A refusal in the documented error shape ({ error: { code, message } }). */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export interface ConnectionLimitsConfig {
  /** MAX_CONNECTIONS_PER_IP. */
  perAddress: number;
  /** MAX_CONNECTIONS. */
  max: number;
  /**
   * TRUST_PROXY is off: the TCP peer is the client, so its address is known (and limited) from
   * the TCP accept on. Behind a trusted proxy the client's address is only known from the
   * request's X-Forwarded-For: the limit is then applied at the upgrade.
   */
  peerIsClient: boolean;
}

/** Refusals and timeouts, read by /metrics. */
export interface ConnectionStats {
  refusedPerAddress: number;
  refusedMaxConnections: number;
  refusedPath: number;
  requestTimeouts: number;
}

const kAddress = Symbol('voiceroom.address');
type Tracked = Socket & { [kAddress]?: string };

/**
 * TCP connections by client address, from the TCP accept to the TCP close: WebSockets, HTTP
 * requests and requests still being received (a partial upgrade holds its slot too). A socket
 * the gateway closed keeps its slot until its TCP connection is really gone (at most
 * WS_CLOSE_TIMEOUT_MS after the close frame), so a client that does not answer close frames
 * cannot walk around the limit.
 *
 * - per address (MAX_CONNECTIONS_PER_IP): a new TCP connection from an address that already
 *   holds that many is answered `429 TOO_MANY_CONNECTIONS` at once, before its request is read
 *   (behind a trusted proxy: a WebSocket upgrade from such a client address gets the 429);
 * - the node (MAX_CONNECTIONS): while it holds that many TCP connections, WebSocket upgrades get
 *   `503 AT_CAPACITY`; plain HTTP requests (health, metrics, admin) are still answered;
 * - WebSocket upgrades on any path but exactly `/ws` get `404 ROUTE_NOT_FOUND`.
 */
export class ConnectionLimits {
  readonly stats: ConnectionStats = { refusedPerAddress: 0, refusedMaxConnections: 0, refusedPath: 0, requestTimeouts: 0 };
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly config: ConnectionLimitsConfig) {}

  /** Open TCP connections. */
  get connections(): number {
    return this.total;
  }

  /** Open TCP connections counted against `address`. */
  count(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  /**
   * Puts the accept check in front of the HTTP server: a connection it refuses never reaches the
   * HTTP parser (so a refused client cannot hold it open by sending its request slowly).
   */
  attach(server: Server): void {
    const http = server.listeners('connection') as ((this: Server, socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.accept(socket)) return;
      for (const listener of http) listener.call(server, socket);
    });
  }

  /** Counts a new TCP connection, or refuses it (false). */
  accept(socket: Socket): boolean {
    const address = socket.remoteAddress ?? 'unknown';
    if (this.config.peerIsClient && this.count(address) >= this.config.perAddress) {
      this.stats.refusedPerAddress++;
      refuseRaw(socket, this.perAddressRefusal());
      return false;
    }
    this.track(socket, address);
    socket.once('close', () => this.release(socket));
    return true;
  }

  /**
   * The checks on a WebSocket upgrade request, once its head is read: the path, the client's
   * address (moved from the proxy's to the client's behind a trusted proxy) and the node's cap.
   */
  checkUpgrade(socket: Socket, clientAddress: string, method: string, url: string): Refusal | undefined {
    if (method !== 'GET' || url.split('?')[0] !== WS_PATH) {
      this.stats.refusedPath++;
      return { status: 404, code: 'ROUTE_NOT_FOUND', message: `WebSocket upgrades are served on GET ${WS_PATH} only` };
    }
    const tracked = socket as Tracked;
    if (tracked[kAddress] !== undefined && tracked[kAddress] !== clientAddress) {
      this.release(tracked);
      this.track(tracked, clientAddress);
    }
    if (this.count(clientAddress) > this.config.perAddress) {
      this.stats.refusedPerAddress++;
      return this.perAddressRefusal();
    }
    if (this.total > this.config.max) {
      this.stats.refusedMaxConnections++;
      return { status: 503, code: 'AT_CAPACITY', message: `this gateway holds its maximum of ${this.config.max} connections; try another gateway or later` };
    }
    return undefined;
  }

  /** A Fastify onRequest hook: refuses WebSocket upgrades that fail checkUpgrade, in the error shape. */
  upgradeHook() {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (!request.ws) return;
      const refusal = this.checkUpgrade(request.raw.socket, request.ip, request.raw.method ?? '', request.raw.url ?? '');
      if (!refusal) return;
      if (refusal.status !== 404) void reply.header('retry-after', '5');
      await reply.code(refusal.status).send({ error: { code: refusal.code, message: refusal.message } });
    };
  }

  /**
   * Fastify's clientErrorHandler: a request the HTTP parser gives up on (headers or request not
   * complete within HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS, a malformed request, headers
   * too large) is answered in the documented error shape and closed.
   */
  clientErrorHandler() {
    return (error: Error & { code?: string }, socket: Socket): void => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      let refusal: Refusal;
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        this.stats.requestTimeouts++;
        refusal = { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' };
      } else if (error.code === 'HPE_HEADER_OVERFLOW') {
        refusal = { status: 431, code: 'HEADERS_TOO_LARGE', message: 'the request headers are too large' };
      } else {
        refusal = { status: 400, code: 'BAD_REQUEST', message: 'malformed HTTP request' };
      }
      if (socket.writable) socket.write(response(refusal));
      socket.destroy(error);
    };
  }

  private perAddressRefusal(): Refusal {
    return { status: 429, code: 'TOO_MANY_CONNECTIONS', message: `more than ${this.config.perAddress} connections from your address` };
  }

  private track(socket: Tracked, address: string): void {
    socket[kAddress] = address;
    this.byAddress.set(address, this.count(address) + 1);
    this.total++;
  }

  private release(socket: Tracked): void {
    const address = socket[kAddress];
    if (address === undefined) return;
    socket[kAddress] = undefined;
    const n = this.count(address) - 1;
    if (n <= 0) this.byAddress.delete(address);
    else this.byAddress.set(address, n);
    this.total--;
  }
}

function response(refusal: Refusal): string {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
  const retry = refusal.status === 429 || refusal.status === 503 ? 'Retry-After: 5\r\n' : '';
  return (
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`
  );
}

/**
 * Answers a TCP connection without reading its request: the response, then FIN. What the client
 * sends meanwhile is read and discarded (closing with unread data would reset the connection and
 * could lose the response); the socket is destroyed when the client closes, or after 2 s.
 */
function refuseRaw(socket: Socket, refusal: Refusal): void {
  socket.on('error', () => undefined);
  socket.setTimeout(2000, () => socket.destroy());
  socket.once('end', () => socket.destroy());
  socket.resume();
  socket.end(response(refusal));
}
