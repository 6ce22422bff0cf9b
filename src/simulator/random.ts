// A small seedable PRNG (mulberry32), so fault injection is reproducible in tests: the same seed and
// the same sequence of requests give the same faults. Not for anything security-related.
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A seed for runs that did not ask for one; logged so a run can be replayed. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}
