import { createServer, type Server } from 'node:http';

/** What the listener needs of a prom-client Registry. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/**
 * GET /metrics on a port of its own (METRICS_PORT), so that the public Service need not expose it.
 * Anything else is 404.
 */
export class MetricsServer {
  readonly server: Server;
  constructor(registry: MetricsSource) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
        response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'this port serves GET /metrics only' } }));
        return;
      }
      registry.metrics().then(
        (body) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(request.method === 'HEAD' ? undefined : body);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          response.end(String(error));
        },
      );
    });
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 10_000;
  }

  /** Listens on host:port (0: any free port); resolves with the port, rejects with listen()'s error. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
