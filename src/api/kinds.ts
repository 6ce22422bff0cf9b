// The kinds the operator caches, each with its collection path and its boundary parser. Stores and
// index handles are typed by these, so an index of one kind cannot be asked of another.
import { compactNode, compactPod } from './compact.ts';
import { API_VERSION } from './meta.ts';
import { CheckpointPolicy } from './checkpointpolicy.ts';
import { Node, Pod } from './pod.ts';
import { PodCheckpoint } from './podcheckpoint.ts';
import { PodRestore } from './podrestore.ts';
import type { Kind } from '../kube/cache.ts';
import type { Store } from '../kube/cache.ts';

const core = (plural: string) => (ns: string | undefined) => `/api/v1${ns ? `/namespaces/${ns}` : ''}/${plural}`;
const ours = (plural: string) => (ns: string | undefined) => `/apis/${API_VERSION}${ns ? `/namespaces/${ns}` : ''}/${plural}`;

/**
 * Pods and Nodes are cached in compact form (compact.ts): the full pod is read from the apiserver when
 * it is needed. The projection comes first and the schema parses what it kept: a looseObject parse of
 * a whole pod (18 kB of JSON with its managedFields, as a list serves it) copies every field of it,
 * 10,000 times during the first list, to keep 600 bytes of each. Input the projection cannot read (not
 * shaped like a pod at all) gets the whole schema, for its error.
 */
function compactThenParse<T>(compact: (o: T) => T, schema: { parse: (raw: unknown) => T }): (raw: unknown) => T {
  return (raw) => {
    let projected: T;
    try {
      projected = compact(raw as T);
    } catch {
      return compact(schema.parse(raw));
    }
    return schema.parse(projected);
  };
}
export const parseCompactPod: (raw: unknown) => Pod = compactThenParse(compactPod, Pod);
export const parseCompactNode: (raw: unknown) => Node = compactThenParse(compactNode, Node);

export const Pods: Kind<'Pod', Pod> = { kind: 'Pod', plural: 'pods', namespaced: true, collectionPath: core('pods'), parse: parseCompactPod };
export const Nodes: Kind<'Node', Node> = { kind: 'Node', plural: 'nodes', namespaced: false, collectionPath: () => '/api/v1/nodes', parse: parseCompactNode };
export const PodCheckpoints: Kind<'PodCheckpoint', PodCheckpoint> = {
  kind: 'PodCheckpoint',
  plural: 'podcheckpoints',
  namespaced: true,
  collectionPath: ours('podcheckpoints'),
  parse: (raw) => PodCheckpoint.parse(raw),
};
export const PodRestores: Kind<'PodRestore', PodRestore> = {
  kind: 'PodRestore',
  plural: 'podrestores',
  namespaced: true,
  collectionPath: ours('podrestores'),
  parse: (raw) => PodRestore.parse(raw),
};
export const CheckpointPolicies: Kind<'CheckpointPolicy', CheckpointPolicy> = {
  kind: 'CheckpointPolicy',
  plural: 'checkpointpolicies',
  namespaced: true,
  collectionPath: ours('checkpointpolicies'),
  parse: (raw) => CheckpointPolicy.parse(raw),
};

export type PodStore = Store<'Pod', Pod>;
export type NodeStore = Store<'Node', Node>;
export type PodCheckpointStore = Store<'PodCheckpoint', PodCheckpoint>;
export type PodRestoreStore = Store<'PodRestore', PodRestore>;
export type CheckpointPolicyStore = Store<'CheckpointPolicy', CheckpointPolicy>;
