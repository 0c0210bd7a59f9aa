/**
 * Once the gateway has closed a socket, whatever else arrived on it (in the same TCP segment,
 * after the close frame was sent) is dropped before any handling.
 */
import type { FastifyInstance } from 'fastify';
import { CloseCode } from '@voiceroom/protocol';
import { joinToken, RecordingClient, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { RawWebSocket, text } from './raw-ws';

let app: FastifyInstance;
let url: string;
let command: jest.SpyInstance;

beforeAll(async () => {
  ({ app, url } = await startGateway({ DRAIN_SPREAD_MS: '0' }));
  await waitFor('ready', () => app.gateway.isReady());
});
beforeEach(() => {
  command = jest.spyOn(app.gateway, 'command');
});
afterEach(() => {
  command.mockRestore();
});
afterAll(async () => {
  await app.close();
});

const chat = text({ type: 'chat', text: 'should never be seen' });

it('drops a chat written together with an invalid message before join (no TypeError, no command)', async () => {
  const raw = await RawWebSocket.open(url);
  raw.write(text('not json'), chat);
  expect((await raw.waitClose()).code).toBe(CloseCode.ProtocolError);
  await new Promise((r) => setTimeout(r, 100));
  expect(command).not.toHaveBeenCalled();
  raw.destroy();
});

it.each([
  ['a forged token (4401)', (): string => 'not-a-token', CloseCode.TokenInvalid],
  ['an expired token (4402)', (): string => joinToken('late', 'closed-1', 'speaker', { ttlSeconds: -60 }), CloseCode.TokenExpired],
])('drops a chat written together with a join refused for %s', async (_name, token, code) => {
  const raw = await RawWebSocket.open(url);
  raw.write(text({ type: 'join', token: token() }), chat);
  expect((await raw.waitClose()).code).toBe(code);
  await new Promise((r) => setTimeout(r, 100));
  expect(command).not.toHaveBeenCalled();
  raw.destroy();
});

it('does not publish a chat written together with an invalid message after join', async () => {
  const watcher = await RecordingClient.join(url, joinToken('watcher', 'closed-2'));
  const raw = await RawWebSocket.open(url);
  raw.write(text({ type: 'join', token: joinToken('mallory', 'closed-2') }));
  await raw.waitMessage('joined');
  await waitFor('the watcher sees mallory', () => watcher.events.includes('joined:mallory'));
  const published = app.gateway.stats.commandsPublished;
  raw.write(text({ type: 'launch' }), chat, text({ type: 'raise_hand', raised: true }));
  expect((await raw.waitClose()).code).toBe(CloseCode.ProtocolError);
  // Had the chat been published, it would have come before the leave (one log, one order).
  await waitFor('the watcher sees mallory leave', () => watcher.events.includes('left:mallory'));
  expect(watcher.chats).toEqual([]);
  expect(command).not.toHaveBeenCalled();
  expect(app.gateway.stats.commandsPublished).toBe(published);
  watcher.close();
  raw.destroy();
});
