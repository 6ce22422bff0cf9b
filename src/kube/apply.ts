// Server-side apply of manifest files (the CRDs, for the demo and the test harness), then wait for
// CRDs to be Established. Each document goes through client-node's loadYaml: KubernetesObjectApi
// serializes by its typed model, which would silently drop keys it only knows by their TS names
// (x-kubernetes-validations) if handed raw YAML.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy, loadYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { sleep } from '../util/backoff.ts';

const isObject = (v: unknown): v is KubernetesObject & Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Applies every *.yaml in `dir` (sorted); returns the names of the CRDs among them. */
export async function applyManifestDir(kc: KubeConfig, dir: string, fieldManager: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const objects = kc.makeApiClient(KubernetesObjectApi);
  const crdNames: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      if (doc.contents === null) continue;
      const obj: unknown = loadYaml(doc.toString());
      if (!isObject(obj) || typeof obj.kind !== 'string' || obj.metadata?.name === undefined) throw new Error(`${file}: a document is not a Kubernetes object`);
      await objects.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
      if (obj.kind === 'CustomResourceDefinition') crdNames.push(obj.metadata.name);
    }
  }
  return crdNames;
}

export async function waitForCrdsEstablished(kc: KubeConfig, names: string[], timeoutMs = 60_000): Promise<void> {
  const crds = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await crds.readCustomResourceDefinition({ name }).catch(() => undefined);
      if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within ${String(timeoutMs)} ms`);
      await sleep(200);
    }
  }
}
