// What the kubelet makes of the Deployment's pod template, for a container of this engine: the args
// (the image's ENTRYPOINT stays), the env resolved (values, the pod's own fields, Secret keys), each
// volume as files at its mount path, the service account's token, CA and namespace where a pod finds
// them, KUBERNETES_SERVICE_HOST/PORT, the security context, the memory limit and the grace period.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

export interface PodFile {
  /** Path inside the container. */
  path: string;
  content: string;
  mode: number;
}

export interface Mount {
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
  /** Files of a Secret, ConfigMap or projected volume; an emptyDir has none and is a tmpfs. */
  files: PodFile[];
  emptyDir: boolean;
}

export interface ContainerPlan {
  /** `args` of the container: the image's CMD is replaced, its ENTRYPOINT stays. */
  args: string[] | undefined;
  env: Record<string, string>;
  mounts: Mount[];
  /** runAsUser:runAsGroup when the pod or container sets them, else the image's USER. */
  user: string | undefined;
  runAsNonRoot: boolean;
  readOnlyRootFilesystem: boolean;
  capDrop: string[];
  capAdd: string[];
  noNewPrivileges: boolean;
  seccomp: string | undefined;
  memoryLimitBytes: number | undefined;
  terminationGracePeriodSeconds: number;
}

export interface PodContext {
  namespace: string;
  podName: string;
  secret: (name: string, key: string) => Promise<string>;
  configMap: (name: string, key: string) => Promise<string>;
  /** The service account's credentials, as the kubelet projects them (automountServiceAccountToken). */
  serviceAccount: () => Promise<{ token: string; caCrt: string; namespace: string }>;
  /** Where the apiserver answers: what the kubelet puts in KUBERNETES_SERVICE_HOST and _PORT. */
  apiserver: { host: string; port: string };
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A Kubernetes quantity in bytes: 512Mi, 1Gi, 500M, 1e9, 1024. */
export function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m?.[1]) throw new Error(`not a quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

export async function planContainer(pod: V1PodSpec, container: V1Container, ctx: PodContext): Promise<ContainerPlan> {
  const env: Record<string, string> = {};
  // Always there, whatever enableServiceLinks says.
  env.KUBERNETES_SERVICE_HOST = ctx.apiserver.host;
  env.KUBERNETES_SERVICE_PORT = ctx.apiserver.port;
  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (from?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = ctx.namespace;
    else if (from?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = ctx.podName;
    else if (from?.secretKeyRef) env[e.name] = await ctx.secret(from.secretKeyRef.name ?? '', from.secretKeyRef.key);
    else if (from?.configMapKeyRef) env[e.name] = await ctx.configMap(from.configMapKeyRef.name ?? '', from.configMapKeyRef.key);
    else throw new Error(`env ${e.name}: a source this translation does not know`);
  }
  if ((container.envFrom ?? []).length > 0) throw new Error('envFrom: a source this translation does not know');

  const mounts: Mount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x) => x.name === m.name);
    if (!v) throw new Error(`volumeMount ${m.name}: no such volume`);
    if (m.subPath) throw new Error(`volumeMount ${m.name}: subPath is not translated`);
    const files: PodFile[] = [];
    if (v.secret) {
      for (const item of v.secret.items ?? []) {
        files.push({ path: join(m.mountPath, item.path), content: await ctx.secret(v.secret.secretName ?? '', item.key), mode: item.mode ?? v.secret.defaultMode ?? 0o644 });
      }
      if ((v.secret.items ?? []).length === 0) throw new Error(`volume ${m.name}: a Secret without items is not translated`);
    } else if (v.configMap) {
      for (const item of v.configMap.items ?? []) {
        files.push({ path: join(m.mountPath, item.path), content: await ctx.configMap(v.configMap.name ?? '', item.key), mode: item.mode ?? v.configMap.defaultMode ?? 0o644 });
      }
      if ((v.configMap.items ?? []).length === 0) throw new Error(`volume ${m.name}: a ConfigMap without items is not translated`);
    } else if (!v.emptyDir) {
      throw new Error(`volume ${m.name}: only secret, configMap and emptyDir volumes are translated`);
    }
    mounts.push({ target: m.mountPath, readOnly: m.readOnly ?? false, files, emptyDir: v.emptyDir !== undefined });
  }
  if (pod.automountServiceAccountToken !== false && !mounts.some((m) => m.target === SERVICE_ACCOUNT_DIR)) {
    const sa = await ctx.serviceAccount();
    mounts.push({
      target: SERVICE_ACCOUNT_DIR,
      readOnly: true,
      emptyDir: false,
      files: [
        { path: `${SERVICE_ACCOUNT_DIR}/token`, content: sa.token, mode: 0o644 },
        { path: `${SERVICE_ACCOUNT_DIR}/ca.crt`, content: sa.caCrt, mode: 0o644 },
        { path: `${SERVICE_ACCOUNT_DIR}/namespace`, content: sa.namespace, mode: 0o644 },
      ],
    });
  }

  const psc = pod.securityContext ?? {};
  const csc = container.securityContext ?? {};
  const uid = csc.runAsUser ?? psc.runAsUser;
  const gid = csc.runAsGroup ?? psc.runAsGroup;
  const caps = csc.capabilities ?? {};
  const seccomp = csc.seccompProfile?.type ?? psc.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault') throw new Error(`seccomp ${seccomp}: only RuntimeDefault (the engine's default profile) is translated`);
  const memory = container.resources?.limits?.memory;
  return {
    args: container.args,
    env,
    mounts,
    user: uid === undefined ? undefined : `${String(uid)}${gid === undefined ? '' : `:${String(gid)}`}`,
    runAsNonRoot: csc.runAsNonRoot ?? psc.runAsNonRoot ?? false,
    readOnlyRootFilesystem: csc.readOnlyRootFilesystem ?? false,
    capDrop: caps.drop ?? [],
    capAdd: caps.add ?? [],
    // allowPrivilegeEscalation defaults to true, as in the kubelet
    noNewPrivileges: csc.allowPrivilegeEscalation === false,
    seccomp,
    memoryLimitBytes: memory === undefined ? undefined : quantityBytes(memory),
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/**
 * Writes each volume's files under `dir`, one host directory per mount (to bind-mount at its
 * target), readable as the kubelet makes them: directories 0755, files with their mode.
 */
export function materialize(plan: ContainerPlan, dir: string): { source: string; target: string; readOnly: boolean }[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return plan.mounts
    .filter((m) => !m.emptyDir)
    .map((m, i) => {
      const source = join(dir, `volume-${String(i)}`);
      mkdirSync(source, { recursive: true, mode: 0o755 });
      chmodSync(source, 0o755);
      for (const f of m.files) {
        const rel = f.path.slice(m.target.length).replace(/^\/+/, '');
        const file = join(source, rel);
        mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
        writeFileSync(file, f.content, { mode: f.mode });
        chmodSync(file, f.mode);
      }
      return { source, target: m.target, readOnly: m.readOnly };
    });
}
