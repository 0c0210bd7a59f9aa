import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback server in front of another whose connections a test can cut: `cut()` drops every
 * connection and refuses new ones, as a stopped server (or a network cut) would; `restore()`
 * accepts again. Subclasses say how one accepted connection reaches its target.
 */
abstract class CuttableProxy {
  private server: Server | undefined;
  protected readonly sockets = new Set<Socket>();
  private up = true;
  port = 0;

  /** Handles one accepted connection while not cut. */
  protected abstract accept(client: Socket): void;

  async start(): Promise<number> {
    const server = createServer((client) => {
      if (!this.up) {
        client.destroy();
        return;
      }
      this.accept(client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  cut(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.up = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * A TCP proxy in front of a server (the test database, a broker): lets a test stop "the
 * database" for one process without stopping the machine's MariaDB.
 */
export class TcpProxy extends CuttableProxy {
  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    super();
  }

  protected accept(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/**
 * An HTTP CONNECT proxy (what `grpc_proxy=http://…` points gRPC clients at). RocketMQ's proxy
 * answers routes with its own address, so a gRPC client cannot be kept behind a plain TCP proxy;
 * behind this one it can.
 */
export class ConnectProxy extends CuttableProxy {
  protected accept(client: Socket): void {
    this.sockets.add(client);
    client.on('error', () => client.destroy()).on('close', () => this.sockets.delete(client));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const target = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.toString('latin1'));
      if (!target) {
        client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const upstream = connect(Number(target[2]), target[1] as string);
      this.sockets.add(upstream);
      const end2 = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(upstream);
      };
      upstream.on('error', end2).on('close', end2);
      client.on('close', end2);
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    client.on('data', onData);
  }
}

/** A loopback port free right now (for a server that must know its own address before it listens). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
