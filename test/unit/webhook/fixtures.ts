// An AdmissionReview of a pod's eviction, as the apiserver sends it; overrides replace request fields.
export const evictionReview = (overrides: Record<string, unknown> = {}, object: unknown = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'trainer', namespace: 'ns' } }) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'eviction',
    name: 'trainer',
    namespace: 'ns',
    operation: 'CREATE',
    userInfo: { username: 'system:admin' },
    object,
    dryRun: false,
    ...overrides,
  },
});
