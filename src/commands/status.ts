// `cedana-operator status`: the protected pods of a namespace, what protects each (a CheckpointPolicy
// or Cedana's pod labels, by the operator's own rules in controllers/protection.ts), its newest Ready
// checkpoint and that checkpoint's age, and what the operator would do if its node went away.
import { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import { CheckpointPolicies, type CheckpointPolicyStore } from '../api/kinds.ts';
import { LABELS, Pod } from '../api/pod.ts';
import { PodCheckpoint } from '../api/podcheckpoint.ts';
import { ConfigSchema } from '../config/config.ts';
import { completedMs } from '../controllers/owned-objects.ts';
import { HEARTBEAT_LABEL, NODE_RESTORE_LABEL, Protection, policiesByNamespace, type ProtectionRule } from '../controllers/protection.ts';
import { Cache } from '../kube/cache.ts';
import { CliError, COMMON_HELP, COMMON_OPTIONS, formatAge, formatDocument, formatTable, kubeCall, kubeTarget, parseCommandArgs, runCli, stringValue, type Output, type Writable } from './kube-cli.ts';

const COMMAND = 'status';

export const STATUS_HELP = `Usage: cedana-operator status [-n NS] [--cedana-labels ignore|honour]

Lists the protected pods of a namespace: what protects each (a CheckpointPolicy, or the labels
${NODE_RESTORE_LABEL} / ${HEARTBEAT_LABEL}), its newest Ready checkpoint and how old it is,
and what the operator does if the pod's node goes away, with notice (a termination taint, a cordon)
or without (the node vanishes or stays NotReady).

      --cedana-labels M  the operator's setting of the same name (default: $CEDANA_LABELS, else
                         ignore): ignore leaves the labels to Cedana's own controller, honour acts on them
${COMMON_HELP}
`;

const OPTIONS = { ...COMMON_OPTIONS, 'cedana-labels': { type: 'string' } } as const;
export const LABEL_MODES = ['ignore', 'honour'] as const;
export type LabelMode = (typeof LABEL_MODES)[number];

export interface StatusArgs {
  cedanaLabels: LabelMode;
  output: Output | undefined;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
}

export function parseStatusArgs(argv: string[]): StatusArgs | undefined {
  const { help, values } = parseCommandArgs(COMMAND, argv, OPTIONS, []);
  if (help) return undefined;
  // As the operator reads it: the flag, else its environment variable, else its default.
  const mode = stringValue(values['cedana-labels']) ?? (process.env.CEDANA_LABELS || 'ignore');
  if (!LABEL_MODES.includes(mode as LabelMode)) throw new CliError(`${COMMAND}: --cedana-labels must be ignore or honour, not '${mode}'`, 2);
  return {
    cedanaLabels: mode as LabelMode,
    output: stringValue(values.output) as Output | undefined,
    namespace: stringValue(values.namespace),
    kubeconfig: stringValue(values.kubeconfig),
    context: stringValue(values.context),
  };
}

export interface ProtectedPod {
  pod: string;
  node: string | null;
  /** A policy (this operator acts), or Cedana's labels (this operator acts only with --cedana-labels=honour). */
  protectedBy: { policy: string } | { labels: Record<string, string>; actedOnBy: 'operator' | 'cedana' };
  newestCheckpoint: { name: string; completedAt: string | null; ageSeconds: number | null } | null;
  onNodeLoss: { withNotice: string; withoutNotice: string };
}

export interface StatusReport {
  namespace: string;
  cedanaLabels: LabelMode;
  pods: number;
  protectedPods: ProtectedPod[];
  /** Cedana labels that protect nothing because they are malformed, one line each. */
  problems: string[];
}

/** The listed policies in the kind of cache Protection reads in the operator, with its index. */
function policyStore(policies: CheckpointPolicy[]): CheckpointPolicyStore {
  const cache = new Cache(CheckpointPolicies);
  cache.addIndex(policiesByNamespace);
  for (const p of policies) cache.set(p);
  return cache;
}

const podIsDone = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** What the operator does on node loss for a pod under `rule` (see controllers/node-termination.ts). */
export function onNodeLoss(rule: ProtectionRule, newest: ProtectedPod['newestCheckpoint']): ProtectedPod['onNodeLoss'] {
  const withNotice = rule.checkpoint ? (rule.restore ? `checkpoint (${rule.kind}), then restore elsewhere` : `checkpoint (${rule.kind}), no restore`) : 'nothing: no checkpoint';
  let withoutNotice = 'nothing: not restored';
  if (rule.restore) {
    withoutNotice = newest ? `restore from ${newest.name}${newest.ageSeconds !== null ? ` (${formatAge(newest.ageSeconds * 1000)} old)` : ''}` : 'lost: no Ready checkpoint to restore from';
  }
  return { withNotice, withoutNotice };
}

/** What Cedana's own controller does with its labels is its own business: say who acts, not what. */
const CEDANA_ACTS = { withNotice: "Cedana's controller acts on its labels", withoutNotice: "Cedana's controller acts on its labels" };

export function statusReport(
  namespace: string,
  pods: Pod[],
  policies: CheckpointPolicy[],
  checkpoints: PodCheckpoint[],
  minHeartbeatMs: number,
  cedanaLabels: LabelMode,
  now = Date.now(),
): StatusReport {
  // The operator's rules as it runs them, and (for --cedana-labels=ignore) the labels' own reading.
  const store = policyStore(policies);
  const protection = new Protection(store, minHeartbeatMs, cedanaLabels === 'honour');
  const byLabels = new Protection(store, minHeartbeatMs, true);
  const live = pods.filter((p) => !podIsDone(p));
  const protectedPods: ProtectedPod[] = [];
  const problems: string[] = [];
  for (const pod of [...live].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    for (const p of protection.labelProblems(pod)) problems.push(`pod ${pod.metadata.name}: ${p}`);
    const rule = protection.ruleFor(pod) ?? byLabels.ruleFor(pod);
    if (!rule) continue;
    const operatorActs = rule.policy !== undefined || cedanaLabels === 'honour';
    const uid = pod.metadata.uid ?? '';
    // A checkpoint is this pod's by the uid it was taken of: a same-named newer pod is another pod.
    const ready = checkpoints
      .filter((c) => c.status?.phase === 'Ready' && uid !== '' && (c.status.podUID === uid || c.metadata.labels?.[LABELS.podUID] === uid))
      .sort((a, b) => completedMs(b) - completedMs(a))[0];
    const at = ready ? completedMs(ready) : 0;
    const newest = ready ? { name: ready.metadata.name, completedAt: ready.status?.completedAt ?? null, ageSeconds: at > 0 ? Math.max(0, Math.floor((now - at) / 1000)) : null } : null;
    const labels = pod.metadata.labels ?? {};
    const protectedBy = rule.policy
      ? { policy: rule.policy.metadata.name }
      : {
          labels: Object.fromEntries([NODE_RESTORE_LABEL, HEARTBEAT_LABEL].flatMap((k) => (labels[k] !== undefined ? [[k, labels[k]]] : []))),
          actedOnBy: operatorActs ? ('operator' as const) : ('cedana' as const),
        };
    protectedPods.push({ pod: pod.metadata.name, node: pod.spec.nodeName ?? null, protectedBy, newestCheckpoint: newest, onNodeLoss: operatorActs ? onNodeLoss(rule, newest) : CEDANA_ACTS });
  }
  return { namespace, cedanaLabels, pods: live.length, protectedPods, problems };
}

export function formatStatus(r: StatusReport): string {
  if (r.protectedPods.length === 0) {
    return `No protected pods in namespace ${r.namespace} (${String(r.pods)} pod(s)): protect them with a CheckpointPolicy or the label ${NODE_RESTORE_LABEL}=true.\n${problemLines(r)}`;
  }
  const rows = r.protectedPods.map((p) => [
    p.pod,
    p.node ?? '<none>',
    'policy' in p.protectedBy
      ? `policy/${p.protectedBy.policy}`
      : Object.entries(p.protectedBy.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
    p.newestCheckpoint?.name ?? '<none>',
    p.newestCheckpoint?.ageSeconds != null ? formatAge(p.newestCheckpoint.ageSeconds * 1000) : '-',
    p.onNodeLoss.withNotice,
    p.onNodeLoss.withoutNotice,
  ]);
  const table = formatTable(['POD', 'NODE', 'PROTECTED BY', 'NEWEST READY CHECKPOINT', 'AGE', 'NODE LOSS WITH NOTICE', 'WITHOUT NOTICE'], rows);
  const none = r.protectedPods.filter((p) => !p.newestCheckpoint).length;
  const summary = `${String(r.protectedPods.length)} of ${String(r.pods)} pod(s) in namespace ${r.namespace} protected; ${none === 0 ? 'all have' : `${String(none)} without`} a Ready checkpoint.\n`;
  const toCedana = r.protectedPods.some((p) => 'actedOnBy' in p.protectedBy && p.protectedBy.actedOnBy === 'cedana');
  const note = toCedana ? `note: with --cedana-labels=ignore (the operator's default) pods protected by labels are Cedana's controller's; pass --cedana-labels honour if the operator runs so.\n` : '';
  return `${table}${summary}${note}${problemLines(r)}`;
}

const problemLines = (r: StatusReport): string => r.problems.map((p) => `warning: ${p}\n`).join('');

export async function statusCommand(argv: string[], out: Writable = process.stdout, err: Writable = process.stderr): Promise<number> {
  return runCli(err, async () => {
    const a = parseStatusArgs(argv);
    if (!a) {
      out.write(STATUS_HELP);
      return 0;
    }
    const t = kubeTarget(COMMAND, a);
    const ns = t.namespace;
    const listCr = (plural: string, kind: string) =>
      kubeCall(
        COMMAND,
        t,
        `the ${kind} kind`,
        `list ${plural} in namespace ${ns}`,
        () => t.custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural }) as Promise<unknown>,
      );
    const [podList, policyList, checkpointList] = await Promise.all([
      kubeCall(COMMAND, t, `namespace ${ns}`, `list pods in namespace ${ns}`, () => t.core.listNamespacedPod({ namespace: ns })),
      listCr('checkpointpolicies', 'CheckpointPolicy'),
      listCr('podcheckpoints', 'PodCheckpoint'),
    ]);
    // List items of built-in kinds carry no kind; ours do. Anything that does not parse is not counted.
    const items = (list: unknown): unknown[] => (list as { items?: unknown[] } | null)?.items ?? [];
    const parsed = <T>(list: unknown, parse: (raw: unknown) => { success: boolean; data?: T }): T[] =>
      items(list).flatMap((raw) => {
        const r = parse(raw);
        return r.success && r.data !== undefined ? [r.data] : [];
      });
    const pods = parsed(podList, (raw) => Pod.safeParse(raw));
    const policies = parsed(policyList, (raw) => CheckpointPolicy.safeParse(raw));
    const checkpoints = parsed(checkpointList, (raw) => PodCheckpoint.safeParse(raw));
    const report = statusReport(ns, pods, policies, checkpoints, ConfigSchema.shape.minHeartbeatInterval.parse(undefined), a.cedanaLabels);
    out.write(a.output ? formatDocument(report, a.output) : formatStatus(report));
    return 0;
  });
}
