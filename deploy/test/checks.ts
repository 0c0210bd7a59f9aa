/**
 * Offline checks of the Kubernetes manifests (deploy/test/manifests.test.ts): rendering with
 * `kubectl kustomize`, schema validation with kubernetes-models, and the Pod Security Standard
 * "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/) as code,
 * plus what this project adds to it (numeric user, read-only root, resources on every container).
 */
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

/** Where kubectl is: KUBECTL, else the PATH. */
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export function kubectlAvailable(): boolean {
  try {
    execFileSync(KUBECTL, ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <dir>`, parsed. Throws with kustomize's message when it fails. */
export function render(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr}`);
  }
  return parseYaml(out);
}

export function parseYaml(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/**
 * Validates one object against the Kubernetes OpenAPI schema of its apiVersion and kind (the
 * kubernetes-models package: types, required fields, enums, formats). Returns the problem, or
 * undefined. Kinds it does not know (CRDs) are reported as unknown.
 */
export function schemaProblem(obj: K8sObject): string | undefined {
  let models: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    // kubernetes-models/<group>/<version>, core: kubernetes-models/v1
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    models = require(`kubernetes-models/${obj.apiVersion}`);
  } catch {
    return `${describe(obj)}: unknown apiVersion ${obj.apiVersion}`;
  }
  const Model = models[obj.kind];
  if (!Model) return `${describe(obj)}: unknown kind ${obj.kind} in ${obj.apiVersion}`;
  try {
    new Model(normalise(obj)).validate();
    return undefined;
  } catch (error) {
    return `${describe(obj)}: ${(error as Error).message}`;
  }
}

/**
 * As the API server reads it: kustomize writes long Secret data as a block of base64 lines, and
 * Go's base64 decoder skips the line breaks.
 */
function normalise(obj: K8sObject): K8sObject {
  if (obj.kind !== 'Secret' || typeof obj.data !== 'object' || obj.data === null) return obj;
  const data = Object.fromEntries(
    Object.entries(obj.data as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]),
  );
  return { ...obj, data };
}

export function describe(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata?.name ?? '?'}`;
}

type Container = {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  ports?: { hostPort?: number }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
  env?: { name: string; value?: string }[];
};
type SecurityContext = {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  procMount?: string;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name: string }[];
};
export type PodSpec = {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext & { fsGroup?: number };
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Record<string, unknown>[];
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
};

/** The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). */
export function podSpecOf(obj: K8sObject): PodSpec | undefined {
  const spec = obj.spec as Record<string, any> | undefined;
  switch (obj.kind) {
    case 'Pod':
      return spec as PodSpec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return spec?.template?.spec as PodSpec;
    case 'CronJob':
      return spec?.jobTemplate?.spec?.template?.spec as PodSpec;
    default:
      return undefined;
  }
}

/** Volume types "restricted" allows. */
const ALLOWED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
/** Sysctls "baseline" allows. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/**
 * Every way `obj` breaks Pod Security "restricted" (baseline included), plus this project's own
 * rules: a numeric non-root runAsUser (the kubelet cannot check a named image user), a read-only
 * root filesystem, and CPU and memory requests and limits on every container. Empty: admitted.
 */
export function podSecurityViolations(obj: K8sObject): string[] {
  const pod = podSpecOf(obj);
  if (!pod) return [];
  const where = describe(obj);
  const v: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork) v.push(`${where}: hostNetwork`);
  if (pod.hostPID) v.push(`${where}: hostPID`);
  if (pod.hostIPC) v.push(`${where}: hostIPC`);
  for (const volume of pod.volumes ?? []) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    for (const type of types)
      if (!ALLOWED_VOLUME_TYPES.has(type)) v.push(`${where}: volume ${String(volume.name)} of type ${type} (hostPath and other types are not allowed)`);
  }
  for (const sysctl of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(sysctl.name)) v.push(`${where}: sysctl ${sysctl.name}`);
  if (psc.seccompProfile?.type !== undefined && !['RuntimeDefault', 'Localhost'].includes(psc.seccompProfile.type))
    v.push(`${where}: pod seccompProfile ${psc.seccompProfile.type}`);
  if (psc.runAsNonRoot === false) v.push(`${where}: pod runAsNonRoot false`);
  if (psc.runAsUser === 0) v.push(`${where}: pod runAsUser 0`);
  if (psc.windowsOptions?.hostProcess) v.push(`${where}: hostProcess`);
  checkSeLinuxAppArmor(psc, `${where} pod`, v);

  const containers = [...pod.containers, ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  for (const c of containers) {
    const at = `${where} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.privileged) v.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation must be false`);
    const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (runAsNonRoot !== true) v.push(`${at}: runAsNonRoot must be true`);
    const runAsUser = sc.runAsUser ?? psc.runAsUser;
    if (runAsUser === 0) v.push(`${at}: runAsUser 0`);
    else if (!Number.isInteger(runAsUser) || (runAsUser as number) < 1)
      v.push(`${at}: runAsUser must be a numeric non-root uid (the kubelet cannot verify a named image user)`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${at}: seccompProfile must be RuntimeDefault or Localhost (got ${seccomp ?? 'none'})`);
    const drop = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) v.push(`${at}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${at}: capability ${cap} added`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`${at}: procMount ${sc.procMount}`);
    if (sc.windowsOptions?.hostProcess) v.push(`${at}: hostProcess`);
    checkSeLinuxAppArmor(sc, at, v);
    for (const port of c.ports ?? []) if (port.hostPort) v.push(`${at}: hostPort ${port.hostPort}`);
    // This project's rules on top of "restricted".
    if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: readOnlyRootFilesystem must be true`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) if (!c.resources?.[kind]?.[resource]) v.push(`${at}: resources.${kind}.${resource} missing`);
    }
  }
  return v;
}

function checkSeLinuxAppArmor(sc: SecurityContext, at: string, v: string[]): void {
  const se = sc.seLinuxOptions;
  if (se?.type !== undefined && !['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t', ''].includes(se.type))
    v.push(`${at}: seLinuxOptions.type ${se.type}`);
  if (se?.user || se?.role) v.push(`${at}: seLinuxOptions user/role set`);
  if (sc.appArmorProfile?.type === 'Unconfined') v.push(`${at}: appArmorProfile Unconfined`);
}
