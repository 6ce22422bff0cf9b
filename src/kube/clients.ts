// The Kubernetes API clients the operator uses, made once from one KubeConfig.
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

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
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), coordination: kc.makeApiClient(CoordinationV1Api) };
}

/** The HTTP status of a client-node ApiException (or similar), if there is one. */
export const statusCodeOf = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};
