// Which policy protects a pod. The first policy of the pod's namespace (by name, so the choice is
// stable) whose selector matches the pod wins.
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import type { Pod } from '../api/pod.ts';
import type { Store } from '../kube/informer.ts';
import { matchesSelector } from '../kube/selector.ts';

export class Protection {
  private readonly policies: Store<CheckpointPolicy>;
  constructor(policies: Store<CheckpointPolicy>) {
    this.policies = policies;
  }

  policyFor(pod: Pod): CheckpointPolicy | undefined {
    return this.policies
      .byIndex('namespace', pod.metadata.namespace ?? '')
      .filter((p) => !p.metadata.deletionTimestamp && matchesSelector(p.spec.selector, pod.metadata.labels))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
  }
}
