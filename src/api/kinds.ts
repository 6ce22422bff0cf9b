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

/** Cached in compact form (compact.ts): the full pod is read from the apiserver when it is needed. */
export const Pods: Kind<'Pod', Pod> = { kind: 'Pod', plural: 'pods', namespaced: true, collectionPath: core('pods'), parse: (raw) => compactPod(Pod.parse(raw)) };
export const Nodes: Kind<'Node', Node> = { kind: 'Node', plural: 'nodes', namespaced: false, collectionPath: () => '/api/v1/nodes', parse: (raw) => compactNode(Node.parse(raw)) };
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
