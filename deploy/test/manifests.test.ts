/**
 * The Kubernetes manifests, checked offline on every `npm test`: each kustomization renders
 * (`kubectl kustomize`), every object validates against the Kubernetes schema (kubernetes-models),
 * every pod passes Pod Security "restricted" (checks.ts) and a broken copy does not, no example
 * secret is ever rendered, and the drain, autoscaling, network and ingress settings agree with the
 * configuration defaults of the code (@voiceroom/config).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYamlDocument } from 'yaml';
import { EnvSchema, loadAdminConfig, loadConfig } from '@voiceroom/config';
import { isExampleSecret } from '../../libs/config/src/example-secrets';
import { describe as describeObject, kubectlAvailable, podSecurityViolations, podSpecOf, render, schemaProblem, type K8sObject, type PodSpec } from './checks';

const DEPLOY = resolve(__dirname, '..');
const K8S = join(DEPLOY, 'k8s');
const BASE = join(K8S, 'base');
const OVERLAY = join(K8S, 'overlays', 'example');

if (!kubectlAvailable()) {
  throw new Error(
    'kubectl is needed to render the manifests (kubectl kustomize): install it (Debian: apt-get install kubectl from the Kubernetes apt repository) or set KUBECTL=/path/to/kubectl',
  );
}

/** The example overlay, rendered from a copy whose env files hold `secrets` (the real ones are git-ignored). */
function renderOverlay(secrets: { gateway: string; admin: string }): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'voiceroom-k8s-'));
  try {
    cpSync(K8S, join(dir, 'k8s'), { recursive: true, filter: (src) => !src.endsWith('.env') });
    writeFileSync(join(dir, 'k8s', 'overlays', 'example', 'gateway.env'), secrets.gateway);
    writeFileSync(join(dir, 'k8s', 'overlays', 'example', 'admin.env'), secrets.admin);
    return render(join(dir, 'k8s', 'overlays', 'example'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const random = (n = 36) => randomBytes(n).toString('base64url');
const REAL_SECRETS = {
  gateway: `JWT_SECRET=${random()}\nROCKETMQ_ACCESS_KEY=voiceroom\nROCKETMQ_SECRET_KEY=${random()}\n`,
  admin: `DATABASE_URL=mysql://voiceroom:${random(12)}@mysql.db.svc:3306/voiceroom?ssl=true\nADMIN_JWT_SECRET=${random()}\nADMIN_BOOTSTRAP_KEY=${random()}\n`,
};
const EXAMPLE_SECRETS = {
  gateway: readFileSync(join(OVERLAY, 'gateway.env.example'), 'utf8'),
  admin: readFileSync(join(OVERLAY, 'admin.env.example'), 'utf8'),
};

const base = render(BASE);
const overlay = renderOverlay(REAL_SECRETS);
const renders: [string, K8sObject[]][] = [
  ['base', base],
  ['overlays/example', overlay],
  ['rocketmq/networkpolicy.yaml', parseYamlDocs(readFileSync(join(DEPLOY, 'rocketmq', 'networkpolicy.yaml'), 'utf8'))],
];

function parseYamlDocs(text: string): K8sObject[] {
  return text
    .split(/^---$/m)
    .map((doc) => parseYamlDocument(doc) as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found;
}

/** A container's env as a map, with the ConfigMaps it reads through envFrom merged in first. */
function containerEnv(objects: K8sObject[], pod: PodSpec, container = 0): Record<string, string> {
  const c = pod.containers[container] as PodSpec['containers'][number] & { envFrom?: { configMapRef?: { name: string } }[] };
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    Object.assign(env, (cm?.data as Record<string, string> | undefined) ?? {});
  }
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/** A setting as the pod gets it: its env, else the code's default (libs/config/src/schema.ts). */
function setting(env: Record<string, string>, name: keyof typeof EnvSchema.properties): number {
  const value = env[name] ?? (EnvSchema.properties[name] as { default?: unknown }).default;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${name} is not a number: ${String(value)}`);
  return n;
}

function preStopSeconds(pod: PodSpec): number {
  const preStop = pod.containers[0]?.lifecycle?.preStop;
  if (preStop?.sleep?.seconds !== undefined) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  if (command[0] === 'sleep' && command.length === 2) return Number(command[1]);
  return 0;
}

describe.each(renders)('%s', (_name, objects) => {
  it('renders objects', () => {
    expect(objects.length).toBeGreaterThan(0);
  });

  it('validates every object against the Kubernetes schema (kubernetes-models)', () => {
    expect(objects.map(schemaProblem).filter(Boolean)).toEqual([]);
  });

  it('admits every pod under Pod Security "restricted" (and our own rules)', () => {
    const workloads = objects.filter((o) => podSpecOf(o));
    expect(workloads.length === 0 || workloads.every((o) => podSecurityViolations(o).length === 0)).toBe(true);
    expect(workloads.flatMap(podSecurityViolations)).toEqual([]);
  });

  it('renders no Secret with an example or development value', () => {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    const leaks = secrets.flatMap((s) =>
      Object.entries({ ...((s.data as Record<string, string>) ?? {}) })
        .map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')] as const)
        .concat(Object.entries((s.stringData as Record<string, string>) ?? {}))
        .filter(([, v]) => isExampleSecret(v))
        .map(([k]) => `${describeObject(s)} ${k}`),
    );
    expect(leaks).toEqual([]);
  });
});

describe('the checks catch a broken manifest', () => {
  const gateway = find(base, 'StatefulSet', 'gateway');
  const breakages: [string, (pod: PodSpec & Record<string, any>) => void, RegExp][] = [
    ['hostNetwork', (p) => (p.hostNetwork = true), /hostNetwork/],
    ['hostPID', (p) => (p.hostPID = true), /hostPID/],
    ['a hostPath volume', (p) => p.volumes!.push({ name: 'host', hostPath: { path: '/' } }), /type hostPath/],
    ['privilege escalation', (p) => (p.containers[0]!.securityContext!.allowPrivilegeEscalation = true), /allowPrivilegeEscalation/],
    ['privileged', (p) => (p.containers[0]!.securityContext!.privileged = true), /privileged/],
    ['no drop ALL', (p) => delete p.containers[0]!.securityContext!.capabilities, /drop ALL/],
    ['an added capability', (p) => (p.containers[0]!.securityContext!.capabilities = { drop: ['ALL'], add: ['NET_ADMIN'] }), /NET_ADMIN/],
    ['root', (p) => (p.containers[0]!.securityContext!.runAsUser = 0), /runAsUser 0/],
    [
      'a named image user only',
      (p) => {
        delete p.containers[0]!.securityContext!.runAsUser;
        delete p.securityContext!.runAsUser;
      },
      /numeric/,
    ],
    [
      'runAsNonRoot off',
      (p) => {
        p.containers[0]!.securityContext!.runAsNonRoot = false;
      },
      /runAsNonRoot/,
    ],
    [
      'no seccomp profile',
      (p) => {
        delete p.containers[0]!.securityContext!.seccompProfile;
        delete p.securityContext!.seccompProfile;
      },
      /seccompProfile/,
    ],
    ['seccomp Unconfined', (p) => (p.containers[0]!.securityContext!.seccompProfile = { type: 'Unconfined' }), /seccompProfile/],
    ['a writable root filesystem', (p) => (p.containers[0]!.securityContext!.readOnlyRootFilesystem = false), /readOnlyRootFilesystem/],
    ['no limits', (p) => delete p.containers[0]!.resources!.limits, /limits/],
    ['a hostPort', (p) => (p.containers[0]!.ports = [{ containerPort: 8080, hostPort: 8080 } as never]), /hostPort/],
  ];

  it.each(breakages)('rejects %s', (_what, breakIt, expected) => {
    const broken = structuredClone<K8sObject>(gateway);
    expect(podSecurityViolations(broken)).toEqual([]);
    breakIt(podSpecOf(broken) as PodSpec & Record<string, any>);
    const violations = podSecurityViolations(broken);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.join('\n')).toMatch(expected);
  });

  it('rejects a schema error (a named user where a uid belongs, a missing container name)', () => {
    const broken = structuredClone<K8sObject>(gateway);
    (podSpecOf(broken)!.containers[0]!.securityContext as Record<string, unknown>).runAsUser = 'node';
    expect(schemaProblem(broken)).toMatch(/runAsUser must be integer/);
    const unnamed = structuredClone<K8sObject>(gateway);
    delete (podSpecOf(unnamed)!.containers[0] as Partial<{ name: string }>).name;
    expect(schemaProblem(unnamed)).toMatch(/must have required property '?name'?/);
  });

  it('flags the example secrets when someone renders them, and the config refuses them in production', () => {
    const rendered = renderOverlay(EXAMPLE_SECRETS).filter((o) => o.kind === 'Secret');
    const values = rendered.flatMap((s) =>
      Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')] as const),
    );
    const env = Object.fromEntries(values);
    expect(
      values
        .filter(([, v]) => isExampleSecret(v))
        .map(([k]) => k)
        .sort(),
    ).toEqual(['ADMIN_BOOTSTRAP_KEY', 'ADMIN_JWT_SECRET', 'DATABASE_URL', 'JWT_SECRET']);
    expect(() => loadConfig({ ...env, NODE_ENV: 'production', NODE_ID: 'gateway-0' })).toThrow(/JWT_SECRET: holds an example/);
    expect(() => loadAdminConfig({ ...env, NODE_ENV: 'production', NODE_ID: 'admin-0', BUS: 'rocketmq' })).toThrow(/DATABASE_URL: holds an example/);
  });
});

describe('secrets are never deployed from examples', () => {
  it('the base holds no Secret and no *.example file', () => {
    expect(base.filter((o) => o.kind === 'Secret')).toEqual([]);
    const kustomization = parseYamlDocument(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.filter((r) => r.includes('example'))).toEqual([]);
  });

  it('the overlay generates its Secrets from git-ignored env files', () => {
    const kustomization = parseYamlDocument(readFileSync(join(OVERLAY, 'kustomization.yaml'), 'utf8')) as {
      secretGenerator: { name: string; envs: string[] }[];
    };
    const envs = kustomization.secretGenerator.flatMap((g) => g.envs);
    expect(envs.sort()).toEqual(['admin.env', 'gateway.env']);
    expect(readFileSync(join(DEPLOY, '..', '.gitignore'), 'utf8')).toMatch(/^deploy\/k8s\/\*\*\/\*\.env$/m);
    // The generated names (with their hash) are what the pods reference.
    const secrets = overlay.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
    expect(secrets).toHaveLength(2);
    for (const name of ['gateway', 'admin']) {
      const refs = JSON.stringify(find(overlay, 'StatefulSet', name)).match(/"secretKeyRef":\{[^}]*\}/g) ?? [];
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(secrets.some((s) => ref.includes(`"name":"${s}"`))).toBe(true);
    }
  });
});

describe('the pods', () => {
  it('run in a namespace that enforces Pod Security "restricted"', () => {
    expect(find(base, 'Namespace', 'voiceroom').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it('have the image of the overlay, tagged', () => {
    const images = overlay.flatMap((o) => podSpecOf(o)?.containers.map((c) => c.image) ?? []);
    expect(images).toContain('registry.example.com/voiceroom:0.1.0');
    for (const image of images) expect(image).toMatch(/:[\w.-]+$/);
    for (const image of images) expect(image).not.toMatch(/:latest$/);
  });

  it('the topics Job cleans up after itself', () => {
    const job = find(base, 'Job', 'voiceroom-rocketmq-topics').spec as { ttlSecondsAfterFinished?: number; backoffLimit?: number };
    expect(job.ttlSecondsAfterFinished).toBeGreaterThan(0);
  });

  it.each(['gateway', 'admin'])('%s: spread over hosts and zones, with a PodDisruptionBudget', (name) => {
    const set = find(base, 'StatefulSet', name);
    const pod = podSpecOf(set)!;
    const labels = (set.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const keys = (pod.topologySpreadConstraints ?? []).map((t) => t.topologyKey).sort();
    expect(keys).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of pod.topologySpreadConstraints ?? []) expect(t.labelSelector?.matchLabels).toEqual(labels);
    const pdbs = base.filter(
      (o) => o.kind === 'PodDisruptionBudget' && JSON.stringify((o.spec as { selector: unknown }).selector) === JSON.stringify({ matchLabels: labels }),
    );
    expect(pdbs).toHaveLength(1);
  });
});

describe('the drain fits the grace period (settings from the manifests, else the code defaults)', () => {
  const gateway = podSpecOf(find(base, 'StatefulSet', 'gateway'))!;
  const env = containerEnv(base, gateway);
  const deadlineS = setting(env, 'SHUTDOWN_DEADLINE_MS') / 1000;
  const spreadS = setting(env, 'DRAIN_SPREAD_MS') / 1000;
  const resumeGraceS = setting(env, 'RESUME_GRACE_MS') / 1000;
  const preStop = preStopSeconds(gateway);
  const grace = gateway.terminationGracePeriodSeconds ?? 30;

  it('preStop lets the endpoints drop the pod before the drain', () => {
    expect(preStop).toBeGreaterThanOrEqual(3);
  });

  it('terminationGracePeriodSeconds > preStop + SHUTDOWN_DEADLINE_MS, with a margin', () => {
    expect(grace).toBeGreaterThanOrEqual(preStop + deadlineS + 2);
  });

  it('DRAIN_SPREAD_MS fits in the deadline (the code caps it at half)', () => {
    expect(spreadS).toBeGreaterThan(0);
    expect(spreadS).toBeLessThanOrEqual(deadlineS / 2);
  });

  it('the HPA scales down one drained pod at a time, slower than a drain and its resumes', () => {
    const hpa = find(base, 'HorizontalPodAutoscaler', 'voiceroom-gateway').spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      metrics: { type: string; resource?: { name: string } }[];
      behavior: {
        scaleDown: { stabilizationWindowSeconds: number; policies: { type: string; value: number; periodSeconds: number }[]; selectPolicy?: string };
      };
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'StatefulSet', name: 'gateway' });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')).toBe(true);
    const down = hpa.behavior.scaleDown;
    expect(down.stabilizationWindowSeconds).toBeGreaterThanOrEqual(Math.max(300, grace + resumeGraceS));
    expect(down.policies.length).toBeGreaterThan(0);
    for (const p of down.policies) {
      expect(p).toMatchObject({ type: 'Pods', value: 1 });
      expect(p.periodSeconds).toBeGreaterThanOrEqual(grace + resumeGraceS);
    }
  });

  it('the admin API gets a grace period longer than its preStop', () => {
    const admin = podSpecOf(find(base, 'StatefulSet', 'admin'))!;
    expect(admin.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(preStopSeconds(admin) + 5);
  });

  it('the nodes of the log share one ConfigMap, and its values pass the config schema', () => {
    const admin = podSpecOf(find(base, 'StatefulSet', 'admin'))!;
    const adminEnv = containerEnv(base, admin);
    for (const key of ['ROCKETMQ_ENDPOINTS', 'ROCKETMQ_EVENT_TOPIC', 'NODE_BEAT_INTERVAL_MS', 'NODE_TIMEOUT_MS']) expect(adminEnv[key]).toBe(env[key]);
    const secrets = { JWT_SECRET: random(), NODE_ID: 'gateway-0' };
    expect(() => loadConfig({ ...env, ...secrets })).not.toThrow();
    expect(() => loadAdminConfig({ ...adminEnv, ...secrets, NODE_ID: 'admin-0', DATABASE_URL: 'mysql://u:p@db/v' })).not.toThrow();
  });
});

describe('the trust boundary', () => {
  const policies = base.filter((o) => o.kind === 'NetworkPolicy');
  const policy = (name: string) => find(base, 'NetworkPolicy', name).spec as { podSelector: object; policyTypes: string[]; ingress?: any[]; egress?: any[] };
  const ports = (rules: any[] | undefined) => (rules ?? []).flatMap((r) => (r.ports ?? []).map((p: { port: number | string }) => p.port));
  const fromNamespaces = (rules: any[] | undefined) =>
    (rules ?? []).flatMap((r) => (r.from ?? []).map((f: any) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']).filter(Boolean));

  it('denies everything by default and allows DNS', () => {
    expect(policy('default-deny')).toMatchObject({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(ports(policy('allow-dns').egress)).toEqual(expect.arrayContaining([53]));
    expect(policies.length).toBeGreaterThanOrEqual(5);
  });

  it('gateways: in from the ingress controller and Prometheus; out to the RocketMQ proxy, NameServers and brokers only', () => {
    const gw = policy('gateway');
    expect(fromNamespaces(gw.ingress).sort()).toEqual(['ingress-nginx', 'monitoring']);
    expect(ports(gw.egress).sort()).toEqual([10911, 8080, 8081, 9876].sort());
  });

  it('admin API: out to the RocketMQ proxy, NameServers and brokers (the event log) and MySQL only', () => {
    expect(ports(policy('admin').egress).sort()).toEqual([10911, 3306, 8081, 9876].sort());
  });

  it('the RocketMQ addresses agree: ConfigMap, the chart values (release rmq, namespace rocketmq) and the walkthrough', () => {
    const cm = base.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('voiceroom-cluster'))!.data as Record<string, string>;
    expect(cm).toMatchObject({
      ROCKETMQ_ENDPOINTS: 'rmq-proxy.rocketmq.svc:8081',
      ROCKETMQ_NAMESRV_ADDR: 'rmq-nameserver.rocketmq.svc:9876',
      ROCKETMQ_EVENT_BROKER: 'rmq-broker-0.rmq-broker.rocketmq.svc:10911',
      ROCKETMQ_CLUSTER: 'DefaultCluster',
    });
    const values = readFileSync(join(DEPLOY, 'rocketmq', 'values.yaml'), 'utf8');
    const walkthrough = readFileSync(join(DEPLOY, '..', 'docs', 'deployment.md'), 'utf8');
    for (const address of [cm.ROCKETMQ_ENDPOINTS, cm.ROCKETMQ_NAMESRV_ADDR, cm.ROCKETMQ_EVENT_BROKER]) {
      expect(values).toContain(address);
      expect(walkthrough).toContain(address);
    }
    expect((parseYamlDocument(values) as { broker: { conf: { clusterNameOverride: string } } }).broker.conf.clusterNameOverride).toBe(cm.ROCKETMQ_CLUSTER);
  });

  it('the ingress terminates TLS and keeps WebSockets open well past the ping interval', () => {
    const ingress = find(overlay, 'Ingress', 'voiceroom-gateway');
    const heartbeatS = setting(containerEnv(base, podSpecOf(find(base, 'StatefulSet', 'gateway'))!), 'HEARTBEAT_INTERVAL_MS') / 1000;
    const annotations = ingress.metadata.annotations ?? {};
    for (const key of ['nginx.ingress.kubernetes.io/proxy-read-timeout', 'nginx.ingress.kubernetes.io/proxy-send-timeout']) {
      expect(Number(annotations[key])).toBeGreaterThanOrEqual(3 * heartbeatS);
    }
    expect((ingress.spec as { tls?: unknown[] }).tls?.length).toBeGreaterThan(0);
  });
});
