// Raw GETs against the apiserver with the kubeconfig's own authentication (client-node's
// RequestContext + dispatcher). The informer uses it for paginated lists and for watch streams,
// so that it, not a fixed library timeout, decides when a quiet stream is dead.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

async function get(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): Promise<Awaited<ReturnType<typeof fetch>>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher();
  const res = await fetch(url, { method: 'GET', headers: ctx.getHeaders(), signal, ...(dispatcher ? { dispatcher } : {}) });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new KubeHttpError(res.status, `GET ${url.pathname}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  return res;
}

export async function getJson(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  return (await get(kc, path, query, signal)).json();
}

/** Streams watch events (one JSON object per line) until the server closes or `signal` aborts. */
export async function streamWatch(
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  signal: AbortSignal,
  onEvent: (type: string, object: unknown) => void,
): Promise<void> {
  const res = await get(kc, path, { ...query, watch: 'true' }, signal);
  if (!res.body) return;
  const lines = createInterface({ input: Readable.fromWeb(res.body), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { type?: unknown; object?: unknown };
      onEvent(typeof event.type === 'string' ? event.type : '', event.object);
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}
