// metav1.LabelSelector semantics: every matchLabels pair and every expression must hold; an empty
// selector matches everything (as for a Deployment's).
import type { LabelSelector } from '../api/checkpointpolicy.ts';

export function matchesSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const value = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || value === undefined || !(e.values ?? []).includes(value)) return false;
        break;
      case 'NotIn':
        if (has && value !== undefined && (e.values ?? []).includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
