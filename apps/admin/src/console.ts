import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors';

/** The admin console's files, built by apps/web/build.mjs into apps/web/dist-admin (from this file in src/ or in dist/). */
export const CONSOLE_ROOT = resolve(__dirname, '../../web/dist-admin');

/**
 * The console is a page that holds an admin credential: it runs only its own script (no inline
 * code, nothing from elsewhere), talks only to this origin, cannot be framed, sends no referrer,
 * and nothing of it is cached (the key itself lives in the tab's sessionStorage only).
 */
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

/** The only files served: a fixed list, so no request path ever reaches the file system. */
const FILES: Record<string, { file: string; type: string }> = {
  '/admin/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/admin/console.js.map': { file: 'console.js.map', type: 'application/json; charset=utf-8' },
  '/admin/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/**
 * The admin console (docs/admin-console.md) at /admin/: static files read from `root` on each
 * request, public like /docs (the console asks for a key and sends it to /v1 only). A file that
 * is not built answers 404 ROUTE_NOT_FOUND saying how to build it.
 */
export function consoleRoutes(app: FastifyInstance, root = CONSOLE_ROOT): void {
  app.get('/admin', { schema: { hide: true } }, (_request, reply) => reply.headers(HEADERS).redirect('admin/', 308));
  for (const [path, { file, type }] of Object.entries(FILES)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let content: Buffer;
      try {
        content = await readFile(join(root, file));
      } catch {
        throw new ApiError(404, 'ROUTE_NOT_FOUND', `the admin console is not built: run \`npm run build:web\` (${file} is missing)`);
      }
      return reply.headers(HEADERS).type(type).send(content);
    });
  }
}
