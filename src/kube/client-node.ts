// client-node's API clients, for the CLI, the simulator's Kubernetes side and the tools (demo,
// benchmarks, tests). The operator itself does without client-node at run time (access.ts says why).
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, type RequestContext } from '@kubernetes/client-node';

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

/** In-cluster when running in a pod, else the kubeconfig at `path` or $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

export function makeClients(kc: KubeConfig): KubeClients {
  reuseConnections(kc);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), coordination: kc.makeApiClient(CoordinationV1Api) };
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
const DISPATCHER_MAX_AGE_MS = 5 * 60_000;
const sharing = new WeakSet<KubeConfig>();

/**
 * client-node (2.0) gives every request a new undici Agent (KubeConfig.applySecurityAuthentication),
 * so every Kubernetes call, the informer's included, opens a new TLS connection: a handshake with
 * client-certificate checks on both sides, and a socket left idle afterwards. Here one Agent serves
 * the kubeconfig's cluster and user, renewed every 5 minutes so that rotated CA or certificate files
 * are picked up (the old one closes once its requests, watches included, are done). A user whose
 * credentials come from an exec plugin, which may hand out new client certificates, is left alone.
 * Idempotent; it changes `kc` in place, so every client made from it shares the connections.
 */
export function reuseConnections(kc: KubeConfig): void {
  if (sharing.has(kc)) return;
  sharing.add(kc);
  const apply = kc.applySecurityAuthentication.bind(kc);
  let shared: { key: string; dispatcher: Dispatcher; since: number } | undefined;
  kc.applySecurityAuthentication = async (ctx: RequestContext): Promise<void> => {
    await apply(ctx);
    const fresh = ctx.getDispatcher();
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (!fresh || !cluster || user?.exec) return;
    const key = JSON.stringify([cluster.name, cluster.server, user?.name ?? '']);
    if (shared?.key === key && Date.now() - shared.since < DISPATCHER_MAX_AGE_MS) {
      ctx.setDispatcher(shared.dispatcher);
      return;
    }
    const old = shared?.dispatcher;
    shared = { key, dispatcher: fresh, since: Date.now() };
    old?.close().catch(() => undefined);
  };
}
