// Builds the voice-room page into dist/ with esbuild: the app bundle, the two AudioWorklet
// modules, index.html and styles.css. `node apps/web/build.mjs` (npm run build:web).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });
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
]);
for (const file of ['index.html', 'styles.css']) copyFileSync(join(here, 'src', file), join(out, file));
console.log(`web page built into ${out}`);
