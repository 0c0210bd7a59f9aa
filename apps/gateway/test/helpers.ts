import type { FastifyInstance } from 'fastify';
import { loadConfig, type AdminConfig } from '@voiceroom/config';
import { embeddedAdmin } from '@voiceroom/single-node';
import { TEST_JWT_SECRET } from '@voiceroom/testkit';
import { buildApp, type BuildOptions } from '../src/app';

/**
 * An in-process gateway on a free port of 127.0.0.1 (memory bus unless one is given). With
 * `admin`, the single-node composition: the admin API plugged in (apps/single-node), with its
 * development route when DEV_TOKENS is on.
 */
export async function startGateway(
  env: Record<string, string> = {},
  options: BuildOptions & { admin?: AdminConfig } = {},
): Promise<{ app: FastifyInstance; url: string; http: string }> {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, HOST: '127.0.0.1', PORT: '0', NODE_ID: 'gw-test', ...env });
  const { admin, ...build } = options;
  const app = await buildApp(config, { logger: false, ...build, ...(admin ? { plugin: embeddedAdmin(admin, config.devTokens) } : {}) });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const port = new URL(address).port;
  return { app, url: `ws://127.0.0.1:${port}/ws`, http: `http://127.0.0.1:${port}` };
}

/** An admin API caller on an app with the embedded admin API, authenticated with `key`. */
export function adminCaller(app: () => FastifyInstance, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await app().inject({
      method: method as 'GET',
      url: path,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : undefined };
  };
}
