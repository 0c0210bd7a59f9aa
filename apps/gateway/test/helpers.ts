import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@voiceroom/config';
import { TEST_JWT_SECRET } from '@voiceroom/testkit';
import { buildApp, type BuildOptions } from '../src/app';

/** An in-process gateway on a free port of 127.0.0.1 (memory bus unless one is given). */
export async function startGateway(
  env: Record<string, string> = {},
  options: BuildOptions = {},
): Promise<{ app: FastifyInstance; url: string; http: string }> {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, HOST: '127.0.0.1', PORT: '0', NODE_ID: 'gw-test', ...env });
  const app = await buildApp(config, { logger: false, ...options });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const port = new URL(address).port;
  return { app, url: `ws://127.0.0.1:${port}/ws`, http: `http://127.0.0.1:${port}` };
}

/** An admin API caller on an app with the embedded admin API, authenticated with `key`. */
export function adminCaller(app: () => FastifyInstance, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await app().inject({ method: method as 'GET', url: path, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, json: res.body ? res.json() : undefined };
  };
}
