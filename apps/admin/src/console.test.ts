import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { consoleRoutes } from './console';
import { installErrorHandling } from './errors';

/** The console's files as the admin API serves them (the page itself is tested in apps/web/test/admin-console.test.ts). */
async function appOn(root: string) {
  const app = Fastify();
  installErrorHandling(app, { databaseUnavailable: 0 });
  consoleRoutes(app, root);
  await app.ready();
  return app;
}

describe('admin console files', () => {
  const built = mkdtempSync(join(tmpdir(), 'console-built-'));
  writeFileSync(join(built, 'index.html'), '<!doctype html><script src="console.js"></script>');
  writeFileSync(join(built, 'console.js'), 'void 0;');
  writeFileSync(join(built, 'console.css'), 'body{}');
  writeFileSync(join(built, 'secret.txt'), 'not served');

  it('serves the fixed files with a strict CSP, nosniff and no caching', async () => {
    const app = await appOn(built);
    const page = await app.inject({ method: 'GET', url: '/admin/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['cache-control']).toBe('no-store');
    const script = await app.inject({ method: 'GET', url: '/admin/console.js' });
    expect([script.statusCode, script.headers['content-type'], script.body]).toEqual([200, 'text/javascript; charset=utf-8', 'void 0;']);
    const redirect = await app.inject({ method: 'GET', url: '/admin' });
    expect([redirect.statusCode, redirect.headers.location]).toEqual([308, 'admin/']);
    for (const url of ['/admin/secret.txt', '/admin/../package.json', '/admin/index.html']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
    await app.close();
  });

  it('says how to build it when it is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    mkdirSync(empty, { recursive: true });
    const app = await appOn(empty);
    const page = await app.inject({ method: 'GET', url: '/admin/' });
    expect(page.statusCode).toBe(404);
    expect(page.json<{ error: { code: string; message: string } }>().error).toEqual({
      code: 'ROUTE_NOT_FOUND',
      message: 'the admin console is not built: run `npm run build:web` (index.html is missing)',
    });
    await app.close();
  });
});
