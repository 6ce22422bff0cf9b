// `cedana-operator restore CHECKPOINT`: creates the PodRestore a user would apply for a Ready
// PodCheckpoint and, with --wait, follows it until the restored pod exists or the restore fails.
import { API_VERSION } from '../api/meta.ts';
import { isDns1123Subdomain, SUBDOMAIN_RULE } from '../api/names.ts';
import { PodCheckpoint } from '../api/podcheckpoint.ts';
import { PodRestore } from '../api/podrestore.ts';
import {
  CLI_FIELD_MANAGER,
  COMMON_HELP,
  COMMON_OPTIONS,
  CliError,
  formatDocument,
  kubeCall,
  kubeTarget,
  parseCommandArgs,
  parseTimeout,
  runCli,
  stringValue,
  type Output,
  waitForEnd,
  type Writable,
} from './kube-cli.ts';

const COMMAND = 'restore';
const PLURAL = 'podrestores';

export const RESTORE_HELP = `Usage: cedana-operator restore CHECKPOINT [-n NS] [--pod-name NAME] [--name NAME] [--wait [--timeout DUR]]

Creates a PodRestore of the Ready PodCheckpoint CHECKPOINT (what \`kubectl apply\` of one would do);
Cedana brings the pod back as a new pod. With --wait, shows its progress and exits 0 once the
restored pod exists, 1 if the restore fails.

      --pod-name NAME    name of the restored pod (default: Cedana's, <pod>-restored)
      --name NAME        name of the PodRestore (default: CHECKPOINT-restore- and a random suffix)
      --wait             follow the restore until it Succeeded or Failed
      --timeout DUR      give up waiting after DUR (default 10m)
${COMMON_HELP}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'pod-name': { type: 'string' },
  name: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export interface RestoreArgs {
  checkpoint: string;
  podName: string | undefined;
  name: string | undefined;
  wait: boolean;
  timeoutMs: number;
  output: Output | undefined;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
}

export function parseRestoreArgs(argv: string[]): RestoreArgs | undefined {
  const { help, values, args } = parseCommandArgs(COMMAND, argv, OPTIONS, ['CHECKPOINT']);
  if (help) return undefined;
  const checkpoint = args[0] ?? '';
  if (!isDns1123Subdomain(checkpoint)) throw new CliError(`${COMMAND}: '${checkpoint}' is not a PodCheckpoint name: a name is ${SUBDOMAIN_RULE}`, 2);
  const podName = stringValue(values['pod-name']);
  if (podName !== undefined && !isDns1123Subdomain(podName)) throw new CliError(`${COMMAND}: --pod-name '${podName}' is not a pod name: a pod name is ${SUBDOMAIN_RULE}`, 2);
  const name = stringValue(values.name);
  if (name !== undefined && !isDns1123Subdomain(name)) throw new CliError(`${COMMAND}: --name '${name}' is not valid: a name is ${SUBDOMAIN_RULE}`, 2);
  const timeout = stringValue(values.timeout);
  if (timeout !== undefined && values.wait !== true) throw new CliError(`${COMMAND}: --timeout applies only with --wait`, 2);
  return {
    checkpoint,
    podName,
    name,
    wait: values.wait === true,
    timeoutMs: timeout === undefined ? 600_000 : parseTimeout(COMMAND, timeout),
    output: stringValue(values.output) as Output | undefined,
    namespace: stringValue(values.namespace),
    kubeconfig: stringValue(values.kubeconfig),
    context: stringValue(values.context),
  };
}

export function restoreObject(a: Pick<RestoreArgs, 'checkpoint' | 'podName' | 'name'>) {
  return {
    apiVersion: API_VERSION,
    kind: 'PodRestore',
    metadata: a.name !== undefined ? { name: a.name } : { generateName: `${a.checkpoint.slice(0, 240).replace(/[-.]+$/, '')}-restore-` },
    spec: { checkpointRef: { name: a.checkpoint }, reason: 'manual' as const, ...(a.podName !== undefined ? { podName: a.podName } : {}) },
  };
}

/** Why a checkpoint cannot be restored from, or undefined when it can. */
export function notRestorable(pc: PodCheckpoint): string | undefined {
  const phase = pc.status?.phase ?? 'Pending';
  if (phase === 'Ready') return undefined;
  const reason = pc.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  const detail = [reason, pc.status?.message].filter((x) => x !== undefined && x !== '').join(': ');
  return `PodCheckpoint ${pc.metadata.namespace ?? ''}/${pc.metadata.name} is not Ready (phase ${phase}${detail ? `; ${detail}` : ''}): restore from a Ready checkpoint`;
}

export function restoreLine(pr: PodRestore): string {
  const s = pr.status;
  const phase = s?.phase ?? 'Pending';
  const cedana = s?.cedanaStatus ? ` (Cedana: ${s.cedanaStatus})` : '';
  const waiting = s?.conditions?.find((c) => c.status === 'Unknown' || (c.status === 'False' && c.type === 'Ready' && phase === 'Pending'));
  const why = waiting && phase !== 'Succeeded' && phase !== 'Failed' ? `; ${waiting.type}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}` : '';
  return `PodRestore ${pr.metadata.name}: ${phase}${cedana}${why}`;
}

export const isRestoreDone = (pr: PodRestore): boolean => pr.status?.phase === 'Succeeded' || pr.status?.phase === 'Failed';

export function restoreOutcome(pr: PodRestore): { ok: boolean; line: string } {
  const s = pr.status;
  if (s?.phase === 'Succeeded') {
    const pod = s.restoredPod;
    return { ok: true, line: `restored: pod ${pr.metadata.namespace ?? ''}/${pod?.name ?? '?'}${pod?.nodeName ? ` on ${pod.nodeName}` : ''} (PodRestore ${pr.metadata.name})` };
  }
  const reason = s?.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'Failed';
  return { ok: false, line: `PodRestore ${pr.metadata.namespace ?? ''}/${pr.metadata.name} failed: ${reason}: ${s?.message ?? 'no message'}` };
}

export async function restoreCommand(argv: string[], out: Writable = process.stdout, err: Writable = process.stderr): Promise<number> {
  return runCli(err, async () => {
    const a = parseRestoreArgs(argv);
    if (!a) {
      out.write(RESTORE_HELP);
      return 0;
    }
    const t = kubeTarget(COMMAND, a);
    const ref = `PodCheckpoint ${t.namespace}/${a.checkpoint}`;
    const pc = PodCheckpoint.parse(
      await kubeCall(COMMAND, t, ref, `read podcheckpoints in namespace ${t.namespace}`, () =>
        t.custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: t.namespace, plural: 'podcheckpoints', name: a.checkpoint }),
      ),
    );
    const why = notRestorable(pc);
    if (why) throw new CliError(`${COMMAND}: ${why}`);
    const created = PodRestore.parse(
      await kubeCall(COMMAND, t, `namespace ${t.namespace}`, `create podrestores in namespace ${t.namespace}`, () =>
        t.custom.createNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: t.namespace, plural: PLURAL, body: restoreObject(a), fieldManager: CLI_FIELD_MANAGER }),
      ),
    );
    const human = a.output === undefined ? out : err;
    human.write(`podrestore.cedana.ai/${created.metadata.name} created (from PodCheckpoint ${a.checkpoint})\n`);
    if (!a.wait) {
      if (a.output) out.write(formatDocument(created, a.output));
      return 0;
    }
    return waitForEnd({
      command: COMMAND,
      target: t,
      plural: PLURAL,
      kind: 'PodRestore',
      created,
      schema: PodRestore,
      line: restoreLine,
      isDone: isRestoreDone,
      outcome: restoreOutcome,
      timeoutMs: a.timeoutMs,
      output: a.output,
      out,
      err,
    });
  });
}
