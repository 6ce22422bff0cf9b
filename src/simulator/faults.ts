// Fault injection: what can go wrong between the operator and Cedana, on demand and reproducibly.
// Request faults are decided per request (one draw of a seeded PRNG); action faults when an action
// is created. Both can be limited to some operations with `paths` ("METHOD /template" keys).
import { z } from 'zod';
import { freshSeed, seededRandom, type Random } from './random.ts';

const rate = () => z.number().min(0).max(1);
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
  /** Share of new actions that end in `error` instead of `ready`. */
  actionErrorRate: rate(),
  /** The next N new actions end in `error` (before actionErrorRate is consulted). */
  failNextActions: count(),
  /** Only these operations are faulted: "POST /v2/checkpoint/pod", "* /v2/checkpoint/status/{action_id}". null = all. */
  paths: z
    .array(z.string().regex(/^(\*|[A-Z]+) \/\S*$/, 'expected "METHOD /path-template", e.g. "POST /v2/checkpoint/pod"'))
    .nullable(),
  /** Seed of the PRNG; setting it restarts the sequence. */
  seed: z.int().min(0).max(0xffff_ffff).nullable(),
};

const requestRates = ['hangRate', 'dropRate', 'rateLimitRate', 'errorRate', 'dropAfterCommitRate'] as const;
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
  | { kind: 'dropAfterCommit' };

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
    current: () => ({ ...faults, paths: faults.paths ? [...faults.paths] : null }),
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
