// An object's cache and work-queue key: namespace/name, or the name of a cluster-scoped object.
export interface Keyed {
  metadata: { name: string; namespace?: string | undefined; resourceVersion?: string | undefined };
}

export const keyOf = (obj: Keyed): string => (obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name);

/** The namespace and name in a key. */
export const splitKey = (key: string): { namespace: string | undefined; name: string } => {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
};
