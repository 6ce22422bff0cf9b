// AdmissionReview parsing: an eviction of a pod is decided on; anything else (another resource, a
// malformed review, a body that is not JSON) gets a clear answer and is never held.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { classifyReview } from '../../../src/webhook/admission.ts';
import { handleReview } from '../../../src/webhook/server.ts';
import { evictionReview } from './fixtures.ts';

const log = pino({ level: 'silent' });

describe('classifyReview', () => {
  it('an eviction of a pod: decided on, with namespace, name and dry run', () => {
    expect(classifyReview(evictionReview())).toEqual({ kind: 'eviction', eviction: { uid: 'u-1', namespace: 'ns', name: 'trainer', dryRun: false } });
    expect(classifyReview(evictionReview({ dryRun: true }))).toMatchObject({ kind: 'eviction', eviction: { dryRun: true } });
    const viaOptions = classifyReview(evictionReview({}, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'trainer' }, deleteOptions: { dryRun: ['All'] } }));
    expect(viaOptions).toMatchObject({ kind: 'eviction', eviction: { dryRun: true } });
  });

  it.each([
    {
      name: 'another resource',
      body: evictionReview({ resource: { group: '', version: 'v1', resource: 'pods' }, subResource: undefined }),
      uid: 'u-1',
      why: /only CREATE of pods\/eviction.*this is CREATE pods;/,
    },
    { name: 'another operation', body: evictionReview({ operation: 'DELETE' }), uid: 'u-1', why: /this is DELETE pods\/eviction/ },
    { name: 'another group', body: evictionReview({ resource: { group: 'apps', version: 'v1', resource: 'deployments' }, subResource: 'scale' }), uid: 'u-1', why: /apps\/deployments\/scale/ },
    { name: 'no request', body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, uid: '', why: /not an admission.k8s.io\/v1 AdmissionReview \(request:/ },
    { name: 'an old review version', body: { ...evictionReview(), apiVersion: 'admission.k8s.io/v1beta1' }, uid: 'u-1', why: /apiVersion/ },
    { name: 'not an object at all', body: 42, uid: '', why: /not an admission/ },
    { name: 'an eviction object that is not one', body: evictionReview({}, { kind: 'Pod', metadata: { name: 'x' } }), uid: 'u-1', why: /not a policy\/v1 Eviction/ },
  ])('$name: allowed, saying why', ({ body, uid, why }) => {
    const c = classifyReview(body);
    expect(c.kind).toBe('answer');
    if (c.kind !== 'answer') return;
    expect(c.response.uid).toBe(uid);
    expect(c.response.allowed).toBe(true);
    expect(c.response.warnings?.[0]).toMatch(why);
    expect(c.response.status?.message).toMatch(why);
  });
});

describe('handleReview', () => {
  const never = () => Promise.reject(new Error('must not be called'));

  it('a body that is not JSON: 400 with a message', async () => {
    const r = await handleReview('{not json', never, log);
    expect(r.status).toBe(400);
    expect((r.body as { message: string }).message).toMatch(/not JSON/);
  });

  it('a malformed review: 200, an AdmissionReview that allows', async () => {
    const r = await handleReview(JSON.stringify({ hello: 'world' }), never, log);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '', allowed: true } });
  });

  it('a decision that throws: allowed with the error in the warning, never a hold', async () => {
    const r = await handleReview(JSON.stringify(evictionReview()), () => Promise.reject(new Error('cache exploded')), log);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ response: { uid: 'u-1', allowed: true, warnings: [expect.stringMatching(/cache exploded/)] } });
  });

  it('a hold is passed through as the response', async () => {
    const r = await handleReview(JSON.stringify(evictionReview()), (ev) => Promise.resolve({ uid: ev.uid, allowed: false, status: { code: 429, reason: 'TooManyRequests', message: 'wait' } }), log);
    expect(r.body).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: false, status: { code: 429, reason: 'TooManyRequests', message: 'wait' } } });
  });
});
