import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/api/pod.ts';
import { derivedName, operatorCheckpoint, ownedMetadata, shortUid } from '../../../src/controllers/owned-objects.ts';
import { CHECKPOINT_FINALIZER, PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { pod, policy } from './builders.ts';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('derivedName', () => {
  it('keeps a short pod name whole', () => {
    expect(derivedName('db-0', 'hb-abc-1')).toBe('db-0-hb-abc-1');
  });

  it('stays within 253 characters and DNS-1123-shaped for a 253-character pod name', () => {
    const long = `${'a'.repeat(120)}.${'b'.repeat(131)}`;
    expect(long).toHaveLength(252);
    for (const podName of [`${long}c`, 'x'.repeat(253)]) {
      for (const suffix of ['evac-0123456789', 'hb-abcdef-zz9k', 'lost']) {
        const name = derivedName(podName, suffix);
        expect(name.length).toBeLessThanOrEqual(253);
        expect(name).toMatch(DNS1123_SUBDOMAIN);
        expect(name.endsWith(`-${suffix}`)).toBe(true);
      }
    }
  });

  it('does not leave a dash or dot before the suffix when the cut lands on one', () => {
    const suffix = 'evac-0123456789';
    const room = 253 - suffix.length - 1;
    for (const sep of ['-', '.', '-.-']) {
      const podName = `${'a'.repeat(room - sep.length)}${sep}${'b'.repeat(253 - room)}`;
      expect(podName).toHaveLength(253);
      const name = derivedName(podName, suffix);
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(DNS1123_SUBDOMAIN);
    }
  });

  it('different suffixes give different names for the same long pod', () => {
    const podName = 'p'.repeat(253);
    expect(derivedName(podName, 'hb-a-1')).not.toBe(derivedName(podName, 'hb-a-2'));
  });
});

describe('shortUid', () => {
  it('is 10 lowercase hex characters, stable, and differs between uids', () => {
    const a = shortUid('0b6b2c3e-1111-4a4a-9c9c-123456789abc');
    expect(a).toMatch(/^[0-9a-f]{10}$/);
    expect(shortUid('0b6b2c3e-1111-4a4a-9c9c-123456789abc')).toBe(a);
    expect(shortUid('0b6b2c3e-1111-4a4a-9c9c-123456789abd')).not.toBe(a);
    expect(shortUid('')).toMatch(/^[0-9a-f]{10}$/);
  });

  it('is the start of the sha-256 of the uid', () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(shortUid('abc')).toBe('ba7816bf8f');
  });
});

describe('ownedMetadata', () => {
  it('labels the object with pod name, uid, trigger and node, keeps the full node name; no owner without a policy', () => {
    const p = pod('db-0', undefined, { uid: 'pod-uid-1' });
    const meta = ownedMetadata(p, undefined, 'evacuation', 'db-0-evac', 'node-a', { 'cedana.ai/restore-reason': 'nodeTermination' });
    expect(meta).toEqual({
      name: 'db-0-evac',
      labels: { [LABELS.pod]: 'db-0', [LABELS.podUID]: 'pod-uid-1', [LABELS.trigger]: 'evacuation', [LABELS.node]: 'node-a' },
      annotations: { 'cedana.ai/restore-reason': 'nodeTermination', 'cedana.ai/node-name': 'node-a' },
    });
    expect(meta).not.toHaveProperty('ownerReferences');
  });

  it('omits the node label without a node', () => {
    const meta = ownedMetadata(pod('db-0', undefined), undefined, 'heartbeat', 'n', undefined);
    expect(meta.labels).not.toHaveProperty(LABELS.node);
    expect(meta.annotations).toEqual({});
  });

  it('cuts a long pod name to a valid label value of at most 63 characters', () => {
    for (const name of ['a'.repeat(253), `${'a'.repeat(62)}-${'b'.repeat(100)}`, `${'a'.repeat(61)}.-b`]) {
      const meta = ownedMetadata(pod(name, undefined), undefined, 'early', 'n', undefined);
      const value = meta.labels[LABELS.pod];
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value.length).toBeGreaterThan(0);
      expect(value).toMatch(LABEL_VALUE);
      expect(name.startsWith(value)).toBe(true);
    }
  });

  it('cuts a long node name to 63 characters', () => {
    const meta = ownedMetadata(pod('db-0', undefined), undefined, 'node-lost', 'n', 'n'.repeat(100));
    expect(meta.labels[LABELS.node]).toBe('n'.repeat(63));
  });

  it('sets the policy as owner only when it has a uid', () => {
    const p = pod('db-0', undefined);
    const withUid = ownedMetadata(p, policy('pol', {}, { uid: 'pol-uid' }), 'evacuation', 'n', undefined);
    expect(withUid.ownerReferences).toEqual([{ apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', name: 'pol', uid: 'pol-uid' }]);
    const withoutUid = ownedMetadata(p, policy('pol', {}), 'evacuation', 'n', undefined);
    expect(withoutUid).not.toHaveProperty('ownerReferences');
  });
});

describe('operatorCheckpoint', () => {
  it('is a valid PodCheckpoint with deletionPolicy Deprecate and its finalizer already set', () => {
    const body = operatorCheckpoint(pod('db-0', undefined), policy('pol', {}, { uid: 'pol-uid' }), 'evacuation', 'db-0-evac', 'node-a', { kind: 'rootfs', reason: 'manual' });
    const parsed = PodCheckpoint.parse({ ...body, metadata: { ...body.metadata, namespace: 'default' } });
    expect(parsed.spec).toMatchObject({ podName: 'db-0', kind: 'rootfs', reason: 'manual', deletionPolicy: 'Deprecate' });
    expect(parsed.metadata.finalizers).toEqual([CHECKPOINT_FINALIZER]);
    expect(parsed.metadata.ownerReferences?.[0]?.uid).toBe('pol-uid');
  });
});
