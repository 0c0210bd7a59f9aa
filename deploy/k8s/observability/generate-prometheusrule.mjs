#!/usr/bin/env node
// Writes prometheusrule.yaml from rules/voiceroom-alerts.rules.yaml: the same groups, under the
// PrometheusRule's spec (Prometheus Operator). The rules file stays the source that promtool
// checks and unit-tests; apps/gateway/test/observability.test.ts fails when the two differ.
//   node deploy/k8s/observability/generate-prometheusrule.mjs          (write)
//   node deploy/k8s/observability/generate-prometheusrule.mjs --check  (exit 1 when out of date)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const RULES = join(here, 'rules', 'voiceroom-alerts.rules.yaml');
const TARGET = join(here, 'prometheusrule.yaml');

export function renderPrometheusRule(rulesText) {
  const body = rulesText
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .trim();
  if (!body.startsWith('groups:')) throw new Error('the rules file must start with "groups:" (after its comments)');
  const indented = body
    .split('\n')
    .map((line) => (line === '' ? '' : `  ${line}`))
    .join('\n');
  return [
    '# GENERATED from rules/voiceroom-alerts.rules.yaml by generate-prometheusrule.mjs: edit the rules file, then run',
    '# `node deploy/k8s/observability/generate-prometheusrule.mjs`.',
    'apiVersion: monitoring.coreos.com/v1',
    'kind: PrometheusRule',
    'metadata:',
    '  name: voiceroom',
    '  labels:',
    '    app.kubernetes.io/name: voiceroom',
    '    # The Prometheus Operator picks rules by label (its ruleSelector): kube-prometheus-stack selects release=<its release>.',
    '    release: kube-prometheus-stack',
    'spec:',
    indented,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = renderPrometheusRule(readFileSync(RULES, 'utf8'));
  if (process.argv.includes('--check')) {
    if (readFileSync(TARGET, 'utf8') !== wanted) {
      process.stderr.write('prometheusrule.yaml is out of date: run node deploy/k8s/observability/generate-prometheusrule.mjs\n');
      process.exit(1);
    }
  } else {
    writeFileSync(TARGET, wanted);
  }
}
