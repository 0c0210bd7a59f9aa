/**
 * deploy/k8s/observability (issue #13, point 6): the alert rules pass `promtool check rules` and
 * their unit tests (`promtool test rules`), a broken or weakened rule is caught, the PrometheusRule
 * carries exactly the rules file's groups, the dashboard's queries parse, and every voiceroom_*
 * metric the rules and the dashboard name is one a gateway or the admin API serves.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdminServer } from '@voiceroom/admin';
import { loadAdminConfig } from '@voiceroom/config';
import { REPO_ROOT, TEST_JWT_SECRET } from '@voiceroom/testkit';
import { startGateway } from './helpers';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const DIR = join(REPO_ROOT, 'deploy', 'k8s', 'observability');
const RULES = join(DIR, 'rules', 'voiceroom-alerts.rules.yaml');

function promtool(args: string[], cwd = DIR): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8' });
  if (run.error) throw new Error(`${PROMTOOL} could not be run (${run.error.message}): apt-get install prometheus, or set PROMTOOL`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'voiceroom-rules-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const check = promtool(['check', 'rules', RULES]);
    expect(check.output).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  it('pass their unit tests (promtool test rules tests/*.yaml)', () => {
    const tests = readdirSync(join(DIR, 'tests')).filter((f) => f.endsWith('.yaml'));
    expect(tests.length).toBeGreaterThan(0);
    const run = promtool(['test', 'rules', ...tests.map((f) => join('tests', f))]);
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('a broken rule is caught by promtool check rules', () => {
    const broken = readFileSync(RULES, 'utf8').replace(
      'expr: sum by (namespace, pod) (rate(voiceroom_bus_event_publish_failures_total[5m])) > 0',
      'expr: sum by (namespace, pod) (rate(voiceroom_bus_event_publish_failures_total[5m]) > 0',
    );
    expect(broken).not.toBe(readFileSync(RULES, 'utf8'));
    const file = join(tmp, 'broken.rules.yaml');
    writeFileSync(file, broken);
    const check = promtool(['check', 'rules', file]);
    expect(check.status).not.toBe(0);
    expect(check.output).toMatch(/parse error|unclosed left parenthesis/);

    const badFor = join(tmp, 'bad-for.rules.yaml');
    writeFileSync(badFor, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: soon\n');
    expect(promtool(['check', 'rules', badFor]).status).not.toBe(0);
  });

  it('a weakened rule fails its unit tests', () => {
    mkdirSync(join(tmp, 'rules'), { recursive: true });
    mkdirSync(join(tmp, 'tests'), { recursive: true });
    // The cluster-not-live alert now waits an hour: its test expects it after a few minutes.
    const weakened = readFileSync(RULES, 'utf8').replace(/(alert: VoiceroomClusterNotLive\n\s+expr: .*\n\s+for: )1m/, '$11h');
    expect(weakened).toContain('for: 1h');
    writeFileSync(join(tmp, 'rules', 'voiceroom-alerts.rules.yaml'), weakened);
    const test = 'voiceroom-alerts.test.yaml';
    writeFileSync(join(tmp, 'tests', test), readFileSync(join(DIR, 'tests', test), 'utf8'));
    const run = promtool(['test', 'rules', join('tests', test)], tmp);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('VoiceroomClusterNotLive');
  });

  it('the PrometheusRule carries exactly the groups of the rules file', () => {
    const check = spawnSync(process.execPath, [join(DIR, 'generate-prometheusrule.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    // And what is under its spec is a rules file promtool accepts, with the same groups.
    const text = readFileSync(join(DIR, 'prometheusrule.yaml'), 'utf8');
    expect(text).toMatch(/^kind: PrometheusRule$/m);
    const spec = text.slice(text.indexOf('\nspec:\n') + '\nspec:\n'.length);
    const groups = spec
      .split('\n')
      .map((line) => line.replace(/^ {2}/, ''))
      .join('\n');
    const file = join(tmp, 'from-prometheusrule.yaml');
    writeFileSync(file, groups);
    const fromCr = promtool(['check', 'rules', file]);
    const fromRules = promtool(['check', 'rules', RULES]);
    expect(fromCr.status).toBe(0);
    expect(fromCr.output.match(/\d+ rules found/)?.[0]).toBe(fromRules.output.match(/\d+ rules found/)?.[0]);
    const body = readFileSync(RULES, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')
      .trim();
    expect(groups.trim()).toBe(body);
  });
});

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(DIR, 'dashboards', 'voiceroom.json'), 'utf8')) as { uid: string; panels: Panel[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('shows what an operator watches', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const wanted of [
      'Sessions',
      'Rooms with local members',
      'Frames in and delivered',
      'Drops by reason',
      'Cross-node frame age at relay',
      'Event log lag (positions behind the furthest live node)',
      'RocketMQ publish failures',
      'Admin errors',
    ]) {
      expect(titles).toContain(wanted);
    }
  });

  it('has queries that parse (promtool, as recording rules)', () => {
    const rules = exprs.map(
      (expr, i) =>
        `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', 'voiceroom'))}`,
    );
    const file = join(tmp, 'dashboard-queries.rules.yaml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    const check = promtool(['check', 'rules', file]);
    expect(check.output).toContain(`${exprs.length} rules found`);
    expect(check.status).toBe(0);
  });

  it('is a ConfigMap with the grafana_dashboard label, next to the ServiceMonitors and the PrometheusRule', () => {
    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (kubectl.error) {
      console.warn('kubectl not found: the kustomization is not rendered');
      return;
    }
    const rendered = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    expect(rendered.match(/^kind: ServiceMonitor$/gm)).toHaveLength(2);
    expect(rendered.match(/^kind: PrometheusRule$/gm)).toHaveLength(1);
    expect(rendered).toMatch(/grafana_dashboard: "1"/);
    expect(rendered).toContain('name: voiceroom-grafana-dashboard');
    expect(rendered.match(/- name: metrics\n\s+port: 9464/g)).toHaveLength(2);
  });
});

describe('names', () => {
  it('the rules and the dashboard name only metrics that a gateway or the admin API serves', async () => {
    const served = new Set<string>();
    const addFrom = (text: string) => {
      for (const m of text.matchAll(/^# TYPE (\S+) /gm)) served.add(m[1] as string);
    };
    const dir = mkdtempSync(join(tmpdir(), 'voiceroom-names-'));
    const admin = loadAdminConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: `sqlite:${join(dir, 'embedded.db')}` });
    const gateway = await startGateway({ ADMIN_API: 'embedded' }, { admin });
    const standalone = await runAdminServer(
      loadAdminConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'silent',
        JWT_SECRET: TEST_JWT_SECRET,
        DATABASE_URL: `sqlite:${join(dir, 'admin.db')}`,
      }),
    );
    try {
      addFrom(await (await fetch(`${gateway.http}/metrics`)).text());
      addFrom(await (await fetch(`http://127.0.0.1:${standalone.port}/metrics`)).text());
    } finally {
      await gateway.app.close();
      await standalone.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const named = new Set<string>();
    const sources = [readFileSync(RULES, 'utf8'), readFileSync(join(DIR, 'dashboards', 'voiceroom.json'), 'utf8')];
    for (const text of sources) for (const m of text.matchAll(/\bvoiceroom_[a-z0-9_]+/g)) named.add(m[0]);
    const unknown = [...named].filter((name) => !served.has(name) && !served.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(unknown).toEqual([]);
    expect(named.size).toBeGreaterThan(30);
  });
});
