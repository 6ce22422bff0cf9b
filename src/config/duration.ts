// Go-style durations ("500ms", "2s", "1m30s", "1h"), as Kubernetes users write them.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return undefined; // a bare number is ambiguous: ask for a unit
  let total = 0;
  let rest = trimmed;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m?.[1] || !m[2]) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? NaN);
    rest = rest.slice(m[0].length);
  }
  return trimmed.length > 0 && Number.isFinite(total) ? Math.round(total) : undefined;
}
