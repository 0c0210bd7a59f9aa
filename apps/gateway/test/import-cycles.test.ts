/**
 * No import cycle in the production sources of the monorepo: every apps/<app>/src and
 * libs/<lib>/src, type-only imports included (a type-only cycle is still two modules that cannot
 * be understood, tested or moved one without the other). Workspace imports (`@voiceroom/<pkg>`,
 * `@voiceroom/<pkg>/<sub>`) count as edges to the file their package's "development" export
 * names, so a cycle across packages fails too. Specifiers are read with regular expressions
 * (static imports and exports, `import type`, side-effect imports, `import()`, `require()`), after
 * comments are removed; no parser, no dependency. Service-free: in `npm run test:unit`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/** The import specifiers of one source file. */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from, import type { X } from, export * from
    /\bimport\s*['"]([^'"]+)['"]/g, // import './side-effect'
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x'), require('x')
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) out.push(match[1] as string);
  return out;
}

/** Every .ts/.tsx/.mts file under `dir` (recursively), .d.ts files excluded. */
function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** `@voiceroom/<pkg>[/sub]` → the file its package's "development" export names. */
function workspaceEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const group of ['apps', 'libs']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const pkgFile = join(ROOT, group, name, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name: string; exports?: Record<string, { development?: string } | string> };
      for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
        if (typeof target === 'object' && target.development) {
          entries.set(sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`, resolve(join(ROOT, group, name), target.development));
        }
      }
    }
  }
  return entries;
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier.replace(/\.(js|mjs)$/, ''));
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}.mts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** The cycles of a directed graph, each as a path that starts and ends at the same node (one per back edge). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

function productionGraph(): Map<string, string[]> {
  const files = ['apps', 'libs'].flatMap((group) => readdirSync(join(ROOT, group)).flatMap((name) => sourceFiles(join(ROOT, group, name, 'src'))));
  const inGraph = new Set(files);
  const workspace = workspaceEntries();
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
      const target = specifier.startsWith('.') ? resolveRelative(file, specifier) : workspace.get(specifier);
      if (target && inGraph.has(target) && target !== file) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

describe('import cycles', () => {
  it('reads static, type-only, re-exported, side-effect and dynamic imports, not those in comments', () => {
    const source = [
      "import { a } from './a';",
      "import type { B } from './b';",
      'import {',
      '  c,',
      '  type D,',
      "} from '../c';",
      "export * from './e';",
      "export { f } from '@voiceroom/f';",
      "import './g';",
      "const h = await import('./h');",
      "const i = require('./i');",
      "// import { x } from './commented';",
      "/* export { y } from './block'; */",
      "const url = 'http://example.com'; import { j } from './j';",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['../c', './a', './b', './e', './g', './h', './i', './j', '@voiceroom/f'].sort());
  });

  it('finds a cycle, and none in a tree', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
    graph.set('c', ['d']);
    expect(findCycles(graph)).toEqual([]);
  });

  it('none in apps/*/src and libs/*/src, type-only imports included', () => {
    const graph = productionGraph();
    expect(graph.size).toBeGreaterThan(50);
    // The gateway's own imports are seen (a guard against a reader that silently finds nothing).
    const node = graph.get(join(ROOT, 'apps/gateway/src/gateway-node.ts')) ?? [];
    expect(node).toContain(join(ROOT, 'apps/gateway/src/session.ts'));
    expect(node).toContain(join(ROOT, 'libs/cluster/src/index.ts'));
    const cycles = findCycles(graph).map((cycle) => cycle.map((file) => relative(ROOT, file)).join(' → '));
    expect(cycles).toEqual([]);
  });
});
