// Just enough of the Prometheus text format for the benchmark: samples by name and labels, and
// differences between two scrapes.
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

export const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

export const sum = (samples: Sample[]): number => samples.reduce((a, s) => a + s.value, 0);

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${String(res.status)}`);
  return parseMetrics(await res.text());
}

/** The apiserver's own /metrics, with the kubeconfig's credentials. */
export async function scrapeApiserver(kc: KubeConfig): Promise<Sample[]> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = `${cluster.server.replace(/\/$/, '')}/metrics`;
  const ctx = new RequestContext(url, HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher();
  const res = await fetch(url, { headers: ctx.getHeaders(), ...(dispatcher ? { dispatcher } : {}) });
  if (!res.ok) throw new Error(`GET /metrics on the apiserver: HTTP ${String(res.status)}`);
  return parseMetrics(await res.text());
}

/**
 * apiserver_request_total between two scrapes, for the given resources, keyed
 * "VERB resource[/subresource] code".
 */
export function apiserverRequestsBetween(before: Sample[], after: Sample[], resources: readonly string[]): Record<string, number> {
  const keyOf = (s: Sample): string => `${s.labels.verb ?? ''} ${s.labels.resource ?? ''}${s.labels.subresource ? `/${s.labels.subresource}` : ''} ${s.labels.code ?? ''}`;
  const tally = (samples: Sample[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of pick(samples, 'apiserver_request_total')) {
      if (!resources.includes(s.labels.resource ?? '')) continue;
      m.set(keyOf(s), (m.get(keyOf(s)) ?? 0) + s.value);
    }
    return m;
  };
  const a = tally(before);
  const out: Record<string, number> = {};
  for (const [k, v] of [...tally(after)].sort(([x], [y]) => x.localeCompare(y))) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

/**
 * Mean of a histogram between two scrapes (sum/count differences), in ms, per group of labels;
 * groups with no observations in between are left out.
 */
export function meanMsBetween(before: Sample[], after: Sample[], name: string, groupBy: (labels: Record<string, string>) => string | undefined): Record<string, { count: number; mean_ms: number }> {
  const tally = (samples: Sample[], suffix: string): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of pick(samples, `${name}_${suffix}`)) {
      const key = groupBy(s.labels);
      if (key !== undefined) m.set(key, (m.get(key) ?? 0) + s.value);
    }
    return m;
  };
  const [c0, s0, c1, s1] = [tally(before, 'count'), tally(before, 'sum'), tally(after, 'count'), tally(after, 'sum')];
  const out: Record<string, { count: number; mean_ms: number }> = {};
  for (const [key, count] of [...c1].sort(([x], [y]) => x.localeCompare(y))) {
    const n = count - (c0.get(key) ?? 0);
    if (n <= 0) continue;
    const total = (s1.get(key) ?? 0) - (s0.get(key) ?? 0);
    out[key] = { count: n, mean_ms: Math.round((total * 1000 * 10) / n) / 10 };
  }
  return out;
}
