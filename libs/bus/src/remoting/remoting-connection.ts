import { connect, type Socket } from 'node:net';
import { encodeRequest, FrameDecoder, type RemotingCommand } from './remoting-codec';

export class RemotingError extends Error {
  readonly code = 'REMOTING_FAILED';
}

interface Pending {
  resolve: (command: RemotingCommand) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One TCP connection to a RocketMQ proxy's (or broker's) remoting port, with requests matched
 * to responses by opaque. It does not reconnect: when it closes, every pending request rejects
 * and `onClose` runs once; the owner makes a new connection (with its own backoff).
 */
export class RemotingConnection {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextOpaque = 1;
  private closedError: Error | undefined;

  private constructor(
    socket: Socket,
    private readonly onClose: (error: Error) => void,
  ) {
    this.socket = socket;
    const decoder = new FrameDecoder((command) => this.dispatch(command));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new RemotingError('connection closed')));
  }

  /** Connects to `host:port`; rejects after `timeoutMs`. */
  static open(address: string, timeoutMs: number, onClose: (error: Error) => void): Promise<RemotingConnection> {
    const { host, port } = splitAddress(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RemotingError(`connect to ${address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new RemotingError(`connect to ${address} failed: ${error.message}`, { cause: error }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setKeepAlive(true, 10_000);
        resolve(new RemotingConnection(socket, onClose));
      });
    });
  }

  get isOpen(): boolean {
    return this.closedError === undefined;
  }

  request(code: number, extFields: Record<string, string | number | boolean>, body: Uint8Array | undefined, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closedError) return Promise.reject(this.closedError);
    const opaque = this.nextOpaque;
    this.nextOpaque = this.nextOpaque >= 0x7fffffff ? 1 : this.nextOpaque + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new RemotingError(`request ${code} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(opaque, { resolve, reject, timer });
      this.socket.write(encodeRequest(code, opaque, extFields, body));
    });
  }

  close(): void {
    this.fail(new RemotingError('connection closed by us'));
  }

  private dispatch(command: RemotingCommand): void {
    if (!command.response) return; // server-initiated requests (e.g. consumer checks) are not ours
    const pending = this.pending.get(command.opaque);
    if (!pending) return; // timed out already
    this.pending.delete(command.opaque);
    clearTimeout(pending.timer);
    pending.resolve(command);
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error instanceof RemotingError ? error : new RemotingError(error.message, { cause: error });
    this.socket.destroy();
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.closedError);
    }
    this.pending.clear();
    this.onClose(this.closedError);
  }
}

export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RemotingError(`'${address}' is not host:port`);
  }
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}
