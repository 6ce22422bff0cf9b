// `cedana-operator checkpoint POD`: creates the PodCheckpoint a user would apply and, with --wait,
// follows its status to Ready or Failed.
import { API_VERSION } from '../api/meta.ts';
import { isDns1123Subdomain, SUBDOMAIN_RULE } from '../api/names.ts';
import { Pod } from '../api/pod.ts';
import { CheckpointKind, PodCheckpoint, type PodCheckpointSpec } from '../api/podcheckpoint.ts';
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

const COMMAND = 'checkpoint';
const PLURAL = 'podcheckpoints';

export const CHECKPOINT_HELP = `Usage: cedana-operator checkpoint POD [-n NS] [--kind K] [--name NAME] [--wait [--timeout DUR]]

Creates a PodCheckpoint of pod POD (what \`kubectl apply\` of one would do); the operator asks Cedana
to checkpoint the pod. With --wait, shows its progress and exits 0 once it is Ready, 1 if it fails.

      --kind K           simple (default), rootfs or rootfsonly
      --name NAME        name of the PodCheckpoint (default: POD-ckpt- and a random suffix)
      --wait             follow the checkpoint until it is Ready or Failed
      --timeout DUR      give up waiting after DUR (default 10m)
${COMMON_HELP}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  kind: { type: 'string' },
  name: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export interface CheckpointArgs {
  pod: string;
  kind: PodCheckpointSpec['kind'];
  name: string | undefined;
  wait: boolean;
  timeoutMs: number;
  output: Output | undefined;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
}

/** Parses and checks the arguments; undefined means --help was asked for. */
export function parseCheckpointArgs(argv: string[]): CheckpointArgs | undefined {
  const { help, values, args } = parseCommandArgs(COMMAND, argv, OPTIONS, ['POD']);
  if (help) return undefined;
  const pod = args[0] ?? '';
  if (!isDns1123Subdomain(pod)) throw new CliError(`${COMMAND}: '${pod}' is not a pod name: a pod name is ${SUBDOMAIN_RULE}`, 2);
  const kind = CheckpointKind.safeParse(stringValue(values.kind) ?? 'simple');
  if (!kind.success) throw new CliError(`${COMMAND}: --kind must be one of ${CheckpointKind.options.join(', ')}, not '${String(values.kind)}'`, 2);
  const name = stringValue(values.name);
  if (name !== undefined && !isDns1123Subdomain(name)) throw new CliError(`${COMMAND}: --name '${name}' is not valid: a name is ${SUBDOMAIN_RULE}`, 2);
  const timeout = stringValue(values.timeout);
  if (timeout !== undefined && values.wait !== true) throw new CliError(`${COMMAND}: --timeout applies only with --wait`, 2);
  return {
    pod,
    kind: kind.data,
    name,
    wait: values.wait === true,
    timeoutMs: timeout === undefined ? 600_000 : parseTimeout(COMMAND, timeout),
    output: stringValue(values.output) as Output | undefined,
    namespace: stringValue(values.namespace),
    kubeconfig: stringValue(values.kubeconfig),
    context: stringValue(values.context),
  };
}

/** The object `kubectl apply` would create: generateName unless a name is given. */
export function checkpointObject(a: Pick<CheckpointArgs, 'pod' | 'kind' | 'name'>) {
  return {
    apiVersion: API_VERSION,
    kind: 'PodCheckpoint',
    metadata: a.name !== undefined ? { name: a.name } : { generateName: `${a.pod.slice(0, 240).replace(/[-.]+$/, '')}-ckpt-` },
    spec: { podName: a.pod, kind: a.kind, reason: 'manual' as const },
  };
}

/** "PodCheckpoint x: Checkpointing (Cedana: processing)", and why it waits if a condition says so. */
export function checkpointLine(pc: PodCheckpoint): string {
  const s = pc.status;
  const phase = s?.phase ?? 'Pending';
  const cedana = s?.cedanaStatus ? ` (Cedana: ${s.cedanaStatus})` : '';
  const waiting = s?.conditions?.find((c) => c.status === 'Unknown' || (c.status === 'False' && c.type !== 'Ready'));
  const why = waiting && phase !== 'Ready' && phase !== 'Failed' ? `; ${waiting.type}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}` : '';
  return `PodCheckpoint ${pc.metadata.name}: ${phase}${cedana}${why}`;
}

export const isCheckpointDone = (pc: PodCheckpoint): boolean => pc.status?.phase === 'Ready' || pc.status?.phase === 'Failed';

/** The closing line, and whether it is a success. */
export function checkpointOutcome(pc: PodCheckpoint): { ok: boolean; line: string } {
  const s = pc.status;
  if (s?.phase === 'Ready') {
    return { ok: true, line: `checkpoint ready: PodCheckpoint ${pc.metadata.name}, Cedana action ${s.actionId ?? '?'}, checkpoint ${s.checkpointId ?? '?'}` };
  }
  const reason = s?.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'Failed';
  return { ok: false, line: `PodCheckpoint ${pc.metadata.namespace ?? ''}/${pc.metadata.name} failed: ${reason}: ${s?.message ?? 'no message'}` };
}

export async function checkpointCommand(argv: string[], out: Writable = process.stdout, err: Writable = process.stderr): Promise<number> {
  return runCli(err, async () => {
    const a = parseCheckpointArgs(argv);
    if (!a) {
      out.write(CHECKPOINT_HELP);
      return 0;
    }
    const t = kubeTarget(COMMAND, a);
    const podRef = `pod ${t.namespace}/${a.pod}`;
    const raw = await kubeCall(COMMAND, t, podRef, `read pods in namespace ${t.namespace}`, () => t.core.readNamespacedPod({ name: a.pod, namespace: t.namespace }));
    const pod = Pod.safeParse(raw);
    if (!pod.success) throw new CliError(`${COMMAND}: ${podRef} is not a pod: ${pod.error.issues[0]?.message ?? 'unexpected object'}`);
    const created = PodCheckpoint.parse(
      await kubeCall(COMMAND, t, `namespace ${t.namespace}`, `create podcheckpoints in namespace ${t.namespace}`, () =>
        t.custom.createNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: t.namespace, plural: PLURAL, body: checkpointObject(a), fieldManager: CLI_FIELD_MANAGER }),
      ),
    );
    // With --output the document is all of stdout; progress goes to stderr.
    const human = a.output === undefined ? out : err;
    human.write(`podcheckpoint.cedana.ai/${created.metadata.name} created (pod ${t.namespace}/${a.pod})\n`);
    if (!a.wait) {
      if (a.output) out.write(formatDocument(created, a.output));
      return 0;
    }
    return waitForEnd({
      command: COMMAND,
      target: t,
      plural: PLURAL,
      kind: 'PodCheckpoint',
      created,
      schema: PodCheckpoint,
      line: checkpointLine,
      isDone: isCheckpointDone,
      outcome: checkpointOutcome,
      timeoutMs: a.timeoutMs,
      output: a.output,
      out,
      err,
    });
  });
}
