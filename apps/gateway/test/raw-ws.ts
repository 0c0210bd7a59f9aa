/**
 * A WebSocket client at the byte level, for what a well-behaved library never sends: several
 * messages in one TCP write, unmasked frames, bad UTF-8, reserved bits, a close frame with the
 * TCP connection kept open. It reads server frames (unmasked) and nothing more.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { waitFor } from '@voiceroom/testkit';

export const Opcode = { Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

export interface RawFrame {
  opcode: number;
  payload: Buffer;
}

/** One client frame: masked unless `mask: false`; `rsv` sets the reserved bits (0–7). */
export function encodeFrame(opcode: number, data: Buffer | string, options: { mask?: boolean; fin?: boolean; rsv?: number } = {}): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const mask = options.mask ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (payload.length < 126) head.push(maskBit | payload.length);
  else if (payload.length < 65536) head.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(payload.length));
    head.push(maskBit | 127, ...len);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export const text = (message: unknown): Buffer => encodeFrame(Opcode.Text, typeof message === 'string' ? message : JSON.stringify(message));

/** A close frame with a code (and an optional reason). */
export function closeFrame(code: number, reason = ''): Buffer {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return encodeFrame(Opcode.Close, body);
}

export class RawWebSocket {
  readonly frames: RawFrame[] = [];
  /** True once the server ended the TCP connection (FIN or reset). */
  ended = false;
  private pending = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => undefined);
  }

  /**
   * Opens `ws://host:port/ws` (or `path`) and resolves once the server answered 101. With
   * `halfOpen`, the TCP connection stays open after the server's FIN until destroy().
   */
  static open(url: string, path = '/ws', options: { halfOpen?: boolean } = {}): Promise<RawWebSocket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: options.halfOpen ?? false }, () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      let head = Buffer.alloc(0);
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        const status = head.subarray(0, end).toString('latin1').split(' ')[1];
        if (status !== '101') {
          socket.destroy();
          reject(new Error(`upgrade answered ${status}: ${head.toString('latin1')}`));
          return;
        }
        const client = new RawWebSocket(socket);
        if (head.length > end + 4) client.onData(head.subarray(end + 4));
        resolve(client);
      };
      socket.on('data', onHead);
      socket.once('error', reject);
    });
  }

  /** Writes the given frames in one TCP write. */
  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Text messages received, parsed as JSON. */
  messages(): { type: string; [key: string]: unknown }[] {
    return this.frames.filter((f) => f.opcode === Opcode.Text).map((f) => JSON.parse(f.payload.toString('utf8')));
  }

  /** The close frame the server sent, if any. */
  closeInfo(): { code: number; reason: string } | undefined {
    const close = this.frames.find((f) => f.opcode === Opcode.Close);
    if (!close) return undefined;
    return { code: close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005, reason: close.payload.subarray(2).toString('utf8') };
  }

  waitMessage(type: string, timeoutMs = 5000): Promise<{ type: string; [key: string]: unknown }> {
    return waitFor(`a ${type} message`, () => this.messages().find((m) => m.type === type), timeoutMs);
  }

  waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor('a close frame', () => this.closeInfo(), timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return;
      let length = (b[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      this.frames.push({ opcode: (b[0] as number) & 0x0f, payload: Buffer.from(b.subarray(offset, offset + length)) });
      this.pending = b.subarray(offset + length);
    }
  }
}

export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends raw bytes over a fresh TCP connection and resolves with the answer: at 101 (the socket is
 * then destroyed), once the body announced by Content-Length is in, or when the server closes.
 */
export function rawHttp(url: string, request: string, timeoutMs = 5000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    const answer = (): RawAnswer | undefined => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const headers = data.slice(0, end);
      const status = Number(headers.split(' ')[1]);
      const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1];
      const body = data.slice(end + 4);
      if (status === 101 || (length !== undefined && Buffer.byteLength(body, 'latin1') >= Number(length))) return { status, headers, body };
      return undefined;
    };
    const done = (result: RawAnswer | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => done(new Error(`no complete answer in ${timeoutMs} ms: ${JSON.stringify(data)}`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const a = answer();
      if (a) done(a);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) done(new Error(`closed without an answer: ${JSON.stringify(data)}`));
      else done({ status: Number(data.split(' ')[1]), headers: data.slice(0, end), body: data.slice(end + 4) });
    });
  });
}

/** An upgrade request for `path`, as a browser would send it. */
export function upgradeRequest(url: string, path: string, method = 'GET'): string {
  const { hostname, port } = new URL(url);
  return (
    `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}
