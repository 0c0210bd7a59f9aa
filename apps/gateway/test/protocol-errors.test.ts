/**
 * A client's WebSocket frame violations are its own mistakes: logged at debug (never at error,
 * where one client could flood the logs), counted by reason, and answered with the close code
 * RFC 6455 gives them.
 */
import type { FastifyInstance } from 'fastify';
import { joinToken, RecordingClient, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { encodeFrame, Opcode, RawWebSocket, text } from './raw-ws';

interface LogLine {
  level: number;
  msg: string;
  reason?: string;
}

let app: FastifyInstance;
let url: string;
const lines: LogLine[] = [];

beforeAll(async () => {
  ({ app, url } = await startGateway(
    { WS_MAX_MESSAGE_BYTES: '1024', DRAIN_SPREAD_MS: '0' },
    { logger: { level: 'debug', stream: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) } } },
  ));
  await waitFor('ready', () => app.gateway.isReady());
});
afterAll(async () => {
  await app.close();
});

const closeBody = (code: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
};

it.each([
  ['a message over WS_MAX_MESSAGE_BYTES', encodeFrame(Opcode.Binary, Buffer.alloc(2000)), 1009, 'message_too_big'],
  ['text that is not UTF-8', encodeFrame(Opcode.Text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 1007, 'invalid_utf8'],
  ['an unmasked frame', encodeFrame(Opcode.Text, '{}', { mask: false }), 1002, 'mask_required'],
  ['a reserved bit set', encodeFrame(Opcode.Text, '{}', { rsv: 2 }), 1002, 'reserved_bits'],
  ['an unknown opcode', encodeFrame(0x3, 'x'), 1002, 'invalid_opcode'],
  ['a ping over 125 bytes', encodeFrame(Opcode.Ping, Buffer.alloc(200)), 1002, 'control_frame_too_long'],
  ['a fragmented ping', encodeFrame(Opcode.Ping, 'x', { fin: false }), 1002, 'fragmented_control_frame'],
  ['a close frame with code 1005', encodeFrame(Opcode.Close, closeBody(1005)), 1002, 'invalid_close_code'],
])('%s: closed with its code, logged at debug, counted by reason', async (_name, bytes, code, reason) => {
  const before = lines.length;
  const raw = await RawWebSocket.open(url);
  raw.write(bytes);
  expect((await raw.waitClose()).code).toBe(code);
  await waitFor('the debug line', () => lines.slice(before).some((l) => l.reason === reason));
  const mine = lines.slice(before);
  expect(mine.filter((l) => l.level >= 40)).toEqual([]); // nothing at warn or error
  expect(mine.find((l) => l.reason === reason)?.level).toBe(20);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toContain(`voiceroom_ws_protocol_errors_total{reason="${reason}",node="gw-test"} `);
  expect(Number(new RegExp(`voiceroom_ws_protocol_errors_total\\{reason="${reason}",node="gw-test"\\} (\\d+)`).exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  raw.destroy();
});

it('a joined member who breaks the frame rules has left at once and gets nothing more', async () => {
  const watcher = await RecordingClient.join(url, joinToken('watcher', 'frames'));
  const raw = await RawWebSocket.open(url);
  raw.write(text({ type: 'join', token: joinToken('breaker', 'frames') }));
  await raw.waitMessage('joined');
  await waitFor('the watcher sees the breaker', () => watcher.events.includes('joined:breaker'));
  const sessions = app.gateway.sessions.size;
  raw.write(encodeFrame(Opcode.Text, Buffer.from([0xc3, 0x28])));
  expect((await raw.waitClose()).code).toBe(1007);
  await waitFor('the watcher sees the breaker leave', () => watcher.leaveReasons.includes('breaker:left'));
  // Gone from the node as soon as the violation is seen, not when its TCP connection ends.
  expect(app.gateway.sessions.size).toBe(sessions - 1);
  watcher.close();
  raw.destroy();
});
