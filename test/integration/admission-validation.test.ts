// Admission-time validation of our CRDs by a real kube-apiserver: names that are not Kubernetes
// names (`..` would read the Namespace, `.` the pod list, `a/b` a subresource) and invalid label
// selectors are refused with a message that says what is valid; valid ones are accepted. The cases
// are the ones the zod schemas are tested with (test/unit/api/name-cases.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pod } from '../../src/api/pod.ts';
import { BAD_NAMES, BAD_SELECTORS, GOOD_NAMES, GOOD_SELECTORS } from '../unit/api/name-cases.ts';
import { createTestNamespace, refusal, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, getCr } from './harness/stack.ts';

const SUBDOMAIN = "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";

describe('admission: names and selectors in our CRDs', () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await createTestNamespace('admission', { waitForServiceAccount: false });
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  let n = 0;
  const uniqueName = (prefix: string): string => `${prefix}-${String(n++)}`;

  /**
   * What the apiserver says of a bad name in `field`: our rule's message; for an over-long one its
   * own (maxLength is checked first, and bounds the rule's cost).
   */
  const expectedRefusal = (field: string, name: string): string =>
    name.length > 253 ? `${field}: Too long: may not be more than 253 bytes` : `${field}: Invalid value: ${JSON.stringify(name)}: ${field.replace(/^spec\./, '')} ${SUBDOMAIN}`;

  it.each(BAD_NAMES)('refuses PodCheckpoint spec.podName %j (%s), saying what a valid name is', async (name) => {
    const message = await refusal(() => createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', uniqueName('bad'), { podName: name }));
    expect(message).toContain(expectedRefusal('spec.podName', name));
  });

  it.each(BAD_NAMES)('refuses PodRestore spec.checkpointRef.name and spec.podName %j (%s)', async (name) => {
    const ref = await refusal(() => createCr(ns.name, 'podrestores', 'PodRestore', uniqueName('bad'), { checkpointRef: { name } }));
    expect(ref).toContain(expectedRefusal('spec.checkpointRef.name', name));
    const pod = await refusal(() => createCr(ns.name, 'podrestores', 'PodRestore', uniqueName('bad'), { checkpointRef: { name: 'ok' }, podName: name }));
    expect(pod).toContain(expectedRefusal('spec.podName', name));
  });

  it.each(GOOD_NAMES)('accepts the name %j everywhere', async (name) => {
    const ck = uniqueName('good');
    await createCr(ns.name, 'podcheckpoints', 'PodCheckpoint', ck, { podName: name });
    expect((await getCr(ns.name, 'podcheckpoints', ck)).spec.podName).toBe(name);
    const rs = uniqueName('good');
    await createCr(ns.name, 'podrestores', 'PodRestore', rs, { checkpointRef: { name }, podName: name });
    expect((await getCr(ns.name, 'podrestores', rs)).spec).toMatchObject({ checkpointRef: { name }, podName: name });
  });

  it.each(BAD_SELECTORS)('refuses the CheckpointPolicy selector %j (%s), saying what a label key or value is', async (selector) => {
    const message = await refusal(() => createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', uniqueName('bad'), { selector }));
    expect(message).toMatch(
      /must be (a label key|label keys): an optional DNS subdomain prefix and '\/', then a name of at most 63 characters|must be a label value: empty, or at most 63 characters|Too long: may not be more than 63 bytes/,
    );
  });

  it('names the field of a bad selector', async () => {
    const key = await refusal(() => createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', uniqueName('bad'), { selector: { matchLabels: { 'bad key': 'x' } } }));
    expect(key).toContain("spec.selector.matchLabels: Invalid value: matchLabels keys must be label keys: an optional DNS subdomain prefix and '/'");
    const value = await refusal(() =>
      createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', uniqueName('bad'), { selector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['ok', 'not ok'] }] } }),
    );
    expect(value).toContain('spec.selector.matchExpressions[0].values[1]: Invalid value: "not ok": each of values must be a label value: empty, or at most 63 characters');
  });

  it('refuses selectors over the size bounds that keep the rules within the CEL budget', async () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${String(i)}`, 'v']));
    expect(await refusal(() => createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', uniqueName('big'), { selector: { matchLabels: labels } }))).toMatch(
      /spec.selector.matchLabels: Too many: 65: must have at most 64 items/,
    );
  });

  it.each(GOOD_SELECTORS)('accepts the selector %j', async (selector) => {
    const name = uniqueName('good');
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', name, { selector });
    expect((await getCr(ns.name, 'checkpointpolicies', name)).spec.selector).toEqual(selector);
  });
});

describe('a read of another kind through a path trick does not parse', () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await createTestNamespace('kinds', { waitForServiceAccount: false });
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it('pods/.. answers with the Namespace, which the Pod schema refuses', async () => {
    // The apiserver resolves the path: this is the namespace itself, deserialized as if it were a pod.
    const raw: unknown = await api().core.readNamespacedPod({ namespace: ns.name, name: '..' });
    expect((raw as { kind?: string }).kind).toBe('Namespace');
    const parsed = Pod.safeParse(raw);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toContain('expected a Pod, got "Namespace"');
  });
});
