// Builds the voice-room page into dist/ with esbuild: the app bundle, the two AudioWorklet
// modules, index.html and styles.css; and the admin console (src/admin) into dist-admin/, which
// the admin API serves at /admin/ (a directory of its own, so a gateway serving dist/ at / never
// serves the console). `node apps/web/build.mjs` (npm run build:web).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const adminOut = join(here, 'dist-admin');
mkdirSync(out, { recursive: true });
mkdirSync(adminOut, { recursive: true });
const common = {
  bundle: true,
  target: ['chrome110', 'firefox115', 'safari17'],
  sourcemap: true,
  minify: process.env.NODE_ENV === 'production',
  // Workspace packages resolve to their TypeScript sources.
  conditions: ['development'],
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints: [join(here, 'src/main.ts')], outfile: join(out, 'app.js'), format: 'iife' }),
  build({ ...common, entryPoints: [join(here, 'src/audio/capture-worklet.ts')], outfile: join(out, 'capture-worklet.js'), format: 'esm' }),
  build({ ...common, entryPoints: [join(here, 'src/audio/playback-worklet.ts')], outfile: join(out, 'playback-worklet.js'), format: 'esm' }),
  build({ ...common, entryPoints: [join(here, 'src/admin/main.ts')], outfile: join(adminOut, 'console.js'), format: 'iife' }),
]);
for (const file of ['index.html', 'styles.css']) copyFileSync(join(here, 'src', file), join(out, file));
for (const file of ['index.html', 'console.css']) copyFileSync(join(here, 'src/admin', file), join(adminOut, file));
console.log(`web page built into ${out}, admin console into ${adminOut}`);
