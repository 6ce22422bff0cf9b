// Fault injection: what can go wrong between the operator and Cedana, on demand and reproducibly.
// Request faults are decided per request (one draw of a seeded PRNG); action faults when an action
// is created. Both can be limited to some operations with `paths` ("METHOD /template" keys).
import { z } from 'zod';
import { freshSeed, seededRandom, type Random } from './random.ts';

const rate = () => z.number().min(0).max(1);

/**
 * Ways an answer can be malformed (a proxy, a half-deployed server): the request takes effect,
 * then its 200 answer is sent wrong. `contentType`: the right body under text/html. `truncated`: the
 * body cut in half. `notJson`: an HTML error page under the answer's own content type. `schema`: a
 * body of the right type that breaks the operation's schema. `emptyId`: ids (a text answer, or the
 * id fields of a JSON one) empty.
 */
export const MALFORMATIONS = ['contentType', 'truncated', 'notJson', 'schema', 'emptyId'] as const;
export const Malformation = z.enum(MALFORMATIONS);
export type Malformation = z.infer<typeof Malformation>;
const count = () => z.int().min(0);

const FaultFields = {
  /** Added to every faulted-or-not answer of a matching operation. */
  latencyMs: count().max(600_000),
  /** Extra latency drawn uniformly from [0, jitterMs). */
  jitterMs: count().max(600_000),
  /** Share of requests answered 500 or 503 (half each) with an ApiError. */
  errorRate: rate(),
  /** Share of requests answered 429 with Retry-After. */
  rateLimitRate: rate(),
  retryAfterSeconds: count().max(3600),
  /** Share of requests never answered (until the client gives up or the simulator closes). */
  hangRate: rate(),
  /** Share of requests whose socket is destroyed before anything is done. */
  dropRate: rate(),
  /** Share of requests that take effect, then lose their answer (socket destroyed). */
  dropAfterCommitRate: rate(),
  /** Share of requests that take effect and then get a malformed 200 answer (one of malformedKinds). */
  malformedRate: rate(),
  /** Which malformations malformedRate picks from, uniformly. */
  malformedKinds: z.array(Malformation).min(1),
  /** Share of new actions that end in `error` instead of `ready`. */
  actionErrorRate: rate(),
  /** The next N new actions end in `error` (before actionErrorRate is consulted). */
  failNextActions: count(),
  /** Only these operations are faulted: "POST /v2/checkpoint/pod", "* /v2/checkpoint/status/{action_id}". null = all. */
  paths: z.array(z.string().regex(/^(\*|[A-Z]+) \/\S*$/, 'expected "METHOD /path-template", e.g. "POST /v2/checkpoint/pod"')).nullable(),
  /** Seed of the PRNG; setting it restarts the sequence. */
  seed: z.int().min(0).max(0xffff_ffff).nullable(),
};

const requestRates = ['hangRate', 'dropRate', 'rateLimitRate', 'errorRate', 'dropAfterCommitRate', 'malformedRate'] as const;
const sumOfRates = (f: Partial<Record<(typeof requestRates)[number], number>>) => requestRates.reduce((s, k) => s + (f[k] ?? 0), 0);

export const Faults = z.strictObject(FaultFields).refine((f) => sumOfRates(f) <= 1 + 1e-9, {
  message: `${requestRates.join(' + ')} must not exceed 1`,
});
export type Faults = z.infer<typeof Faults>;

/** The body of PUT /_sim/faults and the `faults` option: any subset, unknown keys rejected. */
export const FaultsPatch = z.strictObject(FaultFields).partial();
export type FaultsPatch = z.infer<typeof FaultsPatch>;

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  hangRate: 0,
  dropRate: 0,
  dropAfterCommitRate: 0,
  malformedRate: 0,
  malformedKinds: [...MALFORMATIONS],
  actionErrorRate: 0,
  failNextActions: 0,
  paths: null,
  seed: null,
};

export type RequestFault =
  | { kind: 'none' }
  | { kind: 'error'; status: 500 | 503 }
  | { kind: 'rateLimit'; retryAfterSeconds: number }
  | { kind: 'hang' }
  | { kind: 'drop' }
  | { kind: 'dropAfterCommit' }
  | { kind: 'malformed'; malformation: Malformation };

export interface FaultInjector {
  current(): Faults;
  /** Merges a patch over the current faults; throws a ZodError when the result is invalid. */
  update(patch: FaultsPatch): Faults;
  /** Back to no faults (keeps the PRNG running unless a seed is given later). */
  clear(): Faults;
  latencyFor(key: string): number;
  requestFault(key: string): RequestFault;
  /** null: the new action succeeds; otherwise which setting dooms it ('failNextActions' | 'actionErrorRate'). */
  actionFailure(key: string): 'failNextActions' | 'actionErrorRate' | null;
}

export function createFaultInjector(initial: FaultsPatch = {}): FaultInjector {
  let faults = Faults.parse({ ...NO_FAULTS, ...Object.fromEntries(Object.entries(initial).filter(([, v]) => v !== undefined)) });
  // An unseeded run still gets a concrete seed, visible in GET /_sim/faults, so it can be replayed.
  if (faults.seed === null) faults = { ...faults, seed: freshSeed() };
  let random: Random = seededRandom(faults.seed ?? 0);

  const applies = (key: string): boolean => {
    if (faults.paths === null) return true;
    const [method = '', template = ''] = key.split(' ', 2);
    return faults.paths.some((p) => {
      const [m = '', t = ''] = p.split(' ', 2);
      return (m === '*' || m === method) && t === template;
    });
  };

  return {
    current: () => ({ ...faults, paths: faults.paths ? [...faults.paths] : null, malformedKinds: [...faults.malformedKinds] }),
    update(patch) {
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const next = Faults.parse({ ...faults, ...defined });
      if (patch.seed !== undefined && next.seed !== null) random = seededRandom(next.seed);
      faults = next;
      return this.current();
    },
    clear() {
      faults = { ...NO_FAULTS, seed: faults.seed };
      return this.current();
    },
    latencyFor(key) {
      if (!applies(key) || (faults.latencyMs === 0 && faults.jitterMs === 0)) return 0;
      return faults.latencyMs + Math.floor(random.next() * faults.jitterMs);
    },
    requestFault(key) {
      if (!applies(key) || sumOfRates(faults) === 0) return { kind: 'none' };
      // One draw picks at most one fault; the order of the bands is fixed so a seed replays.
      const r = random.next();
      let edge = faults.hangRate;
      if (r < edge) return { kind: 'hang' };
      if (r < (edge += faults.dropRate)) return { kind: 'drop' };
      if (r < (edge += faults.rateLimitRate)) return { kind: 'rateLimit', retryAfterSeconds: faults.retryAfterSeconds };
      if (r < (edge += faults.errorRate)) return { kind: 'error', status: random.next() < 0.5 ? 500 : 503 };
      if (r < (edge += faults.dropAfterCommitRate)) return { kind: 'dropAfterCommit' };
      if (r < (edge += faults.malformedRate)) {
        const kinds = faults.malformedKinds;
        return { kind: 'malformed', malformation: kinds[Math.floor(random.next() * kinds.length)] ?? 'notJson' };
      }
      return { kind: 'none' };
    },
    actionFailure(key) {
      if (!applies(key)) return null;
      if (faults.failNextActions > 0) {
        faults = { ...faults, failNextActions: faults.failNextActions - 1 };
        return 'failNextActions';
      }
      if (faults.actionErrorRate > 0 && random.next() < faults.actionErrorRate) {
        return 'actionErrorRate';
      }
      return null;
    },
  };
}

/**
 * The 200 answer of a request, sent wrong. Only a 200 is malformed: an error answer stays as it is
 * (clients read any error body). Pure; the server sends the result as it is, content type included.
 */
export function malform(reply: { status: number; contentType: string; body: unknown }, how: Malformation): { status: number; contentType: string; body: string } {
  const isJson = reply.contentType.startsWith('application/json');
  const raw = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  switch (how) {
    case 'contentType':
      return { status: reply.status, contentType: 'text/html; charset=utf-8', body: raw };
    case 'truncated':
      // At least one character goes, so even a one-character body is cut.
      return { status: reply.status, contentType: reply.contentType, body: raw.slice(0, Math.max(0, Math.min(raw.length - 1, Math.floor(raw.length / 2)))) };
    case 'notJson':
      return { status: reply.status, contentType: reply.contentType, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' };
    case 'schema':
      // A text answer (an id) gets a JSON object, which no text schema accepts.
      return { status: reply.status, contentType: reply.contentType, body: JSON.stringify(isJson && Array.isArray(reply.body) ? [{ unexpected: true }] : { unexpected: true }) };
    case 'emptyId':
      return { status: reply.status, contentType: reply.contentType, body: isJson ? JSON.stringify(emptyIds(reply.body)) : '' };
  }
}

const ID_KEYS = new Set(['id', 'action_id', 'checkpoint_id']);
function emptyIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(emptyIds);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ID_KEYS.has(k) ? '' : emptyIds(x)]));
}
